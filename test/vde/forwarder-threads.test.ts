// No thread of the long-running forwarder (nor of a process opening things in namespaces) is ever left in a vnode's network namespace.
//
// A new thread inherits the network namespace of the thread that creates it. The forwarder's main
// thread enters a vnode's namespace to open its TAP; before the fix it ran JavaScript there, and
// the engine started its JITWorker thread from inside the first namespace it visited: the thread
// stayed there for the daemon's life, keeping that namespace (its loopback, whatever else) alive
// after `ip netns del`. Now only libc calls run while the thread is inside (src/system/netns-open.ts).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { benitoBinary } from "../helpers/binary";
import { ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { openNetSystem } from "../../src/apply/rtnl-system";
import { ensureNamespace, deleteNamespace } from "../../src/system/netns";
import { createTap, deleteTap, interfaceExists } from "../../src/system/tap";
import { addForwarderPort, removeForwarderPort } from "../../src/system/vde/forwarder-control";
import { forwarderPaths } from "../../src/system/vde/forwarder-records";
import { address, hasVde, Lab, pidIn, ping, tearDownForwarderLab } from "./fixtures";

/** Each thread of a process ("TID comm") whose network namespace is not `home`, with the namespace it is in. */
function threadsAway(pid: number, home: string): string[] {
  const away: string[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let namespace: string;
    let comm = "?";
    try {
      namespace = readlinkSync(`/proc/${pid}/task/${tid}/ns/net`);
      comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
    } catch {
      continue; // the thread ended meanwhile
    }
    if (namespace !== home) away.push(`${tid} ${comm}: ${namespace}`);
  }
  return away;
}

/** How /proc shows a named namespace's link ("net:[INODE]"), from its file under /run/netns. */
const shownAs = (namespace: string) => `net:[${statSync(`/run/netns/${namespace}`).ino}]`;

describe.skipIf(!isRoot || !hasVde)("the forwarder's threads stay in its own network namespace (root)", () => {
  const namespaces = new NamespaceSet();
  const lab = new Lab();
  const runDir = join(lab.dir, "run");
  const paths = forwarderPaths(runDir);
  /** This test's own namespace: where the forwarder it starts begins. */
  const home = readlinkSync("/proc/self/ns/net");
  let sw = "";
  const ns: string[] = [];
  const port = (index: number, id: string) => ({ version: 1 as const, kind: "forwarder-port" as const, id, netns: ns[index], tap: "vt0", switchDir: sw, port: 0, reconnect: true, shard: 0 });

  beforeAll(async () => {
    sw = await lab.startSwitch("sw");
    mkdirSync(runDir, { recursive: true });
    lab.track(paths.pidfile);
    for (const [index, suffix] of ["hold", "a", "b", "c"].entries()) {
      const namespace = await namespaces.add(suffix);
      ns.push(namespace);
      await ip("-n", namespace, "tuntap", "add", "vt0", "mode", "tap");
      // Down while ports churn: no frames, so the loop itself gives the engine nothing to compile,
      // and the first compile (and the JIT worker's birth) comes while a port is being opened.
      if (index > 1) await address(namespace, "vt0", `10.213.9.${index + 1}/24`);
    }
  }, 60_000);
  afterAll(() => tearDownForwarderLab(runDir, lab, namespaces), 60_000);

  test("ports added and removed in several namespaces leave every thread home, also after the namespaces are deleted", async () => {
    const visited = ns.map(shownAs);
    const away: string[] = [];
    let pid = 0;
    // Three forwarders one after the other: when the engine starts its first JIT worker depends
    // on timing, and each fresh process is another chance to see one born in a namespace (the
    // old code showed it in about four runs of five with one forwarder).
    for (let life = 0; life < 3; life += 1) {
      // One port held throughout (in its own namespace), so the same forwarder sees every add and remove.
      await addForwarderPort(runDir, benitoBinary, port(0, "hold"));
      pid = pidIn(paths.pidfile) ?? 0;
      expect(pid).toBeGreaterThan(0);
      expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(home);
      for (let cycle = 0; cycle < 4; cycle += 1) {
        for (const index of [1, 2, 3]) await addForwarderPort(runDir, benitoBinary, port(index, `p${index}`));
        for (const index of [1, 2, 3]) await removeForwarderPort(runDir, benitoBinary, `p${index}`);
        away.push(...threadsAway(pid, home).map((line) => `forwarder ${life}, cycle ${cycle}: ${line}`));
      }
      if (life < 2) await removeForwarderPort(runDir, benitoBinary, "hold");
    }
    expect(away).toEqual([]);
    // The TAPs opened are the namespaces' own (the tun file takes the namespace of its opener):
    // two up and addressed reach each other through the switch.
    for (const index of [2, 3]) await addForwarderPort(runDir, benitoBinary, port(index, `p${index}`));
    expect((await ping(ns[2]!, "10.213.9.4")).code).toBe(0);
    for (const index of [2, 3]) await removeForwarderPort(runDir, benitoBinary, `p${index}`);
    // The churned namespaces go (as `benito down` deletes a vnode's): no thread holds one.
    for (const namespace of ns.slice(1)) await ip("netns", "del", namespace);
    const left = threadsAway(pid, home);
    expect(left).toEqual([]);
    expect(left.filter((line) => visited.some((shown) => line.endsWith(shown)))).toEqual([]);
    await removeForwarderPort(runDir, benitoBinary, "hold");
  }, 90_000);
});

describe.skipIf(!isRoot)("opening things in namespaces in-process (boot --netns, tap create/delete, status) (root)", () => {
  const namespaces = new NamespaceSet();
  afterAll(async () => {
    await namespaces.cleanup();
  }, 30_000);

  test("netlink, sysctls, TAPs and namespace creation in many namespaces leave every thread of this process home", async () => {
    const home = readlinkSync("/proc/self/ns/net");
    const machineForwarding = readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    const tap = `${namespaces.prefix}t`;
    const made: string[] = [];
    try {
      for (let round = 0; round < 40; round += 1) {
        const namespace = `${namespaces.prefix}-r${round}`;
        made.push(namespace);
        ensureNamespace(namespace);
        createTap(tap, { netns: namespace });
        expect(interfaceExists(tap, namespace)).toBe(true);
        expect(interfaceExists(tap)).toBe(false);
        const net = openNetSystem(namespace);
        try {
          expect((await net.links()).map((link) => link.name).sort()).toEqual(["lo", tap].sort());
          // The TAP's sysctl folder exists only in its namespace: the file was opened there.
          expect(await net.promoteSecondaries(tap)).toEqual({ ok: true });
          expect((await net.enableForwarding?.())?.ok).toBe(true);
          expect(await net.forwarding?.()).toBe(true);
        } finally {
          net.close();
        }
        deleteTap(tap, namespace);
        expect(interfaceExists(tap, namespace)).toBe(false);
        deleteNamespace(namespace);
      }
      expect(threadsAway(process.pid, home)).toEqual([]);
      expect(readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(machineForwarding);
    } finally {
      for (const namespace of made) deleteNamespace(namespace);
    }
  }, 60_000);
});
