// Issue 12 item 4: with the default underlay_substrate = control_net, boot adds the TopDL underlay address to the underlay NIC (by MAC) when it lacks it — next to a DHCP address, or on the control bridge that took the NIC.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benitoBinary, run } from "../helpers/binary";
import { ip, NamespaceSet, ping, uniquePrefix } from "../helpers/netns";
import { pidfiles } from "../helpers/processes";
import { isRoot } from "../helpers/root";
import { topologyXml, type Pnode, type Vnode } from "./topology";

setDefaultTimeout(120_000);

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;

async function vxlanWorks(): Promise<boolean> {
  if (!isRoot) return false;
  const name = `${uniquePrefix()}-probe`;
  if ((await run(["ip", "netns", "add", name])).code !== 0) return false;
  try {
    return (await run(["ip", "-n", name, "link", "add", "vxprobe", "type", "vxlan", "id", "42", "dstport", "4789", "local", "192.0.2.1"])).code === 0;
  } finally {
    await run(["ip", "netns", "del", name]);
  }
}
const hasVxlan = await vxlanWorks();
if (isRoot && !hasVxlan) console.warn("SKIPPED: default-underlay tunnel tests: this kernel cannot create VXLAN links");

/** IPv4 addresses on a link, as "a.b.c.d/len", sorted. */
async function addressesOf(namespace: string, link: string): Promise<string[]> {
  const parsed = JSON.parse(await ip("-n", namespace, "-j", "-4", "addr", "show", "dev", link)) as { addr_info: { local: string; prefixlen: number }[] }[];
  return (parsed[0]?.addr_info ?? []).map((entry) => `${entry.local}/${entry.prefixlen}`).sort();
}

