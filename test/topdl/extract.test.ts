// The single-host fast path reads only one host's blocks, yet answers exactly as reading the whole document would.
import { describe, expect, spyOn, test } from "bun:test";
import { hostViewFromDocument } from "../../src/model/host-view";
import { readFileSync } from "node:fs";
import * as decode from "../../src/topdl/decode";
import { extractHostTopology } from "../../src/topdl/extract";
import { checkTopology } from "../../src/topdl/parse";
import * as xml from "../../src/topdl/xml";

/** A document with one tag per line: n computers on a chain of LANs; vnodes hosted by pnode0. */
function chain(n: number, extra = ""): string {
  const lines = ["<?xml version=\"1.0\"?>", "<experiment>", "<version>1.0</version>"];
  for (let k = 0; k <= n; k += 1) lines.push("<substrates>", `<name>lan${k}</name>`, "<capacity>", "<rate>1000</rate>", "<kind>max</kind>", "</capacity>", "</substrates>");
  for (let k = 0; k < n; k += 1) {
    const name = k === 0 ? "pnode0" : `node${k}`;
    lines.push("<elements>", "<computer>", `<name>${name}</name>`);
    for (const lan of [k, k + 1]) lines.push("<interface>", `<substrate>lan${lan}</substrate>`, "</interface>");
    if (k > 0) lines.push("<attribute>", "<attribute>benito:host</attribute>", "<value>pnode0</value>", "</attribute>");
    lines.push("</computer>", "</elements>");
  }
  lines.push(extra, "</experiment>");
  return lines.join("\n");
}

