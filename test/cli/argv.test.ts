// Issue 12 item 5: global options only before the command, child argv passed through, EPIPE, suggestions, --dry-run everywhere.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runCli } from "../../src/cli/run";
import type { CommandContext } from "../../src/cli/command";
import { benito, benitoBinary, run } from "../helpers/binary";
import { uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";

function capture(): { ctx: CommandContext; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { ctx: { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, env: {}, debug: false }, out, err };
}

const lab = resolve(import.meta.dir, "../../examples/lab");
const scratch = mkdtempSync(join(tmpdir(), `${uniquePrefix()}-argv-`));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("global options are read only before the command", () => {
  test("--help after a command's `--` is not benito's", async () => {
    const { ctx, out, err } = capture();
    // netns exec of a namespace that does not exist: the command runs (and fails) instead of printing help.
    expect(await runCli("benito", ["netns", "exec", "bt-no-such-ns", "--", "echo", "--help", "--debug"], ctx)).toBe(1);
    expect(out.join("\n")).not.toContain("Usage:");
    expect(err[0]).toContain("bt-no-such-ns");
    // Without --debug read as benito's, no stack trace follows.
    expect(err.join("\n")).not.toContain("    at ");
  });

  test("--help in a child's argv without `--` is the child's too", async () => {
    const { ctx, out } = capture();
    expect(await runCli("benito", ["netns", "exec", "bt-no-such-ns", "echo", "--help"], ctx)).toBe(1);
    expect(out.join("\n")).not.toContain("Usage:");
  });

  test("a command's own --help and --debug still work", async () => {
    const help = capture();
    expect(await runCli("benito", ["boot", "--help"], help.ctx)).toBe(0);
    expect(help.out.join("\n")).toContain("Usage: benito boot");
    const debug = capture();
    expect(await runCli("benito", ["boot", "--debug", "--bogus"], debug.ctx)).toBe(2);
    expect(debug.err.join("\n")).toContain("    at ");
  });

  test("--debug before the command gives stack traces; an unknown global option is a usage error", async () => {
    const debug = capture();
    expect(await runCli("benito", ["--debug", "boot", "--bogus"], debug.ctx)).toBe(2);
    expect(debug.err.join("\n")).toContain("    at ");
    const unknown = capture();
    expect(await runCli("benito", ["--hepl", "boot"], unknown.ctx)).toBe(2);
    expect(unknown.err[0]).toContain("did you mean --help?");
  });
});

describe("suggestions", () => {
  test("an unknown command names the nearest", async () => {
    const { ctx, err } = capture();
    expect(await runCli("benito", ["bot"], ctx)).toBe(2);
    expect(err[0]).toContain("did you mean boot?");
    const far = capture();
    expect(await runCli("benito", ["frobnicate"], far.ctx)).toBe(2);
    expect(far.err[0]).not.toContain("did you mean");
  });

  test("an unknown option names the nearest", async () => {
    const { ctx, err } = capture();
    expect(await runCli("benito", ["boot", "--dryrun"], ctx)).toBe(2);
    expect(err[0]).toContain("did you mean --dry-run?");
  });
});

describe("the compiled binary", () => {
  test("netns exec passes --help and --debug to the program", async () => {
    if (!isRoot) return console.warn("SKIPPED: netns exec pass-through (not root)");
    const name = `${uniquePrefix()}-argv`;
    try {
      expect((await benito(["netns", "add", name])).code).toBe(0);
      const dashed = await benito(["netns", "exec", name, "--", "echo", "--help", "--debug"]);
      expect(dashed).toEqual({ code: 0, stdout: "--help --debug\n", stderr: "" });
      const bare = await benito(["netns", "exec", name, "echo", "-h", "--debug"]);
      expect(bare).toEqual({ code: 0, stdout: "-h --debug\n", stderr: "" });
    } finally {
      await run(["ip", "netns", "del", name]);
    }
  });

  test("a reader that goes away ends the command quietly with its own exit code", async () => {
    // `true` exits at once, so benito's first write meets a closed pipe (EPIPE).
    for (const args of [["boot", "--dry-run", lab, "r"], ["--help"]]) {
      const result = await run(["bash", "-c", '"$0" "$@" | true; echo "rc=${PIPESTATUS[0]}"', benitoBinary, ...args]);
      expect(result.stdout).toBe("rc=0\n");
      expect(result.stderr).toBe("");
    }
    const head = await run(["bash", "-c", '"$0" "$@" | head -1 >/dev/null; echo "rc=${PIPESTATUS[0]}"', benitoBinary, "boot", "--dry-run", lab, "r"]);
    expect(head).toEqual({ code: 0, stdout: "rc=0\n", stderr: "" });
  });

  test("routes.py --version works", async () => {
    const link = join(scratch, "routes.py");
    symlinkSync(benitoBinary, link);
    const result = await run([link, "--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^routes\.py \d+\.\d+\.\d+ \(/);
  });
});

describe("--dry-run on every command that changes something", () => {
  test("tap create/delete --dry-run creates nothing", async () => {
    if (!isRoot) return console.warn("SKIPPED: tap --dry-run (not root)");
    const name = `${uniquePrefix()}t`;
    const created = await benito(["tap", "create", name, "--dry-run", "--mac", "02:00:00:00:00:01"]);
    expect(created.code).toBe(0);
    expect(created.stdout).toBe(`would create TAP ${name} (mac 02:00:00:00:00:01)\n`);
    expect((await run(["ip", "link", "show", name])).code).not.toBe(0);
    expect((await benito(["tap", "delete", name, "--dry-run"])).stdout).toBe(`TAP ${name} is absent: nothing to do\n`);
  });

  test("netns add --dry-run creates nothing", async () => {
    const name = `${uniquePrefix()}-dry`;
    const result = await benito(["netns", "--dry-run", "add", name]);
    expect(result).toEqual({ code: 0, stdout: `would create network namespace ${name} (loopback up)\n`, stderr: "" });
    expect(existsSync(`/run/netns/${name}`)).toBe(false);
    const exec = await benito(["netns", "--dry-run", "exec", name, "--", "echo", "--help"]);
    expect(exec.stdout).toBe(`would run in network namespace ${name}: "echo" "--help"\n`);
  });

  test("control-net allocate --dry-run prints the table and records no lease", async () => {
    const config = join(scratch, "config");
    const runDir = join(scratch, "run");
    mkdirSync(config);
    const attr = (k: string, v: string) => `<attribute><attribute>${k}</attribute><value>${v}</value></attribute>`;
    writeFileSync(join(config, "topo.xml"), `<experiment><version>2.0</version><substrates><name>control_net</name></substrates>
  <elements><computer><name>pnode0</name>${attr("benito:node_type", "pnode")}</computer></elements>
  <elements><computer><name>vm1</name><interface><substrate>control_net</substrate><name>control</name></interface>
  ${attr("benito:node_type", "qemu")}${attr("benito:host", "pnode0")}</computer></elements></experiment>`);
    writeFileSync(join(config, "site.conf"), "control_pool = 10.77.0.0/24\n");
    const result = await benito(["control-net", "allocate", "--dry-run", "--host", "pnode0", "--run-dir", runDir, config]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("vm1");
    expect(existsSync(runDir)).toBe(false);
  });
});
