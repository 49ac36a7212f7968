// Where the forwarder pool puts a port: a switch's ports on one member — also after a port moves to another LAN, after an older benito split a LAN, from a process pinned to one CPU, and through a symbolic link to the switch folder.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { benitoBinary, run } from "../helpers/binary";
import { ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { addForwarderPort, forwarderPorts, stopForwarder } from "../../src/system/vde/forwarder-control";
import { forwarderPaths, readPortRecords, shardCount } from "../../src/system/vde/forwarder-records";
import { hasVde, Lab, tearDownForwarderLab } from "./fixtures";

describe.skipIf(!isRoot || !hasVde || shardCount() < 2)("the forwarder pool keeps a switch's ports on one member (root, two or more cores)", () => {
  const namespaces = new NamespaceSet();
  const lab = new Lab();
  const runDir = join(lab.dir, "run");
  /** A pool of its own for the test that needs a symmetric start. */
  const otherRunDir = join(lab.dir, "run2");
  const ns = new Map<string, string>();
  let switchA = "";
  let switchB = "";
  const port = (id: string, switchDir: string) => ({ version: 1 as const, kind: "forwarder-port" as const, id, netns: ns.get(id), tap: "vt0", switchDir, port: 0, reconnect: true });
  const shards = () => Object.fromEntries(readPortRecords(runDir).map((record) => [record.id, record.shard]));
  const states = async () => Object.fromEntries(((await forwarderPorts(runDir, benitoBinary)) ?? []).map((status) => [status.id, status.state]));

  beforeAll(async () => {
    switchA = await lab.startSwitch("swA");
    switchB = await lab.startSwitch("swB");
    mkdirSync(runDir, { recursive: true });
    for (let shard = 0; shard < 2; shard += 1) lab.track(forwarderPaths(runDir, shard).pidfile);
    for (let shard = 0; shard < 2; shard += 1) lab.track(forwarderPaths(otherRunDir, shard).pidfile);
    for (const id of ["a0", "a1", "b0", "b1", "b2", "b3", "x", "p", "q"]) {
      const namespace = await namespaces.add(id);
      ns.set(id, namespace);
      await ip("-n", namespace, "tuntap", "add", "vt0", "mode", "tap");
    }
  }, 60_000);
  afterAll(() => tearDownForwarderLab(runDir, lab, namespaces), 60_000);

  test("a port moved to another switch joins that switch's member", async () => {
    await addForwarderPort(runDir, benitoBinary, port("a0", switchA));
    await addForwarderPort(runDir, benitoBinary, port("b0", switchB));
    await addForwarderPort(runDir, benitoBinary, port("a1", switchA));
    expect(shards()).toEqual({ a0: 0, a1: 0, b0: 1 });
    // A topology edit put a1's interface on LAN B: boot adds the same port id with B's folder.
    await addForwarderPort(runDir, benitoBinary, port("a1", switchB));
    expect(shards()).toEqual({ a0: 0, a1: 1, b0: 1 });
    expect(await states()).toEqual({ a0: "open", a1: "open", b0: "open" });
  }, 60_000);

  test("a LAN split by an older benito (its least-loaded placement) is regrouped when boot adds its ports again", async () => {
    // As the older placement did: b1 on the other member than the rest of B.
    await addForwarderPort(runDir, benitoBinary, { ...port("b1", switchB), shard: 0 });
    expect(shards().b1).toBe(0);
    await addForwarderPort(runDir, benitoBinary, port("b1", switchB));
    expect(shards()).toEqual({ a0: 0, a1: 1, b0: 1, b1: 1 });
    expect((await states()).b1).toBe("open");
  }, 60_000);

  test("a process pinned to one CPU (a pool of one, by its count) still puts the port on the member holding its switch", async () => {
    const child = await run(["taskset", "-c", "0", process.execPath, join(import.meta.dir, "add-port-child.ts"), runDir, benitoBinary, "b2", ns.get("b2") ?? "", "vt0", switchB], { timeoutMs: 60_000 });
    expect(child.code === 0 ? "" : child.stderr).toBe("");
    expect(shards().b2).toBe(1);
  }, 60_000);

  test("a move whose new switch is gone fails saying the port left its old forwarder; boot again with the switch back converges", async () => {
    // a0 is alone on switch A's member; its LAN is now a switch folder nobody serves.
    const gone = join(lab.dir, "swGone");
    await expect(addForwarderPort(runDir, benitoBinary, port("a0", gone))).rejects.toThrow("it was unplugged first, to move to its new switch; boot again retries");
    // Recorded with its new switch, it keeps trying (reconnect), as a port whose switch is down does.
    expect((await states()).a0).toBe("connecting");
    // The operator's topology goes back (or the switch comes up): the next boot opens it, on A's old member or B's.
    await addForwarderPort(runDir, benitoBinary, port("a0", switchB));
    expect(shards().a0).toBe(1);
    expect((await states()).a0).toBe("open");
  }, 60_000);

  test("the switch folder reached through a symbolic link is the same switch", async () => {
    const link = join(lab.dir, "swB-link");
    symlinkSync(switchB, link);
    await addForwarderPort(runDir, benitoBinary, port("b3", link));
    expect(shards().b3).toBe(1);
    expect((await states()).b3).toBe("open");
  }, 60_000);

  test("two ports of different members moved at once to one new switch (boot's children run in parallel) end on one member", async () => {
    try {
      // x and p on switch A's member 0, q on switch B's member 1; a topology edit puts p and q on a new LAN C.
      const switchC = await lab.startSwitch("swC");
      const shardsThere = () => Object.fromEntries(readPortRecords(otherRunDir).map((record) => [record.id, record.shard]));
      await addForwarderPort(otherRunDir, benitoBinary, { ...port("x", switchA), shard: 0 });
      await addForwarderPort(otherRunDir, benitoBinary, { ...port("p", switchA), shard: 0 });
      await addForwarderPort(otherRunDir, benitoBinary, { ...port("q", switchB), shard: 1 });
      expect(shardsThere()).toEqual({ x: 0, p: 0, q: 1 });
      await Promise.all([addForwarderPort(otherRunDir, benitoBinary, port("p", switchC)), addForwarderPort(otherRunDir, benitoBinary, port("q", switchC))]);
      const after = shardsThere();
      expect(after.p).toBe(after.q);
      const open = Object.fromEntries(((await forwarderPorts(otherRunDir, benitoBinary)) ?? []).map((status) => [status.id, status.state]));
      expect(open).toEqual({ x: "open", p: "open", q: "open" });
    } finally {
      await stopForwarder(otherRunDir, benitoBinary);
    }
  }, 60_000);
});
