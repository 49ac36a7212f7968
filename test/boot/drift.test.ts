// The drift table: each kind of drift behind benito's back is one status line (exit 1) and the next boot repairs exactly it (healthy processes keep their pids); a vnode removed from topo.xml is stopped; nothing is written outside the run dir.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benito, run } from "../helpers/binary";
import { makeLab, type Lab } from "../helpers/lab";
import { benitoEnded, cleanLab, labLeftovers, labPids } from "../helpers/lab-state";
import { ping, uniquePrefix } from "../helpers/netns";
import { pidfiles, pidIn, signalPid } from "../helpers/processes";
import { isRoot } from "../helpers/root";

setDefaultTimeout(300_000);

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;

/** DriftCase interface: one row of the table. */
interface DriftCase {
  readonly kind: string;
  /** Makes the drift. */
  readonly make: (lab: Lab) => Promise<void>;
  /** Text the status drift line holds (with the check id it is under). */
  readonly check: (lab: Lab) => string;
  readonly says: string;
  /** Pidfiles (relative to the run dir) whose process the repair may replace; every other keeps its pid. */
  readonly replaced: (lab: Lab) => RegExp | undefined;
}

const sh = async (...argv: string[]) => {
  const result = await run(argv);
  if (result.code !== 0) throw new Error(`${argv.join(" ")}: ${result.stderr}`);
};
const vdePidfile = (lab: Lab, pattern: RegExp) => {
  const file = pidfiles(join(lab.runDir, "vde")).find((path) => pattern.test(path.slice(lab.runDir.length)));
  if (file === undefined) throw new Error(`no pidfile like ${pattern}`);
  return file;
};
const kill = (file: string) => signalPid(pidIn(file) ?? 0, "SIGKILL");

const table: DriftCase[] = [
  { kind: "address deleted in a vnode", make: (lab) => sh("ip", "-n", lab.namespace("a"), "addr", "del", "10.0.1.1/24", "dev", "inf000"), check: (lab) => `status:${lab.name("a")}`, says: "addresses: drift, a boot would change: 1 configured", replaced: () => undefined },
  { kind: "route deleted in a vnode", make: (lab) => sh("ip", "-n", lab.namespace("a"), "route", "del", "10.0.2.0/24"), check: (lab) => `status:${lab.name("a")}`, says: "routes: drift, a boot would change: 1 added", replaced: () => undefined },
  { kind: "a vnode's NIC set down", make: (lab) => sh("ip", "-n", lab.namespace("b"), "link", "set", "inf000", "down"), check: (lab) => `status:${lab.name("b")}`, says: "addresses: drift, a boot would change: 1 configured", replaced: () => undefined },
  { kind: "switch killed", make: async (lab) => void kill(vdePidfile(lab, /\/lan0-[0-9a-f]+\.pid$/)), check: () => "switch", says: "dead (pid", replaced: () => /\/vde\/lan0-[0-9a-f]+\.pid$/ },
  { kind: "wirefilter killed", make: async (lab) => void kill(vdePidfile(lab, /\/wf-slow-[0-9a-f]+-1\.pid$/)), check: () => "switch", says: "wirefilter", replaced: () => /\/vde\/wf-slow-[0-9a-f]+-1\.pid$/ },
  // The pnode's forwarder is every process vnode's plug (one process, a port per TAP).
  { kind: "plug (forwarder) killed", make: async (lab) => void kill(join(lab.runDir, "forwarder", "forwarder.pid")), check: () => "switch", says: "forwarder", replaced: () => /\/forwarder\/forwarder\.pid$/ },
  { kind: "TAP deleted", make: (lab) => sh("ip", "-n", lab.namespace("c"), "link", "del", "inf000"), check: (lab) => `status:${lab.name("c")}`, says: "addresses: drift", replaced: () => undefined },
  { kind: "a vnode's loopback set down", make: (lab) => sh("ip", "-n", lab.namespace("b"), "link", "set", "lo", "down"), check: (lab) => `status:${lab.name("b")}`, says: "exists, its loopback is down", replaced: () => undefined },
  { kind: "namespace deleted", make: (lab) => sh("ip", "netns", "del", lab.namespace("e")), check: (lab) => `status:${lab.name("e")}`, says: `namespace: bn-`, replaced: () => undefined },
];

