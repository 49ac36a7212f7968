// The fast paths (one host's view, the LANs of switch up) give exactly the whole read's answer, and are taken where they should be.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { hasShared, sharedDir } from "../helpers/shared";
import { compareHost, compareLans, compareScan, computerNames, fuzz, generateExperiment, lanNames, type GenerateOptions } from "./differential";

const corpusDir = resolve(sharedDir, "topdl/corpus");
const corpus = hasShared
  ? readdirSync(corpusDir, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(".xml") && !entry.parentPath.includes("not-topdl"))
      .map((entry) => resolve(entry.parentPath, entry.name))
      .sort()
  : [];
if (!hasShared) console.warn(`SKIPPED: the corpus part of the fast-path differential test: ${corpusDir} is absent`);

const shapes: readonly GenerateOptions[] = [
  { pnodes: 3, vnodesPerPnode: 4, lans: 5 },
  { pnodes: 2, vnodesPerPnode: 6, lans: 3, layout: "compact" },
  { pnodes: 4, vnodesPerPnode: 3, lans: 7, layout: "crlf" },
  { pnodes: 3, vnodesPerPnode: 5, lans: 4, partitions: true },
  { pnodes: 12, vnodesPerPnode: 10, lans: 40 },
];
const generated = shapes.map(generateExperiment);

/** Every host of a document (and one that is not there), and LAN sets, compared; the fast path must be taken for every host it holds. */
function checkDocument(document: string, label: string): void {
  const hosts = computerNames(document);
  expect(hosts.length).toBeGreaterThan(0);
  const scanned = compareScan(document);
  if (scanned !== undefined) throw new Error(`${label}: ${scanned}`);
  for (const host of [...hosts, "ghost", `${hosts[0]}.exp.proj`]) {
    const result = compareHost(document, host);
    if (result.difference !== undefined) throw new Error(`${label}, host ${host}: ${result.difference}`);
    // Taken for every host the document holds: a new bail-out must not turn each boot into a whole read.
    if (hosts.includes(host) && !result.partial) throw new Error(`${label}, host ${host}: the fast path was not taken`);
  }
  const lans = lanNames(document);
  for (let k = 0; k < lans.length; k += 1) {
    const chosen = new Set([lans[k]!, lans[(k * 7 + 3) % lans.length]!]);
    const result = compareLans(document, chosen);
    if (result.difference !== undefined) throw new Error(`${label}, LANs ${[...chosen].join(",")}: ${result.difference}`);
    if (!result.partial) throw new Error(`${label}, LANs ${[...chosen].join(",")}: the fast path was not taken`);
  }
}

describe("fast paths = the whole read", () => {
  test.skipIf(!hasShared)("on every corpus document, for every host and LAN, and taken for each", () => {
    for (const file of corpus) checkDocument(readFileSync(file, "utf8"), file);
  }, 120_000);

  test("on generated experiments (benito:host and Containers partitions, three layouts), and taken for each", () => {
    generated.forEach((document, index) => checkDocument(document, `generated ${index}`));
  }, 60_000);

  test("on the layouts that fooled the old text scan", () => {
    const base = generateExperiment({ pnodes: 2, vnodesPerPnode: 2, lans: 3 });
    const layouts = [
      // A PI holding a computer: not a computer.
      base.replace("<elements>", '<?pi <elements><computer><name>vn1</name><interface><substrate>lan1</substrate><name>evil</name></interface></computer></elements> ?>\n<elements>'),
      base.replace("<substrates>", "<?pi <substrates><name>ghost</name></substrates> ?>\n<substrates>"),
      // Whitespace and attributes in tags.
      base.replaceAll("<substrates>", "<substrates >").replaceAll("<substrate>", "<substrate >").replaceAll("<elements>", "<elements >"),
      base.replaceAll("<elements>", '<elements id="1">'),
      // A host named with a character reference while another block mentions the name.
      base.replace("<name>vn1</name>", "<name>&#118;n1</name>"),
      // A stray <substrates> inside a computer: a warning in the whole read, not a duplicate.
      base.replace("</computer>", "<substrates><name>lan0</name></substrates></computer>"),
      // Names in CDATA, split by comments, with spaces.
      base.replace("<name>lan1</name>", "<name><![CDATA[lan1]]></name>").replace("<substrate>lan2</substrate>", "<substrate>la<!-- -->n2</substrate>"),
      base.replace("<value>pnode0</value>", "<value> pnode0 </value>"),
      base.replace(/\n/g, "\r"),
    ];
    layouts.forEach((document, index) => {
      const scanned = compareScan(document);
      if (scanned !== undefined) throw new Error(`layout ${index}: ${scanned}`);
      for (const host of ["vn1", "vn2", "pnode0", "pnode1"]) {
        const result = compareHost(document, host);
        if (result.difference !== undefined) throw new Error(`layout ${index}, host ${host}: ${result.difference}`);
      }
      for (const lans of [["lan0"], ["lan1", "lan2"]]) {
        const result = compareLans(document, new Set(lans));
        if (result.difference !== undefined) throw new Error(`layout ${index}, LANs ${lans}: ${result.difference}`);
      }
    });
    // The PI's fake computer is not read: vn1's interfaces are the real ones.
    expect(compareHost(layouts[0]!, "vn1")).toEqual({ partial: true });
  }, 30_000);

  test("on 2,500 seeded mutants of the generated and corpus documents (bounded at 60 s)", () => {
    const seeds = [...generated.slice(0, 4), ...corpus.filter((_, index) => index % 4 === 0).map((file) => readFileSync(file, "utf8"))];
    const deadline = performance.now() + 60_000;
    const report = fuzz(seeds, 2500, 13, deadline);
    if (report.differences.length > 0) throw new Error(`${report.differences.length} differences; the first:\n${report.differences[0]}`);
    // The run compared most of what it set out to (a loaded machine may cut it short, never to nothing).
    expect(report.documents).toBeGreaterThan(250);
    expect(report.partial).toBeGreaterThan(report.comparisons / 4);
  }, 90_000);
});
