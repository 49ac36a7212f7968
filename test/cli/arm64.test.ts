// build/benito-arm64 under qemu-aarch64-static (Debian qemu-user-static, with libc6-arm64-cross's loader) prints what build/benito prints: version, TopDL corpus, routes and boot dry runs.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benitoBinary, run, type RunResult } from "../helpers/binary";
import { exampleLab } from "../helpers/lab";
import { ip, uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { hasShared, sharedDir } from "../helpers/shared";

// Every arm64 run is emulated instruction by instruction: about 1 s to start, 5 s for the corpus.
setDefaultTimeout(120_000);

const armBinary = resolve(benitoBinary, "../benito-arm64");
const qemu = Bun.which("qemu-aarch64-static");
const sysroot = "/usr/aarch64-linux-gnu";
const missing = qemu === null ? "qemu-aarch64-static (Debian qemu-user-static) is not installed" : !existsSync(join(sysroot, "lib/ld-linux-aarch64.so.1")) ? `${sysroot} (Debian libc6-arm64-cross) is not installed` : !existsSync(armBinary) ? `${armBinary} is not built` : undefined;
if (missing !== undefined) console.warn(`SKIPPED: the arm64 build under qemu-user: ${missing}`);

/** Runs argv with the x86-64 and the arm64 build (optionally inside a namespace); outputs with each binary's path replaced by BENITO. */
async function both(args: readonly string[], netns?: string): Promise<[RunResult, RunResult]> {
  const wrap = (argv: string[]) => (netns === undefined ? argv : ["ip", "netns", "exec", netns, ...argv]);
  const normal = (result: RunResult, path: string): RunResult => ({ code: result.code, stdout: result.stdout.replaceAll(path, "BENITO"), stderr: result.stderr.replaceAll(path, "BENITO") });
  const x86 = normal(await run(wrap([benitoBinary, ...args]), { timeoutMs: 60_000 }), benitoBinary);
  const arm = normal(await run(wrap([qemu ?? "qemu-aarch64-static", "-L", sysroot, armBinary, ...args]), { timeoutMs: 100_000 }), armBinary);
  return [x86, arm];
}

/** Every .xml file under dir, sorted. */
const xmlFiles = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith(".xml")).map((entry) => join(entry.parentPath, entry.name)).sort();

describe.skipIf(missing !== undefined)("the arm64 build under qemu-aarch64-static matches the x86-64 build", () => {
  test("--version", async () => {
    const [x86, arm] = await both(["--version"]);
    expect(arm).toEqual(x86);
    expect(arm.stdout).toStartWith("benito ");
  });

  test.skipIf(!hasShared)("topdl validate --json of the whole corpus, and topdl show of a fixed sample", async () => {
    const corpus = xmlFiles(join(sharedDir, "topdl/corpus"));
    const [x86, arm] = await both(["topdl", "validate", "--json", ...corpus]);
    expect(arm).toEqual(x86);
    expect(x86.stdout.length).toBeGreaterThan(1000);
    // Three documents, always the same: first, middle and last by name.
    for (const file of [corpus[0], corpus[Math.floor(corpus.length / 2)], corpus[corpus.length - 1]]) {
      const [x86Show, armShow] = await both(["topdl", "show", "--json", file ?? ""]);
      expect(armShow).toEqual(x86Show);
    }
  });

  describe.skipIf(!isRoot)("dry runs of the example lab in an empty namespace", () => {
    const netns = `${uniquePrefix()}-arm`;
    const runDir = mkdtempSync(join(tmpdir(), "benito-arm64-"));
    beforeAll(async () => {
      await ip("netns", "add", netns);
    });
    afterAll(async () => {
      await run(["ip", "netns", "del", netns]);
      rmSync(runDir, { recursive: true, force: true });
    });

    test("routes --dry-run", async () => {
      const [x86, arm] = await both(["routes", "--dry-run", "--wait", "0", exampleLab, "a"], netns);
      expect(arm).toEqual(x86);
      expect(x86.stdout + x86.stderr).toContain("10.0.2.0/24");
    });

    test("boot --dry-run", async () => {
      const [x86, arm] = await both(["boot", "--dry-run", "--run-dir", runDir, exampleLab, "pnode0"], netns);
      expect(arm).toEqual(x86);
      expect(x86.stdout).toContain("# benito boot plan for pnode0 (pnode)");
    });
  });
});
