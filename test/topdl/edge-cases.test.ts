// Every TopDL edge case in ../shared/topdl/edge-cases with benito's decision, through the library and the compiled binary.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { benito } from "../helpers/binary";
import { hasShared, sharedDir } from "../helpers/shared";
import { checkTopology, parseTopology } from "../../src/topdl/parse";
import type { Computer, Topology } from "../../src/topdl/types";

const folder = resolve(sharedDir, "topdl/edge-cases");

/** One decision: valid or not, the messages that must appear, and what the topology must hold. */
interface Decision {
  readonly valid: boolean;
  readonly errors?: readonly string[];
  readonly warnings?: readonly string[];
  readonly check?: (topology: Topology) => void;
}

const computer = (topology: Topology, name: string) => topology.elements.find((element) => element.name === name) as Computer;

/**
 * The decisions. Where issue 2 decides, it is followed; the rest (e08, e10–e13, e17, e19,
 * e21–e23, e25–e28, e30–e32) is decided here, with the reason in the comment.
 */
const decisions: Record<string, Decision> = {
  // Issue 2: a substrate referenced before it is defined links fine.
  e01_forward_ref: { valid: true, warnings: [], check: (t) => expect(computer(t, "a").interfaces[0]!.substrates).toEqual(["link0"]) },
  // Issue 2: a reference to no substrate is an error naming it, at the reference's path.
  e02_dangling: { valid: false, errors: ['elements[1].computer.interface[0].substrate: no substrate named "nosuch"'] },
  // Issue 2: duplicate substrate names are errors.
  e03_dup_substrate: { valid: false, errors: ['substrates[1].name: duplicate substrate name "link0"'] },
  // Issue 2: duplicate element names are errors (fedd silently kept both).
  e04_dup_element: { valid: false, errors: ['elements[1].computer.name: duplicate element name "a"'] },
  // Issue 2: duplicate interface names in one element: a warning, both kept.
  e05_dup_ifname: {
    valid: true,
    warnings: ['elements[0].computer.interface[1].name: duplicate interface name "x"'],
    check: (t) => expect(computer(t, "a").interfaces.map((i) => [i.name, i.substrates[0]])).toEqual([["x", "link0"], ["x", "link1"]]),
  },
  // Issue 2: an unnamed interface gets the first unused infNNN of its element: inf000 is taken, so inf001.
  e06_iface_noname: { valid: true, warnings: [], check: (t) => expect(computer(t, "a").interfaces.map((i) => i.name)).toEqual(["inf001", "inf000"]) },
  // Issue 2: a duplicated attribute key is a warning and the first value wins (SPI kept the last).
  e07_dup_attr: {
    valid: true,
    warnings: ['elements[0].computer.attribute[1]: duplicate attribute "k"'],
    check: (t) => expect(computer(t, "a").attributes.map((a) => [a.key, a.value])).toEqual([["k", "one"]]),
  },
  // Decision: an attribute without <value> reads as "" with a warning, like an empty <value/>;
  // SPI dropped it silently, fedd crashed. The key is kept: dropping it would hide the mistake.
  e08_attr_missing_value: {
    valid: true,
    warnings: ['elements[0].computer.attribute[0]: attribute "novalue" has no <value>'],
    check: (t) => expect(computer(t, "a").attributes.map((a) => [a.key, a.value])).toEqual([["novalue", ""], ["k2", "v2"]]),
  },
  // Issue 2: an empty <value/> is the empty string (fedd read "{}").
  e09_empty_value: { valid: true, warnings: [], check: (t) => expect(computer(t, "a").attributes[0]!.value).toBe("") },
  // Decision: an interface on several substrates keeps them all (TopDL v1 allows it; SPI lost one).
  e10_multi_substrate_iface: { valid: true, warnings: [], check: (t) => expect(computer(t, "a").interfaces[0]!.substrates).toEqual(["link0", "link1"]) },
  // Issue 2: v1 <cpu count="N"> is read. Decision: several <cpu>s add up (4 + 8); fedd crashed, SPI lost the 8.
  e11_cpu_count: { valid: true, warnings: [], check: (t) => expect(computer(t, "a").cpuCount).toBe(12) },
  // Decision: <status> and <operation> are known children, read and checked (status against the enumeration), not carried.
  e12_status_ops: { valid: true, warnings: [], check: (t) => expect(computer(t, "a").localnames).toEqual(["a.example"]) },
  // Decision: an <os> without <version> stays without one (SPI leaked the document's version into it).
  e13_version_leak: { valid: true, warnings: [], check: (t) => expect(t.version).toBe("1.0") },
  // Issue 2: kind is trimmed and case-folded; the rate's whitespace is trimmed too.
  e14_kind_ws_case: { valid: true, warnings: [], check: (t) => expect(t.substrates[0]!.capacity).toEqual({ rate: 1000, kind: "max" }) },
  // Issue 2: an unknown child element is a warning, never a crash.
  e15_unknown_child: { valid: true, warnings: ["elements[0].computer.frobnicate: unknown child <frobnicate> of <computer> ignored"] },
  // Issue 2: two items inside one <elements> are accepted with a warning.
  e16_two_in_one_elements: { valid: true, warnings: ["elements[0]: 2 elements inside one <elements>"], check: (t) => expect(t.elements.map((e) => e.name)).toEqual(["a", "b"]) },
  // Decision: a segment's <id> is its identifier, checked but not a localname (SPI moved it into localname).
  e17_segment_id_localname: { valid: true, warnings: [], check: (t) => expect(t.elements[0]).toMatchObject({ kind: "segment", name: "s", localnames: [] }) },
  // Issue 2: XML escapes round-trip: decoded exactly once.
  e18_escaping: { valid: true, warnings: [], check: (t) => expect(computer(t, "a").attributes[0]!.value).toBe("a && b <c>") },
  // Decision: namespace prefixes are ignored (elements match by local name), so a prefixed
  // <t:experiment> reads as TopDL; both references refused it, but a SOAP-wrapped or prefixed
  // document is still the same experiment to an operator.
  e19_ns_prefix: { valid: true, warnings: [], check: (t) => expect(t.substrates.map((s) => s.name)).toEqual(["link0"]) },
  // Issue 2: a root that is not <experiment> is an error saying what was found and what was expected (--top topology reads it: tested in cli.test.ts).
  e20_root_topology: { valid: false, errors: ["the root element is <topology>, expected <experiment>"] },
  // Decision: a region naming an undefined fragment is a warning: benito never expands regions, and an
  // embedder may supply the fragment separately (SPI's validate refused it, fedd crashed).
  e21_region_unknown_frag: { valid: true, warnings: ['elements[0].region.fragname: no fragment named "nosuchfrag"'] },
  // Decision: a missing <version> is a warning and the version reads "" (the references invented 1.0 or 2.0).
  e22_no_version: { valid: true, warnings: ["version: no <version>"], check: (t) => expect(t.version).toBe("") },
  // Decision: named <other> and <testbed> elements are read as such (fedd crashed on their names).
  e23_other_testbed_named: { valid: true, warnings: [], check: (t) => expect(t.elements.map((e) => [e.kind, e.name])).toEqual([["other", "o"], ["testbed", "t"]]) },
  // Issue 2: a non-numeric rate is an error with its path.
  e24_rate_nonnumeric: { valid: false, errors: ['substrates[0].capacity.rate: "100Mb" is not a number'] },
  // Decision: unnamed <other>/<testbed> (TopDL v1 allowed them) are warnings, kept with the name "".
  e25_v1_other_testbed_unnamed: { valid: true, warnings: ["elements[0].other.name: other has no name", "elements[1].testbed.name: testbed has no name"] },
  // Decision: top-level attributes are read into Topology.attributes.
  e26_top_attribute: { valid: true, warnings: [], check: (t) => expect(t.attributes.map((a) => [a.key, a.value])).toEqual([["toplevel", "yes"]]) },
  // Decision: an interface without <substrate> is an error (it attaches to nothing; both references crashed).
  e27_iface_no_substrate: { valid: false, errors: ["elements[0].computer.interface[0].substrate: missing <substrate>"] },
  // Decision: <service> (with importer, param, description, status) is a known child, checked and not carried.
  e28_service: { valid: true, warnings: [] },
  // Decision: the realistic, schema-valid example reads without a single warning.
  e29_realistic_example: {
    valid: true,
    warnings: [],
    check: (t) => {
      expect(t.elements.map((e) => e.name)).toEqual(["server", "client-0", "client-1"]);
      expect(t.substrates[0]).toMatchObject({ name: "link0", capacity: { rate: 100000, kind: "max" }, latency: { time: 5, kind: "max" } });
    },
  },
  // Decision: a computer without a name is an error: a host finds itself by name (SPI invented "n-0").
  e30_unnamed_computer: { valid: false, errors: ["elements[0].computer.name: computer has no name"] },
  // Decision: an unknown element kind (<router>) is skipped with a warning; its interfaces are not
  // merged into another element (SPI merged them into the computer).
  e31_unknown_element_kind: {
    valid: true,
    warnings: ["elements[0].router: unknown element kind <router> skipped"],
    check: (t) => expect(t.elements.map((e) => [e.name, e.interfaces.map((i) => i.name)])).toEqual([["c", ["ci"]]]),
  },
  // Decision: numbers are trimmed, so <level> 2 </level> is 2 (SPI threw NumberFormatException); the
  // missing fragment "f" is the e21 warning.
  e32_level_whitespace: { valid: true, warnings: ['no fragment named "f"'] },
};

