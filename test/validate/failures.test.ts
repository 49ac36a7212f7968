// Issue 12 items 2 and 3: a foreign switch folder is refused untouched; failures say why (console, log, status.json); unwritable records and a full or read-only run dir.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benitoBinary, run } from "../helpers/binary";
import { makeLab, labNodes, type Lab } from "../helpers/lab";
import { ip, NamespaceSet, uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";

setDefaultTimeout(120_000);

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;
const attr = (k: string, v: string) => `<attribute><attribute>${k}</attribute><value>${v}</value></attribute>`;

/** One host, one NIC (found by MAC): boot's plan is the ifaces stage alone. */
const oneHost = `<experiment><version>2.0</version><substrates><name>lan0</name></substrates>
<elements><computer><name>h1</name><interface><substrate>lan0</substrate><name>inf000</name>
${attr("ip4_address", "10.9.9.1")}${attr("ip4_netmask", "255.255.255.0")}${attr("benito:mac_address", "02:bb:00:00:00:01")}</interface></computer></elements></experiment>`;

describe.skipIf(!isRoot)("failures say why, records that cannot be written, run dirs that cannot hold anything (root)", () => {
  const namespaces = new NamespaceSet();
  let host = "";
  let dir = "";
  let config = "";
  const mounts: string[] = [];

  beforeAll(async () => {
    host = await namespaces.add("h1");
    await ip("-n", host, "link", "add", "eth9", "address", "02:bb:00:00:00:01", "type", "veth", "peer", "name", "eth9p");
    dir = join("/tmp", `${namespaces.prefix}-failures`);
    config = join(dir, "config");
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, "topo.xml"), oneHost);
  });

  afterAll(async () => {
    for (const mount of mounts) await run(["umount", mount]);
    await namespaces.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const boot = (runDir: string, logFile: string) => run(["ip", "netns", "exec", host, benitoBinary, "boot", "--run-dir", runDir, "--log-file", logFile, config, "h1"], { timeoutMs: 60_000 });

  test("an unwritable status file is a warning and exit 1, and no *.tmp is left", async () => {
    const runDir = join(dir, "run-status");
    mkdirSync(join(runDir, "status.json"), { recursive: true });
    const result = await boot(runDir, join(dir, "status-case.log"));
    expect(result.stderr).toMatch(new RegExp(`benito: warning: while writing the status file on ${runDir}/status.json: `));
    expect(result.code).toBe(1);
    expect(readdirSync(runDir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  test("an unwritable log is a warning (said once) and exit 1", async () => {
    const runDir = join(dir, "run-log");
    writeFileSync(join(dir, "not-a-folder"), "");
    const logFile = join(dir, "not-a-folder", "benito.log");
    const result = await boot(runDir, logFile);
    const warnings = result.stderr.split("\n").filter((line) => line.startsWith(`benito: warning: while writing the log on ${logFile}: `));
    expect(warnings.length).toBe(1);
    expect(result.code).toBe(1);
    const status = JSON.parse(readFileSync(join(runDir, "status.json"), "utf8"));
    expect(status.stages[0].outcome).toBe("ok");
    // The status file tells the same story as the exit code.
    expect(status.exitCode).toBe(1);
    expect(status.ok).toBe(false);
  });

  test("a bad --parallel or --wait-nics is a usage error at once, before the run-dir lock", async () => {
    const runDir = join(dir, "run-usage");
    for (const option of ["--parallel", "--wait-nics"]) {
      const result = await run(["ip", "netns", "exec", host, benitoBinary, "boot", option, "many", "--run-dir", runDir, "--log-file", join(dir, "usage.log"), config, "h1"], { timeoutMs: 30_000 });
      expect(result.code).toBe(2);
      expect(result.stderr.split("\n")[0]).toBe(`benito: while parsing the command line on boot: ${option} wants a whole number, got "many"`);
      expect(existsSync(runDir)).toBe(false);
    }
  });

  for (const kind of ["read-only", "full"] as const) {
    test(`a ${kind} run dir stops boot before any change: exit 1, one line`, async () => {
      const runDir = join(dir, `run-${kind}`);
      mkdirSync(runDir, { recursive: true });
      if (kind === "read-only") {
        await run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", runDir]);
      } else {
        await run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", runDir]);
        // Fill it: dd stops at ENOSPC.
        await run(["dd", "if=/dev/zero", `of=${join(runDir, "filler")}`, "bs=4k"]);
      }
      mounts.push(runDir);
      const before = await ip("-n", host, "-o", "addr", "show");
      const result = await boot(runDir, join(dir, `${kind}.log`));
      expect(result.code).toBe(1);
      const lines = result.stderr.trimEnd().split("\n");
      expect(lines.length).toBe(1);
      expect(lines[0]).toMatch(new RegExp(`^benito: while checking the run folder on ${runDir}: ${kind === "full" ? "(no space left|only \\d+ KiB free)" : "the file system is read-only"}`));
      expect(await ip("-n", host, "-o", "addr", "show")).toBe(before);
      expect(readFileSync(join(dir, `${kind}.log`), "utf8")).toContain("checking the run folder");
    });
  }
});

describe.skipIf(!isRoot || !hasVde)("a switch folder benito did not make (root, real vde_switch)", () => {
  const namespaces = new NamespaceSet();
  let lab: Lab;
  let pnode = "";
  let folder = "";
  const logFile = () => join(lab.dir, "benito.log");

  beforeAll(async () => {
    pnode = await namespaces.add("pn");
    lab = makeLab(uniquePrefix());
    folder = join(lab.dir, "sw", "lan0");
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o755);
    // Names a switch's leftovers would have, but regular files: someone else's.
    writeFileSync(join(folder, "ctl"), "not a socket\n");
    writeFileSync(join(folder, "001.123"), "keep me\n");
    writeFileSync(join(folder, "notes.txt"), "mine\n");
  });

  afterAll(async () => {
    await run(["ip", "netns", "exec", pnode, benitoBinary, "down", "--run-dir", lab.runDir, "--log-file", logFile(), lab.config, "pnode0"], { timeoutMs: 60_000 });
    for (const node of labNodes) await run(["ip", "netns", "del", lab.namespace(node)]);
    await namespaces.cleanup();
    rmSync(lab.dir, { recursive: true, force: true });
  });

  const contents = () => ({ mode: (statSync(folder).mode & 0o7777).toString(8), files: readdirSync(folder).sort().map((name) => `${name}=${readFileSync(join(folder, name), "utf8")}`) });

  test("is refused (exit 3) with its reason on the console, in the log and in status.json; mode and contents untouched, also by down", async () => {
    const before = contents();
    const result = await run(["ip", "netns", "exec", pnode, benitoBinary, "boot", "--run-dir", lab.runDir, "--log-file", logFile(), lab.config, "pnode0"], { timeoutMs: 90_000 });
    expect(result.stderr).not.toContain("internal error");
    expect(result.code).toBe(3);
    const reason = `while starting the switch on ${folder}: the folder exists and was not made by benito`;
    expect(result.stdout).toContain(`invalid-input switch: ${reason}`);
    expect(readFileSync(logFile(), "utf8")).toContain(reason);
    const status = JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8"));
    const stage = status.stages.find((entry: { id: string }) => entry.id === "switch");
    expect(stage.errors.join("\n")).toContain(reason);
    expect(contents()).toEqual(before);
    // No other switch was started either: the refusal comes before any action.
    expect(existsSync(join(lab.dir, "sw", "lan1"))).toBe(false);

    const down = await run(["ip", "netns", "exec", pnode, benitoBinary, "down", "--run-dir", lab.runDir, "--log-file", logFile(), lab.config, "pnode0"], { timeoutMs: 60_000 });
    expect(down.stderr).not.toContain("internal error");
    expect(contents()).toEqual(before);
  });
});
