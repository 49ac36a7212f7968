// Hostile and broken input: DTDs never fetched, entity bombs refused, size limit, invalid UTF-8, broken nesting.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito, benitoBinary, run } from "../helpers/binary";
import { checkTopology } from "../../src/topdl/parse";

const small = "<experiment><version>1.0</version><substrates><name>l</name></substrates><elements><computer><name>a</name><interface><substrate>l</substrate></interface></computer></elements></experiment>";

const errorsOf = (input: string | Uint8Array, options = {}) => checkTopology(input, "t.xml", options).errors.map((problem) => `${problem.line}: ${problem.message}`);

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), "benito-topdl-hostile-"));
});
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe("DTDs and entities", () => {
  test("an external DTD is never fetched: the DOCTYPE is ignored with a warning", async () => {
    let requests = 0;
    // A local server stands in for the DTD's host: any fetch would reach it.
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => {
      requests += 1;
      return new Response("<!ENTITY x 'boom'>");
    } });
    try {
      const document = `<!DOCTYPE experiment SYSTEM "http://127.0.0.1:${server.port}/topdl.dtd">\n${small}`;
      const file = join(folder, "external.xml");
      writeFileSync(file, document);
      const result = checkTopology(document, "t.xml");
      expect(result.errors).toEqual([]);
      expect(result.warnings.map((problem) => problem.message)).toEqual(["DOCTYPE ignored: its DTD is never fetched"]);
      const run = await benito(["topdl", "validate", file]);
      expect(run.code).toBe(0);
      expect(requests).toBe(0);
    } finally {
      server.stop(true);
    }
  });

  test("a DOCTYPE with entity declarations is refused before anything expands", () => {
    const document = `<!DOCTYPE experiment [<!ENTITY name "a">]>\n<experiment><version>&name;</version></experiment>`;
    expect(errorsOf(document)).toEqual(["1: a DOCTYPE with an internal subset is refused: entity and DTD declarations are never processed"]);
  });

  test("an entity-expansion bomb is refused by the binary, quickly and small", async () => {
    const levels = Array.from({ length: 10 }, (_, k) => `<!ENTITY l${k + 1} "${`&l${k};`.repeat(10)}">`).join("\n");
    const bomb = `<?xml version="1.0"?>\n<!DOCTYPE experiment [\n<!ENTITY l0 "lol">\n${levels}\n]>\n<experiment><version>&l10;</version></experiment>`;
    const file = join(folder, "bomb.xml");
    writeFileSync(file, bomb);
    // GNU time gives this child's own peak RSS (Bun's resourceUsage() reports the maximum over
    // every child the test process has had); without it only the refusal is checked.
    const gnuTime = existsSync("/usr/bin/time");
    const report = join(folder, "bomb.rss");
    const argv = [benitoBinary, "topdl", "validate", file];
    const result = await run(gnuTime ? ["/usr/bin/time", "-f", "%M", "-o", report, ...argv] : argv, { timeoutMs: 10_000 });
    expect(result.code).toBe(3);
    expect(result.stdout).toContain("internal subset is refused");
    if (!gnuTime) {
      console.warn("SKIPPED: the entity bomb's memory check: /usr/bin/time is absent");
      return;
    }
    // Refused by the pre-scan before anything expands: the binary alone is ~40-45 MB resident, and
    // the issue allows a few MB over that.
    // GNU time first notes the non-zero exit status, then the figure (KB) on the last line.
    const peakKB = Number(readFileSync(report, "utf8").trim().split("\n").pop());
    expect(peakKB * 1024).toBeLessThan(56 * 1024 * 1024);
  });

  test("an undefined entity reference is a well-formedness error at its line and column; predefined and character references decode", () => {
    const bad = small.replace("<name>a</name>", "<name>&ext;</name>");
    expect(errorsOf(bad)).toEqual([`1: undefined entity &ext; (only &amp; &lt; &gt; &quot; &apos; and character references are read) (column ${bad.indexOf("&ext;") + 1})`]);
    const good = small.replace("<name>a</name>", "<name>&#97;&#x62;&amp;</name>");
    expect(checkTopology(good, "t.xml").topology!.elements[0]!.name).toBe("ab&");
  });
});