function read(name: string) {
  return checkTopology(readFileSync(resolve(folder, `${name}.xml`)), `${name}.xml`);
}

describe.skipIf(!hasShared)("edge cases through the library", () => {
  test("every edge-case file has a decision", () => {
    const files = require("node:fs").readdirSync(folder).filter((file: string) => /^e\d\d_.*\.xml$/.test(file)).map((file: string) => file.slice(0, -4));
    expect(files.sort()).toEqual(Object.keys(decisions).sort());
  });

  for (const [name, decision] of Object.entries(decisions)) {
    test(name, () => {
      const result = read(name);
      const errors = result.errors.map((problem) => `${problem.path}: ${problem.message}`);
      const warnings = result.warnings.map((problem) => `${problem.path}: ${problem.message}`);
      expect(result.topology !== undefined).toBe(decision.valid);
      for (const expected of decision.errors ?? []) expect(errors.some((error) => error.includes(expected))).toBe(true);
      if (decision.valid) expect(errors).toEqual([]);
      if (decision.warnings !== undefined && decision.warnings.length === 0) expect(warnings).toEqual([]);
      for (const expected of decision.warnings ?? []) expect(warnings.some((warning) => warning.includes(expected))).toBe(true);
      if (decision.check !== undefined) decision.check(result.topology!);
      // Every problem carries the file and a line.
      for (const problem of [...result.errors, ...result.warnings]) expect(problem).toMatchObject({ file: `${name}.xml`, line: 1 });
    });
  }

  test("parseTopology throws an InputError (exit 3) listing every problem as file:line: path: message", () => {
    expect(() => parseTopology(readFileSync(resolve(folder, "e02_dangling.xml")), "topo.xml")).toThrow(
      expect.objectContaining({ exitCode: 3, details: ['topo.xml:1: elements[1].computer.interface[0].substrate: no substrate named "nosuch"'] }),
    );
  });

  test("--strict turns warnings into errors", () => {
    const result = checkTopology(readFileSync(resolve(folder, "e07_dup_attr.xml")), "e07.xml", { strict: true });
    expect(result.topology).toBeUndefined();
    expect(result.errors.map((problem) => problem.path)).toEqual(["elements[0].computer.attribute[1]"]);
  });
});