describe.skipIf(!isRoot || !hasVde)("drift behind benito's back: status sees it, boot repairs exactly it (root, real switches)", () => {
  let lab: Lab;
  const common = () => ["--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log")];
  const boot = () => benito(["boot", ...common(), lab.config, "pnode0"], { timeoutMs: 90_000 });
  const status = () => benito(["status", "--run-dir", lab.runDir, lab.config, "pnode0"], { timeoutMs: 60_000 });
  /** Status has no drift: the DRIFT lines (shown when this fails), then the exit code. */
  const expectNoDrift = async () => {
    const result = await status();
    expect(result.stdout.split("\n").filter((line) => line.startsWith("DRIFT"))).toEqual([]);
    expect(result.code).toBe(0);
  };
  const pidMap = () => Object.fromEntries(pidfiles(lab.runDir).map((file) => [file, pidIn(file)]));
  /** The inodes of the lab's namespaces (each boot's): a vnode's ifaces once wrote /run/benito/ifaces-net<inode>.json. */
  const inodes = new Set<number>();
  const started = Date.now();
  const noteInodes = () => {
    for (const node of ["a", "b", "c", "d", "e", "r"] as const) {
      try {
        inodes.add(statSync(`/run/netns/${lab.namespace(node)}`).ino);
      } catch {
        // Not there (removed by the test).
      }
    }
  };

  beforeAll(async () => {
    lab = makeLab(uniquePrefix());
    expect((await boot()).code).toBe(0);
    noteInodes();
  });

  afterAll(async () => {
    await cleanLab(lab);
    rmSync(lab.dir, { recursive: true, force: true });
  });

  for (const row of table) {
    test(`${row.kind}: one DRIFT line, exit 1; boot repairs it and keeps every other process`, async () => {
      await expectNoDrift();
      const before = pidMap();
      await row.make(lab);
      const seen = await status();
      expect(seen.code).toBe(1);
      const drift = seen.stdout.split("\n").filter((line) => line.startsWith("DRIFT"));
      expect(drift.length).toBeGreaterThanOrEqual(1);
      expect(drift.some((line) => line.includes(row.check(lab)) && line.includes(row.says))).toBe(true);
      const repaired = await boot();
      expect(repaired.code).toBe(0);
      noteInodes();
      await expectNoDrift();
      const allowed = row.replaced(lab);
      const now = pidMap();
      const kept = Object.keys(before).filter((file) => allowed === undefined || !allowed.test(file));
      expect(Object.fromEntries(kept.map((file) => [file, now[file]]))).toEqual(Object.fromEntries(kept.map((file) => [file, before[file]])));
      if (allowed !== undefined) for (const file of Object.keys(before).filter((path) => allowed.test(path))) expect(now[file]).not.toBe(before[file]);
    });
  }

  test("a child whose routes failed: status says so after the boot (exit 1) and until a boot succeeds", async () => {
    const routeFile = join(lab.config, "route", lab.name("a"));
    const good = readFileSync(routeFile, "utf8");
    writeFileSync(routeFile, `${good}10.9.9.0/24 via 10.7.7.7\n`);
    try {
      const failed = await boot();
      expect(failed.code).toBe(1);
      for (const attempt of [1, 2]) {
        const seen = await status();
        expect(seen.code).toBe(1);
        expect(seen.stdout).toMatch(new RegExp(`DRIFT  status:${lab.name("a")} .*routes: failed on the last launch`));
        if (attempt === 1) expect((await boot()).code).toBe(1);
      }
    } finally {
      writeFileSync(routeFile, good);
    }
    expect((await boot()).code).toBe(0);
    await expectNoDrift();
  });

  test("boot killed while it sets up a vnode's new namespace (before it is mounted): status says it is absent; the next boot makes it with its loopback up", async () => {
    const ns = lab.namespace("e");
    await sh("ip", "netns", "del", ns);
    const crashed = await benitoEnded(["boot", ...common(), lab.config, "pnode0"], { BENITO_FAILPOINT: `netns:${ns}:setup` });
    expect(crashed.signal).toBe("SIGKILL");
    const seen = await status();
    expect(seen.code).toBe(1);
    expect(seen.stdout).toContain(`${ns} absent`);
    expect((await boot()).code).toBe(0);
    expect((await run(["ip", "-n", ns, "link", "show", "lo"])).stdout).toContain(",UP");
    await expectNoDrift();
  });

  test("the network works after all the repairs: a pings e through r and the shaped link", async () => {
    expect((await ping(lab.namespace("a"), "10.0.3.2")).ok).toBe(true);
  });

  test("a vnode removed from topo.xml is stopped by boot: its namespace, plug and records go", async () => {
    const topo = join(lab.config, "topo.xml");
    const text = readFileSync(topo, "utf8");
    const at = text.indexOf(`<name>${lab.name("c")}</name>`);
    const start = text.lastIndexOf("<elements>", at);
    const end = text.indexOf("</elements>", at) + "</elements>".length;
    const port = join(lab.runDir, "forwarder", "ports", `ns-${lab.name("c")}.inf000.json`);
    expect(existsSync(port)).toBe(true);
    writeFileSync(topo, text.slice(0, start) + text.slice(end));
    const result = await boot();
    expect(result.code).toBe(0);
    expect(JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8")).stages.map((stage: { id: string }) => stage.id)).toContain(`remove:${lab.name("c")}`);
    expect((await run(["ip", "netns", "list"])).stdout).not.toContain(lab.namespace("c"));
    expect(existsSync(port)).toBe(false);
    expect(existsSync(join(lab.runDir, "ns", lab.name("c")))).toBe(false);
    expect(readdirSync(join(lab.runDir, "ledger")).filter((name) => name.includes(lab.name("c")))).toEqual([]);
    await expectNoDrift();
  });

  test("a vnode's NIC renamed in topo.xml: boot relaunches it, and what only its recorded teardown removed (the old TAP and forwarder port) goes", async () => {
    const topo = join(lab.config, "topo.xml");
    const text = readFileSync(topo, "utf8");
    const at = text.indexOf(`<name>${lab.name("d")}</name>`);
    const nic = text.indexOf("<name>inf001</name>", at);
    expect(nic).toBeGreaterThan(at);
    writeFileSync(topo, `${text.slice(0, nic)}<name>inf009</name>${text.slice(nic + "<name>inf001</name>".length)}`);
    const result = await boot();
    expect({ code: result.code, err: result.code === 0 ? "" : result.stderr }).toEqual({ code: 0, err: "" });
    const links = (await run(["ip", "-n", lab.namespace("d"), "-o", "link", "show"])).stdout;
    expect(links).toContain("inf009");
    expect(links).not.toContain("inf001");
    expect(existsSync(join(lab.runDir, "forwarder", "ports", `ns-${lab.name("d")}.inf001.json`))).toBe(false);
    expect((await ping(lab.namespace("d"), "10.0.3.2")).ok).toBe(true);
    await expectNoDrift();
  });

  test("boot killed while it probes the run dir's writability: its probe file is left (down, next, must remove it)", async () => {
    const crashed = await benitoEnded(["boot", ...common(), lab.config, "pnode0"], { BENITO_FAILPOINT: "run-dir:probe" });
    expect(crashed.signal).toBe("SIGKILL");
    expect(readdirSync(lab.runDir).filter((name) => name.startsWith(".benito-probe."))).toEqual([`.benito-probe.${crashed.pid}`]);
  });

  test("down after the topology change leaves nothing, and nothing was written outside the run dir and the log", async () => {
    const pids = labPids(lab);
    const result = await benito(["down", ...common(), lab.config, "pnode0"], { timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    expect(await labLeftovers(lab, pids)).toEqual([]);
    expect(readdirSync(lab.runDir)).toEqual(["status.json"]);
    // The process platform's vnodes once wrote /run/benito/ifaces-net<inode>.json whatever --run-dir said.
    expect(inodes.size).toBeGreaterThanOrEqual(6);
    // (Inodes are reused: only a file written since this test began, while its namespace was the lab's, counts.)
    expect([...inodes].map((inode) => `/run/benito/ifaces-net${inode}.json`).filter((path) => existsSync(path) && statSync(path).mtimeMs >= started)).toEqual([]);
  });
});