describe.skipIf(!isRoot || !hasVde || !hasVxlan)("multi-pnode LAN with the default underlay (control_net) and no underlay addresses (root)", () => {
  const set = new NamespaceSet();
  const p = set.prefix;
  const dir = mkdtempSync(join(tmpdir(), `${p}-defu-`));
  const config = join(dir, "config");
  const pn = (n: number) => `${p}y${n}`;
  const namespaceOf = new Map<string, string>();
  const runDir = (n: number) => join(dir, `run${n}`);
  const pnodes: Pnode[] = [1, 2].map((n) => ({ name: pn(n), underlay: `172.30.0.${n}`, mac: `02:bd:00:00:00:0${n}` }));
  const vnodes: Vnode[] = [1, 2].map((n) => ({ name: `${p}v${n}`, host: pn(n), interfaces: [{ substrate: "lanA", address: `10.62.1.${n}`, mac: `02:bd:00:00:01:0${n}`, vdeSwitch: join(dir, "sw", `y${n}`, "lanA"), port: 1 }] }));
  const hostNs = (n: number) => namespaceOf.get(pn(n)) ?? "";
  const inPnode = (n: number, args: readonly string[]) => run(["nsenter", `--net=/run/netns/${hostNs(n)}`, benitoBinary, ...args], { timeoutMs: 90_000 });
  const stateArgs = (n: number) => ["--run-dir", runDir(n), "--log-file", join(dir, `boot${n}.log`), config, pn(n)];

  beforeAll(async () => {
    mkdirSync(config, { recursive: true });
    // The pnodes' TopDL interfaces sit on control_net; site.conf says nothing about the underlay.
    writeFileSync(join(config, "topo.xml"), topologyXml(pnodes, [{ name: "lanA" }], vnodes).replaceAll("<name>underlay</name>", "<name>control_net</name>").replaceAll("<substrate>underlay</substrate>", "<substrate>control_net</substrate>"));
    writeFileSync(join(config, "site.conf"), "[benito]\ncontrol_bridge = br-ctl\n");
    const wire = await set.add("w");
    await ip("-n", wire, "link", "add", "wbr", "mtu", "1550", "type", "bridge");
    await ip("-n", wire, "link", "set", "wbr", "up");
    for (const n of [1, 2]) {
      const ns = await set.add(`y${n}`);
      namespaceOf.set(pn(n), ns);
      await set.veth(ns, "ctl0", wire, `w${n}`);
      await ip("-n", ns, "link", "set", "ctl0", "address", `02:bd:00:00:00:0${n}`, "mtu", "1550");
      await ip("-n", wire, "link", "set", `w${n}`, "master", "wbr", "mtu", "1550", "up");
    }
    // y1: the control bridge took the NIC first (it carries the NIC's MAC), no address anywhere.
    await ip("-n", hostNs(1), "link", "add", "br-ctl", "mtu", "1550", "type", "bridge");
    await ip("-n", hostNs(1), "link", "set", "br-ctl", "address", "02:bd:00:00:00:01");
    await ip("-n", hostNs(1), "link", "set", "ctl0", "master", "br-ctl", "up");
    await ip("-n", hostNs(1), "link", "set", "br-ctl", "up");
    // y2: the plain NIC, with an address DHCP gave it (not the TopDL one).
    await ip("-n", hostNs(2), "addr", "add", "192.168.250.2/24", "dev", "ctl0");
    await ip("-n", hostNs(2), "link", "set", "ctl0", "up");
  });

  afterAll(async () => {
    for (const n of [1, 2]) if (hostNs(n) !== "") await inPnode(n, ["down", ...stateArgs(n)]);
    for (const n of [1, 2]) {
      for (const pidfile of pidfiles(runDir(n))) {
        const pid = Number(readFileSync(pidfile, "utf8").trim());
        if (pid > 1) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // Already gone.
          }
        }
      }
    }
    for (const node of vnodes) await run(["ip", "netns", "del", `bn-${node.name}`]);
    await set.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("both pnodes boot; the underlay address is added beside DHCP's, or on the bridge that holds the NIC; the vnodes ping across", async () => {
    for (const n of [1, 2]) {
      const result = await inPnode(n, ["boot", ...stateArgs(n)]);
      expect(`${result.stdout}${result.stderr}`).not.toContain("internal error");
      expect({ n, code: result.code, out: result.code === 0 ? "" : `${result.stdout}${result.stderr}` }).toEqual({ n, code: 0, out: "" });
    }
    expect(await addressesOf(hostNs(1), "br-ctl")).toEqual(["172.30.0.1/24"]);
    expect(await addressesOf(hostNs(1), "ctl0")).toEqual([]);
    expect(await addressesOf(hostNs(2), "ctl0")).toEqual(["172.30.0.2/24", "192.168.250.2/24"]);
    expect((await ping(`bn-${p}v1`, "10.62.1.2")).ok).toBe(true);
    expect((await ping(`bn-${p}v2`, "10.62.1.1")).ok).toBe(true);
  });

  test("a control bridge that takes the NIC after the tunnels (a fresh boot's order) keeps them working", async () => {
    const ns = hostNs(2);
    const move = async (from: string, to: string) => {
      for (const address of await addressesOf(ns, from)) {
        await ip("-n", ns, "addr", "del", address, "dev", from);
        await ip("-n", ns, "addr", "add", address, "dev", to);
      }
    };
    // What control-bridge up does to the NIC: a bridge with its MAC takes it, and its addresses.
    await ip("-n", ns, "link", "add", "br-late", "mtu", "1550", "type", "bridge");
    await ip("-n", ns, "link", "set", "br-late", "address", "02:bd:00:00:00:02");
    await ip("-n", ns, "link", "set", "ctl0", "master", "br-late");
    await ip("-n", ns, "link", "set", "br-late", "up");
    await move("ctl0", "br-late");
    try {
      expect((await ping(`bn-${p}v2`, "10.62.1.1")).ok).toBe(true);
      expect((await ping(`bn-${p}v1`, "10.62.1.2")).ok).toBe(true);
    } finally {
      await move("br-late", "ctl0");
      await ip("-n", ns, "link", "set", "ctl0", "nomaster");
      await ip("-n", ns, "link", "del", "br-late");
    }
  });

  test("boot again changes nothing; down removes only the address benito added", async () => {
    for (const n of [1, 2]) expect((await inPnode(n, ["boot", ...stateArgs(n)])).code).toBe(0);
    expect(await addressesOf(hostNs(2), "ctl0")).toEqual(["172.30.0.2/24", "192.168.250.2/24"]);
    for (const n of [1, 2]) expect((await inPnode(n, ["down", ...stateArgs(n)])).code).toBe(0);
    expect(await addressesOf(hostNs(1), "br-ctl")).toEqual([]);
    expect(await addressesOf(hostNs(2), "ctl0")).toEqual(["192.168.250.2/24"]);
  });

  test("the underlay address changed in topo.xml under a running experiment: boot puts the new one in place of the one it added; down removes every one it added", async () => {
    for (const n of [1, 2]) expect((await inPnode(n, ["boot", ...stateArgs(n)])).code).toBe(0);
    expect(await addressesOf(hostNs(2), "ctl0")).toEqual(["172.30.0.2/24", "192.168.250.2/24"]);
    const moved = pnodes.map((pnode) => (pnode.name === pn(2) ? { ...pnode, underlay: "172.30.0.12" } : pnode));
    writeFileSync(join(config, "topo.xml"), topologyXml(moved, [{ name: "lanA" }], vnodes).replaceAll("<name>underlay</name>", "<name>control_net</name>").replaceAll("<substrate>underlay</substrate>", "<substrate>control_net</substrate>"));
    for (const n of [1, 2]) {
      const result = await inPnode(n, ["boot", ...stateArgs(n)]);
      expect({ n, code: result.code, out: result.code === 0 ? "" : `${result.stdout}${result.stderr}` }).toEqual({ n, code: 0, out: "" });
    }
    expect(await addressesOf(hostNs(2), "ctl0")).toEqual(["172.30.0.12/24", "192.168.250.2/24"]);
    expect((await ping(`bn-${p}v2`, "10.62.1.1")).ok).toBe(true);
    for (const n of [1, 2]) expect((await inPnode(n, ["down", ...stateArgs(n)])).code).toBe(0);
    expect(await addressesOf(hostNs(1), "br-ctl")).toEqual([]);
    expect(await addressesOf(hostNs(2), "ctl0")).toEqual(["192.168.250.2/24"]);
  });

  test("an underlay address benito added, since moved by the operator to another link: neither boot's stale cleanup nor down removes it there", async () => {
    const ns = hostNs(2);
    const moveTo = async (address: string) => {
      await ip("-n", ns, "addr", "del", address, "dev", "ctl0");
      await ip("-n", ns, "addr", "add", address, "dev", "op0");
    };
    // The topology of the test before names 172.30.0.12 for y2.
    for (const n of [1, 2]) expect((await inPnode(n, ["boot", ...stateArgs(n)])).code).toBe(0);
    await ip("-n", ns, "link", "add", "op0", "type", "veth", "peer", "name", "op1");
    try {
      await moveTo("172.30.0.12/24");
      // The address back to .2 in topo.xml: the recorded .12 is stale, but the operator's now.
      writeFileSync(join(config, "topo.xml"), topologyXml(pnodes, [{ name: "lanA" }], vnodes).replaceAll("<name>underlay</name>", "<name>control_net</name>").replaceAll("<substrate>underlay</substrate>", "<substrate>control_net</substrate>"));
      const result = await inPnode(2, ["boot", ...stateArgs(2)]);
      expect({ code: result.code, out: result.code === 0 ? "" : `${result.stdout}${result.stderr}` }).toEqual({ code: 0, out: "" });
      expect(await addressesOf(ns, "op0")).toEqual(["172.30.0.12/24"]);
      expect(await addressesOf(ns, "ctl0")).toEqual(["172.30.0.2/24", "192.168.250.2/24"]);
      await moveTo("172.30.0.2/24");
      for (const n of [1, 2]) expect((await inPnode(n, ["down", ...stateArgs(n)])).code).toBe(0);
      expect(await addressesOf(ns, "op0")).toEqual(["172.30.0.12/24", "172.30.0.2/24"]);
      expect(await addressesOf(ns, "ctl0")).toEqual(["192.168.250.2/24"]);
    } finally {
      await ip("-n", ns, "link", "del", "op0");
    }
  });
});
