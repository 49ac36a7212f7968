// The per-pnode forwarder against a real vde_switch: ports added and removed live, a deleted TAP fails alone, per-port reconnect, nothing left after the last port (also when two processes remove the last two at once).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benito, benitoBinary, run } from "../helpers/binary";
import { ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { addForwarderPort, forwarderPorts, removeForwarderPort } from "../../src/system/vde/forwarder-control";
import { forwarderPaths, readPortRecords, shardCount } from "../../src/system/vde/forwarder-records";
import { address, alive, hasVde, Lab, pidIn, ping, tearDownForwarderLab, waitFor } from "./fixtures";

/** The scheduling policy of a thread (field 41 of /proc/PID/stat or /proc/PID/task/TID/stat; 2 = SCHED_RR). */
function schedulingPolicy(statFile: string): number {
  const stat = readFileSync(statFile, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]);
}

describe.skipIf(!isRoot || !hasVde)("the forwarder through a real vde_switch (root)", () => {
  const namespaces = new NamespaceSet();
  const lab = new Lab();
  const runDir = join(lab.dir, "run");
  const paths = forwarderPaths(runDir);
  let sw = "";
  let otherSwitch = "";
  const ns: string[] = [];
  const portOf = (index: number) => ({ version: 1 as const, kind: "forwarder-port" as const, id: `p${index}`, netns: ns[index], tap: "vt0", switchDir: sw, port: 0, reconnect: true, owner: `test ${index}` });
  const pids = async () => (JSON.parse((await benito(["vde", "ports", "--json", "--run-dir", runDir])).stdout) as { pids: number[] }).pids;
  const states = async () => Object.fromEntries(((await forwarderPorts(runDir, benitoBinary)) ?? []).map((port) => [port.id, port.state]));

  beforeAll(async () => {
    sw = await lab.startSwitch("sw");
    otherSwitch = await lab.startSwitch("sw2");
    mkdirSync(runDir, { recursive: true });
    lab.track(paths.pidfile);
    for (const [index, suffix] of ["a", "b", "c", "d"].entries()) {
      const namespace = await namespaces.add(suffix);
      ns.push(namespace);
      await ip("-n", namespace, "tuntap", "add", "vt0", "mode", "tap");
      // d is on another LAN (otherSwitch).
      await address(namespace, "vt0", index === 3 ? "10.213.8.1/24" : `10.213.7.${index + 1}/24`);
    }
  }, 60_000);
  afterAll(() => tearDownForwarderLab(runDir, lab, namespaces), 60_000);

  test("ports are added and removed live in the pool (one forwarder per core, at most two; one switch's ports in one of them)", async () => {
    await addForwarderPort(runDir, benitoBinary, portOf(0));
    await addForwarderPort(runDir, benitoBinary, portOf(1));
    // Both ports of one switch share one loop (forwarder-control.ts, shardFor).
    expect(new Set(readPortRecords(runDir).map((record) => record.shard)).size).toBe(1);
    expect((await pids()).length).toBe(1);
    // A port of another switch goes to the least loaded member: the pool grows to one per core.
    await addForwarderPort(runDir, benitoBinary, { ...portOf(3), id: "q0", switchDir: otherSwitch });
    const pool = await pids();
    expect(pool.length).toBe(shardCount());
    expect(new Set(readPortRecords(runDir).map((record) => record.shard)).size).toBe(shardCount());
    // The forwarding threads run at real-time priority while their own load is light (latency-governor.ts),
    // unless the kernel refused it (no CAP_SYS_NICE, no real-time budget): then the log says so.
    const refused = [0, 1].some((shard) => existsSync(forwarderPaths(runDir, shard).log) && readFileSync(forwarderPaths(runDir, shard).log, "utf8").includes("could not use real-time priority: Operation not permitted"));
    for (const pid of pool) expect(schedulingPolicy(`/proc/${pid}/stat`)).toBe(refused ? 0 : 2);
    expect((await ping(ns[0]!, "10.213.7.2")).code).toBe(0);
    await addForwarderPort(runDir, benitoBinary, portOf(2));
    expect((await ping(ns[0]!, "10.213.7.3")).code).toBe(0);
    expect((await ping(ns[1]!, "10.213.7.3")).code).toBe(0);
    await removeForwarderPort(runDir, benitoBinary, "p1");
    expect(await states()).toEqual({ p0: "open", p2: "open", q0: "open" });
    expect(existsSync(join(paths.ports, "p1.json"))).toBe(false);
    expect((await ping(ns[1]!, "10.213.7.1", 2)).code).not.toBe(0);
    expect((await ping(ns[2]!, "10.213.7.1")).code).toBe(0);
    // Bun's helper threads (JIT workers and GC helpers, started lazily) never run at real-time priority.
    for (const pid of pool) {
      const helpers = readdirSync(`/proc/${pid}/task`).filter((task) => task !== String(pid));
      expect(helpers.length).toBeGreaterThan(0);
      for (const task of helpers) expect(`${task}: ${schedulingPolicy(`/proc/${pid}/task/${task}/stat`)}`).toBe(`${task}: 0`);
    }
    expect(readPortRecords(runDir).find((record) => record.id === "p2")?.shard).toBe(readPortRecords(runDir).find((record) => record.id === "p0")?.shard);
    // The other switch's forwarder (when the pool has two) stops with its last port; p0 and p2's never restarted.
    await removeForwarderPort(runDir, benitoBinary, "q0");
    expect(pool.filter(alive).length).toBe(1);
    expect(pool).toContain(pidIn(paths.pidfile) ?? 0);
  }, 60_000);

  test("one port's TAP deleted closes that port alone; the others go on and new ones still open", async () => {
    await ip("-n", ns[2]!, "link", "del", "vt0");
    expect(await waitFor(async () => (await states()).p2 === "failed", 5000)).toBe(true);
    const listed = await benito(["vde", "ports", "--run-dir", runDir]);
    expect(listed.code).toBe(1);
    expect(listed.stdout).toContain("p2: ");
    expect(listed.stdout).toContain("failed: the TAP device went away");
    await addForwarderPort(runDir, benitoBinary, portOf(1));
    expect((await ping(ns[0]!, "10.213.7.2")).code).toBe(0);
    expect(await states()).toEqual({ p0: "open", p1: "open", p2: "failed" });
    await removeForwarderPort(runDir, benitoBinary, "p2");
  }, 60_000);

  test("a port whose TAP is missing is refused with a message naming it", async () => {
    await expect(addForwarderPort(runDir, benitoBinary, { ...portOf(2), id: "p9" })).rejects.toThrow(`vt0 in ${ns[2]}: no such interface`);
    await removeForwarderPort(runDir, benitoBinary, "p9");
  }, 30_000);

  test("when the switch restarts, every port reconnects by itself", async () => {
    await lab.stop(join(lab.dir, "sw.pid"));
    expect(await waitFor(async () => (await states()).p0 === "connecting", 5000)).toBe(true);
    await lab.startSwitch("sw");
    expect(await waitFor(async () => JSON.stringify(await states()) === JSON.stringify({ p0: "open", p1: "open" }), 15_000)).toBe(true);
    expect(await waitFor(async () => (await ping(ns[0]!, "10.213.7.2", 1)).code === 0, 10_000)).toBe(true);
  }, 60_000);

  test("removing the last port stops the forwarders: no process, socket, record or stray socket in the switch folder", async () => {
    const pool = await pids();
    expect(pool.length).toBeGreaterThan(0);
    await removeForwarderPort(runDir, benitoBinary, "p0");
    await removeForwarderPort(runDir, benitoBinary, "p1");
    expect(pool.filter(alive)).toEqual([]);
    expect(existsSync(paths.dir)).toBe(false);
    expect(lab.strayFiles(sw)).toEqual([]);
  }, 30_000);
});