describe.skipIf(!hasShared)("edge cases through the compiled binary", () => {
  test("validate --json gives each file the library's verdict", async () => {
    const names = Object.keys(decisions).sort();
    const result = await benito(["topdl", "validate", "--json", ...names.map((name) => resolve(folder, `${name}.xml`))]);
    expect(result.code).toBe(3);
    const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as { file: string; valid: boolean; errors: { path: string; message: string }[]; warnings: unknown[] });
    expect(lines.map((line) => line.file)).toEqual(names.map((name) => resolve(folder, `${name}.xml`)));
    for (const [index, name] of names.entries()) {
      const decision = decisions[name]!;
      expect({ name, valid: lines[index]!.valid }).toEqual({ name, valid: decision.valid });
      for (const expected of decision.errors ?? []) {
        expect(lines[index]!.errors.some((error) => `${error.path}: ${error.message}`.includes(expected))).toBe(true);
      }
    }
  });

  test("validate prints file:line: path: message and exits 3", async () => {
    const file = resolve(folder, "e02_dangling.xml");
    const result = await benito(["topdl", "validate", file]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(`${file}:1: elements[1].computer.interface[0].substrate: no substrate named "nosuch"`);
  });

  test("the valid realistic example exits 0", async () => {
    const result = await benito(["topdl", "validate", "--strict", resolve(folder, "e29_realistic_example.xml")]);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("valid (0 errors, 0 warnings)");
  });
});