describe("extractHostTopology", () => {
  test("reads the host's element, its pnode's and its LANs' members, as the whole read reads them", () => {
    const result = extractHostTopology(chain(50), "t.xml", "node7");
    expect(result.partial).toBe(true);
    // node7 is on lan7 and lan8 (with node6 and node8), on pnode0 (on lan0 and lan1, with node1).
    expect(result.topology!.elements.map((element) => element.name)).toEqual(["pnode0", "node1", "node6", "node7", "node8"]);
    // Each element and substrate read is the whole read's, line and path included.
    const whole = checkTopology(chain(50), "t.xml").topology!;
    for (const element of result.topology!.elements) expect(element).toEqual(whole.elements.find((candidate) => candidate.name === element.name)!);
    for (const substrate of result.topology!.substrates) expect(substrate).toEqual(whole.substrates.find((candidate) => candidate.name === substrate.name)!);
  });

  test("a pnode's read includes the vnodes that name it as their host", () => {
    const result = extractHostTopology(chain(6), "t.xml", "pnode0");
    expect(result.partial).toBe(true);
    expect(result.topology!.elements.map((element) => element.name)).toEqual(["pnode0", "node1", "node2", "node3", "node4", "node5"]);
  });

  test("problems about the host keep their whole-document line and path", () => {
    const broken = chain(20).replace("<substrate>lan13</substrate>\n</interface>\n<interface>\n<substrate>lan14</substrate>", "<substrate>lan13</substrate>\n</interface>\n<interface>\n<substrate>nowhere</substrate>");
    const fast = extractHostTopology(broken, "t.xml", "node13");
    const whole = checkTopology(broken, "t.xml");
    expect(fast.partial).toBe(true);
    expect(fast.errors).toEqual(whole.errors);
    expect(fast.errors.map((problem) => `${problem.line}: ${problem.path}: ${problem.message}`)).toEqual([
      `${whole.errors[0]!.line}: elements[13].computer.interface[1].substrate: no substrate named "nowhere"`,
    ]);
  });

  test("a duplicate of the host, or of one of its substrates, is still an error", () => {
    const twice = chain(5, "<elements>\n<computer>\n<name>node3</name>\n</computer>\n</elements>");
    expect(extractHostTopology(twice, "t.xml", "node3").errors.map((problem) => problem.message)).toEqual([expect.stringContaining('duplicate element name "node3"')]);
    const lan = chain(5, "").replace("<elements>", "<substrates>\n<name>lan3</name>\n</substrates>\n<elements>");
    expect(extractHostTopology(lan, "t.xml", "node3").errors.map((problem) => problem.message)).toEqual([expect.stringContaining('duplicate substrate name "lan3"')]);
  });

  test("a comment is read, not a reason to read everything; an unknown host is left to the whole read", () => {
    const commented = chain(5, "<!-- node3 -->");
    expect(extractHostTopology(commented, "t.xml", "node3")).toMatchObject({ partial: true });
    expect(extractHostTopology(chain(5), "t.xml", "ghost")).toMatchObject({ partial: false });
  });

  test("a string's size is counted in UTF-8 bytes, as the whole read counts it", () => {
    const text = chain(5).replace("<name>node3</name>", "<name>node3</name>\n<localname>\u00e9\u00e9\u00e9\u4e16</localname>");
    const options = { maxBytes: text.length + 2 };
    expect(Buffer.byteLength(text)).toBeGreaterThan(options.maxBytes);
    const fast = extractHostTopology(text, "t.xml", "node3", options);
    expect(fast.partial).toBe(false);
    expect(fast.errors).toEqual(checkTopology(text, "t.xml", options).errors);
    expect(fast.errors[0]?.message).toContain("larger than the limit");
  });

  test("text of the root's own (a warning of the whole read, an error with --strict) is seen: the whole read answers", () => {
    for (const stray of ["stray", "<![CDATA[x]]>", "&#120;"]) {
      const text = chain(5).replace("</elements>", `</elements>${stray}`);
      for (const strict of [false, true]) {
        const fast = extractHostTopology(text, "t.xml", "node3", { strict });
        const whole = checkTopology(text, "t.xml", { strict });
        expect(fast.errors).toEqual(whole.errors);
        expect(fast.warnings).toEqual(whole.warnings);
      }
      expect(checkTopology(text, "t.xml", { strict: true }).errors.map((problem) => problem.message)).toEqual(["text inside the topology element ignored"]);
    }
    // Whitespace between blocks is not text of the root's own: the fast path is taken.
    expect(extractHostTopology(chain(5).replace("</elements>", "</elements> \t "), "t.xml", "node3", { strict: true }).partial).toBe(true);
  });

  test("a document is decoded once, scanned once and read whole once, even when node.eid.pid falls back to node", () => {
    const bytes = new TextEncoder().encode(chain(8).replace("<name>node3</name>", "<name>node3</name>\n<localname>node3.exp.proj.other</localname>"));
    const decoded = spyOn(decode, "decodeDocument");
    try {
      // "node5.exp.proj" is no name or localname: the first ask falls back to the whole read, the second finds node5.
      const result = hostViewFromDocument(bytes, "t.xml", "node5.exp.proj");
      expect(result.view.self.name).toBe("node5");
      expect(decoded).toHaveBeenCalledTimes(1);
    } finally {
      decoded.mockRestore();
    }
  });

  test("each block read is parsed once, by itself: the chosen blocks are not parsed again as a document", () => {
    // A tiny experiment (the example lab) reads most of its blocks for any host: parsing them
    // twice cost more than the whole read (bench/README.md, "TopDL on a tiny document").
    const text = readFileSync(new URL("../../examples/lab/topo.xml", import.meta.url), "utf8");
    const blocks = new Set(xml.parseXml(text, { scanOnly: true }).blocks!.map((block) => text.slice(block.start, block.end)));
    const parse = spyOn(xml, "parseXml");
    try {
      const result = extractHostTopology(text, "topo.xml", "a");
      expect(result.partial).toBe(true);
      // The scan, then one parse per block read (the element blocks of a's LAN, its pnode's, the substrates they use).
      const trees = parse.mock.calls.filter(([, options]) => options?.scanOnly !== true).map(([parsed]) => parsed);
      expect(parse.mock.calls.length - trees.length).toBe(1);
      expect(trees.filter((parsed) => !blocks.has(parsed))).toEqual([]);
      expect(new Set(trees).size).toBe(trees.length);
      expect(trees.length).toBeGreaterThan(4);
      // And the answer is the whole read's, lines included.
      const whole = checkTopology(text, "topo.xml").topology!;
      for (const element of result.topology!.elements) expect(element).toEqual(whole.elements.find((candidate) => candidate.name === element.name)!);
    } finally {
      parse.mockRestore();
    }
  });
});