describe.skipIf(!isRoot || !hasVde)("two processes removing a forwarder's last two ports at once (root)", () => {
  const namespaces = new NamespaceSet();
  const lab = new Lab();
  const runDir = join(lab.dir, "run");
  const paths = forwarderPaths(runDir);
  const go = join(lab.dir, "go");

  afterAll(() => tearDownForwarderLab(runDir, lab, namespaces), 60_000);

  test("the forwarder stops: no process, socket or record left", async () => {
    const sw = await lab.startSwitch("sw");
    mkdirSync(runDir, { recursive: true });
    lab.track(paths.pidfile);
    // Both on one forwarder: each removal sees the other port there when its process counted.
    for (const id of ["r0", "r1"]) {
      const namespace = await namespaces.add(id);
      await ip("-n", namespace, "tuntap", "add", "vt0", "mode", "tap");
      await addForwarderPort(runDir, benitoBinary, { version: 1, kind: "forwarder-port", id, netns: namespace, tap: "vt0", switchDir: sw, port: 0, reconnect: true, shard: 0 });
    }
    const pool = await benito(["vde", "ports", "--json", "--run-dir", runDir]);
    const pids = (JSON.parse(pool.stdout) as { pids: number[] }).pids;
    expect(pids.length).toBe(1);
    const child = (id: string) => run([process.execPath, join(import.meta.dir, "remove-port-child.ts"), runDir, benitoBinary, id, go], { timeoutMs: 60_000 });
    const removals = [child("r0"), child("r1")];
    // Both have counted (re-added their port) before either removes: then they remove at once.
    expect(await waitFor(() => existsSync(`${go}.r0.ready`) && existsSync(`${go}.r1.ready`), 30_000)).toBe(true);
    writeFileSync(go, "");
    const results = await Promise.all(removals);
    expect(results.map((result) => (result.code === 0 ? "" : `${result.code}: ${result.stderr}`))).toEqual(["", ""]);
    // Before the fix each process's cached count said one port was left: neither stopped it.
    expect(await waitFor(() => pids.every((pid) => !alive(pid)), 10_000)).toBe(true);
    expect(readPortRecords(runDir)).toEqual([]);
    expect(existsSync(paths.socket)).toBe(false);
    expect(existsSync(paths.dir)).toBe(false);
  }, 90_000);
});
