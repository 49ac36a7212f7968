// Bounded reading through the compiled binary: only regular files (or "-"), at most --max-bytes + 1 bytes, exit 1 for I/O failures.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito, run } from "../helpers/binary";

const small = "<experiment><version>1.0</version><substrates><name>l</name></substrates><elements><computer><name>a</name><interface><substrate>l</substrate></interface></computer></elements></experiment>";

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), "benito-topdl-reading-"));
});
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe("what is read", () => {
  test("a device is refused before it is read (exit 1, one line), whatever its size says", async () => {
    for (const device of ["/dev/zero", "/dev/urandom", "/dev/null"]) {
      for (const sub of ["validate", "show", "stats"]) {
        const result = await benito(["topdl", sub, device], { timeoutMs: 10_000 });
        expect(result.code).toBe(1);
        const lines = (sub === "validate" ? result.stdout : result.stderr).trim().split("\n");
        expect(lines[0]).toContain(`${device}: is a character device, not a regular file`);
        if (sub !== "validate") expect(lines.length).toBe(1);
      }
    }
  });

  test("a FIFO without a writer, a directory and a socket are refused at once (exit 1)", async () => {
    const fifo = join(folder, "fifo");
    const made = await run(["mkfifo", fifo]);
    expect(made.code).toBe(0);
    const socket = join(folder, "sock");
    const server = Bun.listen({ unix: socket, socket: { data() {} } });
    try {
      for (const [path, kind] of [[fifo, "a FIFO"], [folder, "a directory"], [socket, "a socket"]] as const) {
        const result = await benito(["topdl", "stats", path], { timeoutMs: 10_000 });
        expect(result.code).toBe(1);
        expect(result.stderr.trim()).toBe(`benito: while reading the topology on ${path}: is ${kind}, not a regular file`);
      }
    } finally {
      server.stop(true);
    }
  });

  test("a missing file, or a path through a file, is an I/O failure (exit 1); the other files are still checked", async () => {
    const missing = join(folder, "missing.xml");
    const good = join(folder, "good.xml");
    writeFileSync(good, small);
    const result = await benito(["topdl", "validate", missing, `${good}/x`, good]);
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split("\n")).toEqual([
      `${missing}: no such file`,
      `${missing}: INVALID (1 error, 0 warnings)`,
      `${good}/x: a part of the path is not a directory`,
      `${good}/x: INVALID (1 error, 0 warnings)`,
      `${good}: valid (0 errors, 0 warnings)`,
    ]);
    // Invalid content alone is exit 3.
    const bad = join(folder, "bad.xml");
    writeFileSync(bad, small.replace("<substrate>l<", "<substrate>x<"));
    expect((await benito(["topdl", "validate", bad, good])).code).toBe(3);
  });

  test("a symbolic link to a regular file is read", async () => {
    const good = join(folder, "target.xml");
    writeFileSync(good, small);
    const link = join(folder, "link.xml");
    symlinkSync(good, link);
    expect((await benito(["topdl", "validate", link])).code).toBe(0);
  });

  test('"-" reads standard input, up to the limit', async () => {
    const ok = await benito(["topdl", "stats", "--json", "-"], { stdin: small });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ computers: 1 });
    const over = await benito(["topdl", "validate", "--max-bytes", "100", "-"], { stdin: small });
    expect(over.code).toBe(3);
    expect(over.stdout).toContain("-: file is more than 100 bytes, larger than the limit of 100");
  });
});

describe("--max-bytes", () => {
  test("takes a positive whole number with an optional unit", async () => {
    const file = join(folder, "limit.xml");
    writeFileSync(file, small);
    for (const limit of ["64M", "1k", "1KiB", "200", "1G", "1gb"]) expect((await benito(["topdl", "validate", "--max-bytes", limit, file])).code).toBe(0);
    expect((await benito(["topdl", "validate", "--max-bytes=100", file])).code).toBe(3);
  });

  test("anything else is a usage error that says what it wants", async () => {
    const file = join(folder, "limit.xml");
    writeFileSync(file, small);
    for (const limit of ["-1", "0", "lots", "1.5M", "12T", "9999999999999999999", "2G"]) {
      const result = await benito(["topdl", "validate", "--max-bytes", limit, file]);
      expect(result.code).toBe(2);
      expect(result.stderr.split("\n")[0]).toMatch(/--max-bytes (wants a positive whole number of bytes, optionally with a unit|is at most)/);
    }
  });
});

describe("many problems of one kind", () => {
  test("the text output prints 20 of a kind, then how many more; --json keeps 1,000 and the count", async () => {
    const file = join(folder, "many.xml");
    writeFileSync(file, small.replace("</computer>", `${"<frob/>".repeat(1500)}${"<zap/>".repeat(3)}${"<attribute><attribute>k</attribute></attribute>".repeat(2)}</computer>`));
    const text = await benito(["topdl", "validate", file]);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split("\n");
    // Unknown children are one kind, whatever their tag; a missing <value> is another.
    expect(lines.filter((line) => line.includes("unknown child <frob>")).length).toBe(20);
    expect(lines.filter((line) => line.includes("has no <value>")).length).toBe(2);
    expect(lines).toContain(`${file}: warning: … and 1483 more like: unknown child … of … ignored`);
    expect(lines.at(-1)).toBe(`${file}: valid (0 errors, 1506 warnings)`);
    const json = JSON.parse((await benito(["topdl", "validate", "--json", file])).stdout);
    expect(json.warnings.length).toBe(1003);
    expect(json.warningCount).toBe(1506);
    expect(json.omitted).toEqual([{ kind: "unknown child … of … ignored", severity: "warning", total: 1503 }]);
  });
});
