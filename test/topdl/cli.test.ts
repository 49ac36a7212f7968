// `benito topdl validate|stats|show` through the compiled binary, on benito's own fixtures.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benito } from "../helpers/binary";

const fixture = (name: string) => resolve(import.meta.dir, "../fixtures/topdl", name);

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), "benito-topdl-cli-"));
});
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe("benito topdl", () => {
  test("--help documents every subcommand and the JSON Lines output", async () => {
    const result = await benito(["topdl", "--help"]);
    expect(result.code).toBe(0);
    for (const word of ["validate FILE...", "stats FILE", "show FILE", "--strict", "--top NAME", "--max-bytes N", "JSON Lines"]) expect(result.stdout).toContain(word);
  });

  test("usage errors exit 2", async () => {
    expect((await benito(["topdl"])).code).toBe(2);
    expect((await benito(["topdl", "frobnicate", fixture("pnode.xml")])).code).toBe(2);
    expect((await benito(["topdl", "validate"])).code).toBe(2);
    expect((await benito(["topdl", "validate", "--max-bytes", "lots", fixture("pnode.xml")])).code).toBe(2);
  });

  test("validate reports every problem of a file, each with its line and path, in line order", async () => {
    const file = fixture("many-problems.xml");
    const result = await benito(["topdl", "validate", file]);
    expect(result.code).toBe(3);
    expect(result.stdout.trim().split("\n")).toEqual([
      `${file}:3: substrates[0].capacity.rate: "fast" is not a number`,
      `${file}:4: substrates[1].name: duplicate substrate name "lan0" (first on line 3)`,
      `${file}:8: elements[0].computer.interface[0].substrate: no substrate named "lan9"`,
      `${file}:9: elements[0].computer.storage[0].amount: -1 is negative`,
      `${file}:9: elements[0].computer.storage[0].persistence: persistence "forever" is not "temporary" or "persistent"`,
      `${file}:13: elements[1].computer.name: duplicate element name "a" (first on line 6)`,
      `${file}:15: elements[1].computer.interface[0].latency.kind: kind "sometimes" is not "max" or "average"`,
      `${file}: INVALID (7 errors, 0 warnings)`,
    ]);
  });

  test("validate also checks the values benito reads: a bad MAC or port is an error with its line and path", async () => {
    const file = join(folder, "values.xml");
    const attr = (k: string, v: string) => `<attribute><attribute>${k}</attribute><value>${v}</value></attribute>`;
    writeFileSync(file, `<experiment><version>2.0</version><substrates><name>lan0</name></substrates>\n<elements><computer><name>a</name><interface><substrate>lan0</substrate><name>inf000</name>\n${attr("benito:mac_address", "02:zz:00:00:00:01")}\n${attr("benito:vde_port", "seven")}</interface></computer></elements></experiment>`);
    const result = await benito(["topdl", "validate", file]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(`${file}:3: `);
    expect(result.stdout).toContain('"02:zz:00:00:00:01" is not a MAC address');
    expect(result.stdout).toContain(`${file}:4: `);
    expect(result.stdout).toContain('"seven" is not a port number');
  });

  test("validate goes on past a missing file and still checks the others", async () => {
    const missing = join(folder, "missing.xml");
    const result = await benito(["topdl", "validate", "--json", missing, fixture("pnode.xml")]);
    // A file that cannot be read is an I/O failure: exit 1.
    expect(result.code).toBe(1);
    const [first, second] = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(first).toEqual({ file: missing, valid: false, errors: [{ line: 0, path: "", message: "no such file" }], warnings: [], errorCount: 1, warningCount: 0 });
    expect(second).toEqual({ file: fixture("pnode.xml"), valid: true, errors: [], warnings: [], errorCount: 0, warningCount: 0 });
  });

  test("--strict makes a warning fail the file", async () => {
    const file = join(folder, "warn.xml");
    writeFileSync(file, "<experiment><version>1.0</version><substrates><name>l</name><frob/></substrates></experiment>");
    expect((await benito(["topdl", "validate", file])).code).toBe(0);
    const strict = await benito(["topdl", "validate", "--strict", file]);
    expect(strict.code).toBe(3);
    expect(strict.stdout).toContain(`${file}:1: substrates[0].frob: unknown child <frob> of <substrates> ignored`);
  });

  test("--top reads another element, and the first <experiment> is found inside an envelope", async () => {
    const topology = join(folder, "topology.xml");
    writeFileSync(topology, "<topology><version>1.0</version><substrates><name>l</name></substrates></topology>");
    expect((await benito(["topdl", "validate", topology])).code).toBe(3);
    expect((await benito(["topdl", "validate", "--top", "topology", topology])).code).toBe(0);
    const envelope = join(folder, "soap.xml");
    writeFileSync(envelope, `<soap:Envelope xmlns:soap="urn:s"><soap:Body><reply>\n<experiment><version>2.0</version><substrates><name>l</name></substrates>\n<elements><computer><name>a</name><interface><substrate>nope</substrate></interface></computer></elements></experiment></reply></soap:Body></soap:Envelope>`);
    const result = await benito(["topdl", "validate", envelope]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(`${envelope}:3: elements[0].computer.interface[0].substrate: no substrate named "nope"`);
  });

  test("stats prints the counts as text or JSON", async () => {
    const json = await benito(["topdl", "stats", "--json", fixture("pnode.xml")]);
    expect(JSON.parse(json.stdout)).toEqual({ version: "1.0", substrates: 3, elements: 4, computers: 4, interfaces: 5, regions: 0, fragments: 0 });
    const text = await benito(["topdl", "stats", fixture("pnode.xml")]);
    expect(text.stdout).toContain("computers: 4");
    const invalid = await benito(["topdl", "stats", fixture("many-problems.xml")]);
    expect(invalid.code).toBe(3);
    expect(invalid.stderr).toContain("benito: while reading the topology on");
    expect(invalid.stderr).toContain('no substrate named "lan9"');
  });

  test("show prints the normalized topology", async () => {
    const result = await benito(["topdl", "show", "--json", fixture("pnode.xml")]);
    expect(result.code).toBe(0);
    const topology = JSON.parse(result.stdout);
    expect(topology.elements.map((element: { name: string }) => element.name)).toEqual(["host0", "vm1", "p2", "other"]);
    expect(topology.elements[1].attributes[2]).toMatchObject({ key: "startup", value: "echo up && touch /tmp/<ok>" });
  });

  test("show --host prints one element with its interfaces, substrates and what benito makes of it", async () => {
    const json = JSON.parse((await benito(["topdl", "show", "--json", "--host", "host0.exp.proj", fixture("pnode.xml")])).stdout);
    expect(json.element.name).toBe("host0");
    expect(json.node).toMatchObject({ nodeType: "pnode", interfaces: [{ name: "ctl", control: true }] });
    expect(json.children).toEqual(["vm1", "p2"]);
    expect(json.substrates.map((substrate: { name: string }) => substrate.name)).toEqual(["control_net"]);
    const text = await benito(["topdl", "show", "--host", "vm1", fixture("pnode.xml")]);
    expect(text.stdout).toContain("interface inf000 → lan0 10.0.0.1/24");
    expect(text.stdout).toContain("substrate lan0 (10000 kb/s max, 20 ms average, loss 0.05)");
    const missing = await benito(["topdl", "show", "--host", "ghost", fixture("pnode.xml")]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('no computer named "ghost"');
  });
});