describe("size limit", () => {
  test("files over --max-bytes are refused (64 MiB by default), and the limit can be raised", async () => {
    const file = join(folder, "big.xml");
    writeFileSync(file, small);
    const refused = await benito(["topdl", "validate", "--max-bytes", "100", file]);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toContain(`larger than the limit of 100 (raise it with --max-bytes)`);
    expect((await benito(["topdl", "validate", "--max-bytes", "100000", file])).code).toBe(0);
    expect(errorsOf(small, { maxBytes: 10 })[0]).toContain("larger than the limit of 10");
  });

  test("a file over 64 MiB is refused by default without being read", async () => {
    const file = join(folder, "huge.xml");
    // A sparse file: 65 MiB of size, no disk used.
    const handle = Bun.file(file).writer();
    handle.write(small);
    await handle.end();
    const { truncateSync } = await import("node:fs");
    truncateSync(file, 65 * 1024 * 1024);
    const result = await benito(["topdl", "validate", file]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain("larger than the limit of 67108864");
  });
});

describe("broken bytes and nesting", () => {
  test("invalid UTF-8 is an error with its byte offset", async () => {
    const bytes = new TextEncoder().encode(`<experiment>\n<version>1.0</version>\n<x>ok</x></experiment>`);
    const broken = new Uint8Array([...bytes.slice(0, 30), 0xc3, 0x28, ...bytes.slice(30)]);
    expect(errorsOf(broken)).toEqual(["2: invalid UTF-8 at byte offset 30"]);
    const file = join(folder, "utf8.xml");
    writeFileSync(file, broken);
    const result = await benito(["topdl", "validate", file]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(`${file}:2: invalid UTF-8 at byte offset 30`);
  });

  test("a byte-order mark and CRLF line ends are fine, and lines stay right", () => {
    const document = `\uFEFF<experiment>\r\n<version>1.0</version>\r\n<substrates><name>l</name></substrates>\r\n<elements><computer><name>a</name><interface><substrate>nope</substrate></interface></computer></elements>\r\n</experiment>`;
    expect(errorsOf(document)).toEqual(['4: no substrate named "nope"']);
  });

  test("mismatched, unclosed and stray tags are errors with lines", () => {
    expect(errorsOf("<experiment>\n<version>1.0</versio>\n</experiment>")).toEqual(["2: closing tag </versio> does not match <version> opened on line 2"]);
    expect(errorsOf("<experiment>\n<version>1.0</version>\n")).toEqual(["3: <experiment> opened on line 1 is never closed"]);
    expect(errorsOf("<experiment></experiment>\n</x>")).toEqual(["2: closing tag </x> without an opening tag"]);
    expect(errorsOf("<experiment></experiment><experiment></experiment>")).toEqual(["1: a second root element <experiment>"]);
    expect(errorsOf("")).toEqual(["1: no root element"]);
    expect(errorsOf("<experiment><version>1 < 2</version></experiment>")[0]).toContain('"<" must be written &lt;');
  });

  test("a long attribute list still keeps the first value of a repeated key (and stays linear)", () => {
    const attributes = Array.from({ length: 40 }, (_, k) => `<attribute><attribute>k${k}</attribute><value>v${k}</value></attribute>`).join("");
    const document = small.replace("<name>a</name>", `<name>a</name>${attributes}<attribute><attribute>k5</attribute><value>late</value></attribute>`);
    const result = checkTopology(document, "t.xml");
    expect(result.warnings.map((problem) => `${problem.path}: ${problem.message}`)).toEqual(['elements[0].computer.attribute[40]: duplicate attribute "k5": the first value "v5" (line 1) is kept']);
    expect(result.topology!.elements[0]!.attributes.length).toBe(40);
  });

  test("many text runs holding ']' and one tag with many attributes stay linear (each search ends at its own run)", () => {
    // Quadratic before: each "]" run searched the rest of the document for "]]>", each attribute
    // value the rest of its tag for "<" — minutes at these sizes; linear, well under a second.
    const runs = "]<b/>".repeat(400_000);
    const brackets = small.replace("<version>1.0</version>", `<version>1.0</version><notes>${runs}</notes>`);
    expect(errorsOf(brackets)).toEqual([]);
    const attributes = Array.from({ length: 200_000 }, (_, k) => ` a${k}="v"`).join("");
    const wide = small.replace("<computer>", `<computer${attributes}>`);
    expect(errorsOf(wide)).toEqual([]);
    expect(errorsOf(small.replace("<computer>", `<computer${attributes} z="<">`))[0]).toContain('"<" is not allowed in an attribute value');
  }, 30_000);

  test("absurdly deep nesting is refused, not a stack overflow", () => {
    const deep = `<experiment>${"<a>".repeat(5000)}${"</a>".repeat(5000)}</experiment>`;
    expect(errorsOf(deep)).toEqual(["1: elements nested more than 64 deep"]);
  });
});

describe("memory on hostile layouts (compiled binary, peak RSS at most 12x the file + 60 MB)", () => {
  const head = "<experiment><version>1.0</version><substrates><name>l</name></substrates><elements><computer><name>a</name><interface><substrate>l</substrate></interface>";
  const tail = "</computer></elements></experiment>";
  const cases: [string, () => string, string][] = [
    ["a 50 MB attribute value", () => `${head}<attribute><attribute>k</attribute><value>${"x".repeat(50_000_000)}</value></attribute>${tail}`, "valid (0 errors, 0 warnings)"],
    ["a million attributes (every key repeated)", () => `${head}${Array.from({ length: 1_000_000 }, (_, k) => `<attribute><attribute>k${k % 1000}</attribute><value>v</value></attribute>`).join("")}${tail}`, "valid (0 errors, 999000 warnings)"],
    ["a million sibling elements", () => `${head}${`${"<frob/>".repeat(1000)}\n`.repeat(1000)}${tail}`, "valid (0 errors, 1000000 warnings)"],
    // One per line, no two share a node (a run on one line does): 157 MB against a 152 MiB bound before EmptyElement shrank.
    ["a million sibling elements, one per line", () => `${head}${"<frob/>\n".repeat(1_000_000)}${tail}`, "valid (0 errors, 1000000 warnings)"],
    ["a million sibling elements with text, one per line", () => `${head}${"<frob>x</frob>\n".repeat(1_000_000)}${tail}`, "valid (0 errors, 1000000 warnings)"],
  ];
  for (const [label, make, summary] of cases) {
    test(label, async () => {
      const file = join(folder, "hostile.xml");
      writeFileSync(file, make());
      const size = Bun.file(file).size;
      const gnuTime = existsSync("/usr/bin/time");
      const report = join(folder, "hostile.rss");
      const argv = [benitoBinary, "topdl", "validate", file];
      const result = await run(gnuTime ? ["/usr/bin/time", "-f", "%M", "-o", report, ...argv] : argv, { timeoutMs: 60_000 });
      rmSync(file, { force: true });
      expect(result.code).toBe(0);
      const lines = result.stdout.trim().split("\n");
      // At most 20 warnings of a kind, then one line for the rest: never a million lines.
      expect(lines.length).toBeLessThanOrEqual(22);
      expect(lines.at(-1)).toBe(`${file}: ${summary}`);
      if (!gnuTime) {
        console.warn("SKIPPED: the peak RSS bound: /usr/bin/time is absent");
        return;
      }
      const peakKB = Number(readFileSync(report, "utf8").trim().split("\n").pop());
      expect(peakKB * 1024).toBeLessThanOrEqual(12 * size + 60 * 1024 * 1024);
    }, 90_000);
  }
});
