// Three pnodes (namespaces on an underlay bridge) each boot their switches and two process vnodes; VXLAN joins the LANs across them.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benitoBinary, run } from "../helpers/binary";
import { ip, NamespaceSet, ping, uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { topologyXml, type Pnode, type Vnode } from "./topology";
import { alive, pidfiles } from "../helpers/processes";
import { kernelBridgeName } from "../../src/plan/datapath-plan";

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;

/** Whether this kernel makes VXLAN links (probed in a throwaway namespace; the module may be missing). */
async function vxlanWorks(): Promise<boolean> {
  if (!isRoot) return false;
  const name = `${uniquePrefix()}-probe`;
  const added = await run(["ip", "netns", "add", name]);
  if (added.code !== 0) return false;
  try {
    return (await run(["ip", "-n", name, "link", "add", "vxprobe", "type", "vxlan", "id", "42", "dstport", "4789", "local", "192.0.2.1"])).code === 0;
  } finally {
    await run(["ip", "netns", "del", name]);
  }
}

const hasVxlan = await vxlanWorks();
// Three pnodes boot real switches, tunnels and vnodes: each test waits on them (every wait inside is bounded).
setDefaultTimeout(120_000);
if (isRoot && !hasVxlan) console.warn("multi-pnode tunnel tests skipped: this kernel cannot create VXLAN links (no vxlan module)");



/**
 * The suite, once per datapath. With `kernel` (site.conf datapath = kernel) lanA and pair are
 * kernel LANs — each pnode's VXLAN link is a port of the LAN's bridge, no TAP or plug — and
 * lanB (40 ms) stays on VDE + wirefilter (no netem = yes): both kinds of tunnel side by side.
 */
function multiPnode(datapath: "vde" | "kernel"): void {
describe.skipIf(!isRoot || !hasVde || !hasVxlan)(`LANs across three pnodes over VXLAN, datapath = ${datapath} (root, namespaces, real vde_switch)`, () => {
  const kernel = datapath === "kernel";
  /** The site.conf lines this datapath adds (kernel: a tunnel_mtu below 1500, so the bridge taking it shows). */
  const siteExtra = kernel ? "datapath = kernel\n" : "";
  const set = new NamespaceSet();
  const p = set.prefix;
  const dir = mkdtempSync(join(tmpdir(), `${p}-tun-`));
  const config = join(dir, "config");
  const pn = (n: number) => `${p}x${n}`;
  const namespaceOf = new Map<string, string>();
  const runDir = (n: number) => join(dir, `run${n}`);
  const sw = (n: number, lan: string) => join(dir, "sw", `x${n}`, lan);
  const pnodes: Pnode[] = [1, 2, 3].map((n) => ({ name: pn(n), underlay: `172.31.0.${n}`, mac: `02:bb:00:00:00:0${n}` }));
  const nic = (substrate: string, address: string, mac: string, n: number, port: number) => ({ substrate, address, mac, vdeSwitch: sw(n, substrate), port });
  // lanA (plain) and lanB (40 ms, shaped) span all three pnodes; pair spans x1 and x3; r routes between lanA and lanB.
  const vnodes: Vnode[] = [
    { name: `${p}r`, host: pn(1), interfaces: [nic("lanA", "10.61.1.254", "02:bc:00:00:01:fe", 1, 2), nic("lanB", "10.61.2.254", "02:bc:00:00:02:fe", 1, 1)] },
    { name: `${p}a1`, host: pn(1), interfaces: [nic("lanA", "10.61.1.1", "02:bc:00:00:01:01", 1, 1), nic("pair", "10.61.3.1", "02:bc:00:00:03:01", 1, 1)] },
    { name: `${p}a2`, host: pn(2), interfaces: [nic("lanA", "10.61.1.2", "02:bc:00:00:01:02", 2, 1)] },
    { name: `${p}b2`, host: pn(2), interfaces: [nic("lanB", "10.61.2.2", "02:bc:00:00:02:02", 2, 1)] },
    { name: `${p}a3`, host: pn(3), interfaces: [nic("lanA", "10.61.1.3", "02:bc:00:00:01:03", 3, 1), nic("pair", "10.61.3.3", "02:bc:00:00:03:03", 3, 1)] },
    { name: `${p}b3`, host: pn(3), interfaces: [nic("lanB", "10.61.2.3", "02:bc:00:00:02:03", 3, 1)] },
  ];
  const lans = [{ name: "lanA" }, { name: "lanB", latencyMs: 40 }, { name: "pair" }];
  const addresses = new Map(vnodes.map((node) => [node.name, node.interfaces.map((iface) => iface.address)]));
  const vnodeNamespace = (name: string) => `bn-${name}`;
  const hostNs = (n: number) => namespaceOf.get(pn(n)) ?? "";
  // Only the network namespace changes (nsenter --net, not `ip netns exec`, which gives the command
  // a private mount namespace): the vnodes' namespaces a pnode's boot names under /run/netns must
  // be visible to the test and to the other commands, as they are on a real pnode.
  const inPnode = (n: number, args: readonly string[], timeoutMs = 90_000) => run(["nsenter", `--net=/run/netns/${hostNs(n)}`, benitoBinary, ...args], { timeoutMs });
  const boot = (n: number) => inPnode(n, ["boot", "--run-dir", runDir(n), "--log-file", join(dir, `boot${n}.log`), config, pn(n)]);

  beforeAll(async () => {
    mkdirSync(join(config, "route"), { recursive: true });
    writeFileSync(join(config, "topo.xml"), topologyXml(pnodes, lans, vnodes));
    writeFileSync(join(config, "site.conf"), `[benito]\nunderlay_substrate = underlay\n${siteExtra}${kernel ? "tunnel_mtu = 1450\n" : ""}`);
    for (const name of [`${p}a1`, `${p}a2`, `${p}a3`]) writeFileSync(join(config, "route", name), "10.61.2.0/24 via 10.61.1.254\n");
    for (const name of [`${p}b2`, `${p}b3`]) writeFileSync(join(config, "route", name), "10.61.1.0/24 via 10.61.2.254\n");
    // The underlay: a bridge inside its own namespace, a veth to each pnode, MTU 1550 (VXLAN's 50 bytes over 1500).
    const underlay = await set.add("u");
    await ip("-n", underlay, "link", "add", "ubr", "mtu", "1550", "type", "bridge");
    await ip("-n", underlay, "link", "set", "ubr", "up");
    for (const n of [1, 2, 3]) {
      const ns = await set.add(`x${n}`);
      namespaceOf.set(pn(n), ns);
      await set.veth(ns, "under0", underlay, `u${n}`);
      await ip("-n", ns, "link", "set", "under0", "address", `02:bb:00:00:00:0${n}`, "mtu", "1550");
      await ip("-n", underlay, "link", "set", `u${n}`, "master", "ubr", "mtu", "1550", "up");
    }
  });

  afterAll(async () => {
    for (const n of [1, 2, 3]) if (hostNs(n) !== "") await inPnode(n, ["down", "--run-dir", runDir(n), "--log-file", join(dir, `boot${n}.log`), config, pn(n)], 60_000);
    for (const n of [1, 2, 3]) {
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
    for (const node of vnodes) await run(["ip", "netns", "del", vnodeNamespace(node.name)]);
    await set.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("each pnode boots: its switches, its tunnels and its two vnodes", async () => {
    for (const n of [1, 2, 3]) {
      const result = await boot(n);
      expect(`${result.stdout}${result.stderr}`).not.toContain("internal error");
      expect({ n, code: result.code, err: result.code === 0 ? "" : readFileSync(join(runDir(n), "status.json"), "utf8") }).toEqual({ n, code: 0, err: "" });
    }
    const status = JSON.parse((await inPnode(1, ["switch", "status", "--json", "--run-dir", runDir(1)])).stdout) as { role: string; substrate?: string; alive: boolean }[];
    const tunnels = status.filter((entry) => entry.role === "tunnel");
    expect(tunnels.map((entry) => entry.substrate).sort()).toEqual(["lanA", "lanB", "pair"]);
    expect(tunnels.every((entry) => entry.alive)).toBe(true);
  });

  test("head-end replication: each VXLAN link floods to the other pnodes of its LAN", async () => {
    const links = JSON.parse((await run(["ip", "-n", hostNs(1), "-j", "-d", "link", "show", "type", "vxlan"])).stdout) as { ifname: string; ifalias?: string; mtu: number }[];
    expect(links.length).toBe(3);
    for (const link of links) expect(link.ifalias?.startsWith("benito tunnel")).toBe(true);
    const lanA = links.find((link) => link.ifalias === "benito tunnel lanA");
    const fdb = (await run(["ip", "netns", "exec", hostNs(1), "bridge", "fdb", "show", "dev", lanA?.ifname ?? "none"])).stdout;
    expect(fdb).toContain("00:00:00:00:00:00 dst 172.31.0.2");
    expect(fdb).toContain("00:00:00:00:00:00 dst 172.31.0.3");
  });

  if (kernel) test("kernel LANs: the VXLAN link is a port of the LAN's bridge (no TAP, bridge or plug of its own), and the bridge takes tunnel_mtu", async () => {
    type Link = { ifname: string; ifalias?: string; master?: string; mtu: number; flags: string[] };
    const links = JSON.parse((await run(["ip", "-n", hostNs(1), "-j", "link", "show"])).stdout) as Link[];
    const vxlan = (lan: string) => links.find((link) => link.ifalias === `benito tunnel ${lan}`);
    for (const lan of ["lanA", "pair"]) {
      const bridge = links.find((link) => link.ifname === kernelBridgeName(lan, runDir(1)));
      expect({ lan, master: vxlan(lan)?.master, up: vxlan(lan)?.flags.includes("UP"), bridgeMtu: bridge?.mtu }).toEqual({ lan, master: bridge?.ifname, up: true, bridgeMtu: 1450 });
    }
    // Only lanB (delayed, on VDE) has the VDE tunnel's bridge and TAP; every tunnel link is marked.
    const tunnelLinks = links.filter((link) => link.ifalias?.startsWith("benito tunnel") === true).map((link) => link.ifalias ?? "").sort();
    expect(tunnelLinks).toEqual(["benito tunnel lanA", "benito tunnel lanB", "benito tunnel lanB", "benito tunnel lanB", "benito tunnel pair"]);
    expect(pidfiles(join(runDir(1), "tunnel")).length).toBe(1);
    const status = await inPnode(1, ["switch", "status", "--run-dir", runDir(1)]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`a port of the LAN's bridge ${kernelBridgeName("lanA", runDir(1))}`);
  });

  test("every vnode pings every other vnode's addresses, across pnodes and through the router", async () => {
    const failures: string[] = [];
    for (const source of vnodes) {
      for (const target of vnodes) {
        if (source === target) continue;
        for (const address of addresses.get(target.name) ?? []) {
          // pair is a LAN of a1 and a3 only: nobody routes to it.
          if (address.startsWith("10.61.3.") && !source.interfaces.some((iface) => iface.substrate === "pair")) continue;
          if (!(await ping(vnodeNamespace(source.name), address)).ok) failures.push(`${source.name} -> ${target.name} ${address}`);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  test("the shaped LAN is shaped once per path across pnodes (40 ms each way: RTT about 80 ms, not 160)", async () => {
    const across = await ping(vnodeNamespace(`${p}b2`), "10.61.2.3", 5);
    const routed = await ping(vnodeNamespace(`${p}a2`), "10.61.2.3", 5);
    const plain = await ping(vnodeNamespace(`${p}a2`), "10.61.1.3", 5);
    // The smallest RTT (the ping helper): wirefilter's timers round a little under 2 × 40 ms.
    expect(across.rtt).toBeGreaterThanOrEqual(79);
    expect(across.rtt).toBeLessThan(140);
    expect(routed.rtt).toBeGreaterThanOrEqual(79);
    expect(routed.rtt).toBeLessThan(140);
    expect(plain.rtt).toBeLessThan(40);
  }, 30_000);

  test("switch up again keeps every switch and tunnel", async () => {
    const result = await inPnode(2, ["switch", "up", "--json", "--run-dir", runDir(2), config, pn(2)]);
    expect(result.code).toBe(0);
    const outcomes = JSON.parse(result.stdout) as { action: string; ok: boolean }[];
    expect(outcomes.every((outcome) => outcome.ok && outcome.action === "keep")).toBe(true);
  });

  test("a VXLAN link deleted behind benito's back: one DRIFT line, status exit 1; boot rebuilds that tunnel and keeps the others' plugs", async () => {
    const links = JSON.parse((await run(["ip", "-n", hostNs(1), "-j", "link", "show", "type", "vxlan"])).stdout) as { ifname: string; ifalias?: string }[];
    const lanA = links.find((link) => link.ifalias === "benito tunnel lanA")?.ifname ?? "none";
    const plugs = () => pidfiles(runDir(1)).filter((file) => file.includes("tunnel")).map((file) => `${file}=${readFileSync(file, "utf8").trim()}`);
    const before = plugs();
    expect((await run(["ip", "-n", hostNs(1), "link", "del", lanA])).code).toBe(0);
    const status = await inPnode(1, ["status", "--run-dir", runDir(1), config, pn(1)]);
    expect(status.code).toBe(1);
    const drift = status.stdout.split("\n").filter((line) => line.startsWith("DRIFT"));
    expect(drift.length).toBe(1);
    expect(drift[0]).toContain(`${lanA} (missing)`);
    expect((await boot(1)).code).toBe(0);
    expect((await inPnode(1, ["status", "--run-dir", runDir(1), config, pn(1)])).code).toBe(0);
    // Only the lanA tunnel's plug was restarted (a kernel LAN's tunnel has none: no plug changed).
    expect(plugs().filter((entry) => !before.includes(entry)).length).toBe(kernel ? 0 : 1);
    if (kernel) expect((await run(["ip", "-n", hostNs(1), "-j", "link", "show", "dev", lanA])).stdout).toContain(`"master":"${kernelBridgeName("lanA", runDir(1))}"`);
    expect((await ping(vnodeNamespace(`${p}a1`), "10.61.1.2")).ok).toBe(true);
  });

  test("a flood entry deleted and a foreign one added behind benito's back: one DRIFT line each; boot puts back exactly them, every process and link kept", async () => {
    const links = JSON.parse((await run(["ip", "-n", hostNs(1), "-j", "link", "show", "type", "vxlan"])).stdout) as { ifname: string; ifindex: number; ifalias?: string }[];
    const lanA = links.find((link) => link.ifalias === "benito tunnel lanA");
    const name = lanA?.ifname ?? "none";
    const fdb = async () => (await run(["ip", "netns", "exec", hostNs(1), "bridge", "fdb", "show", "dev", name])).stdout.split("\n").filter((line) => line.startsWith("00:00:00:00:00:00")).sort();
    const flood = await fdb();
    const pids = () => pidfiles(runDir(1)).map((file) => `${file}=${readFileSync(file, "utf8").trim()}`).sort();
    const before = pids();
    expect((await run(["ip", "netns", "exec", hostNs(1), "bridge", "fdb", "del", "00:00:00:00:00:00", "dev", name, "dst", "172.31.0.2"])).code).toBe(0);
    expect((await run(["ip", "netns", "exec", hostNs(1), "bridge", "fdb", "append", "00:00:00:00:00:00", "dev", name, "dst", "172.31.0.99"])).code).toBe(0);
    const status = await inPnode(1, ["status", "--run-dir", runDir(1), config, pn(1)]);
    expect(status.code).toBe(1);
    const drift = status.stdout.split("\n").filter((line) => line.startsWith("DRIFT"));
    expect(drift.length).toBe(2);
    expect(drift[0]).toContain(`${name}: forwarding entry 00:00:00:00:00:00 dst 172.31.0.2 missing`);
    expect(drift[1]).toContain(`${name}: forwarding entry 00:00:00:00:00:00 dst 172.31.0.99 not recorded`);
    expect((await inPnode(1, ["switch", "status", "--run-dir", runDir(1)])).code).toBe(1);
    expect((await boot(1)).code).toBe(0);
    expect((await inPnode(1, ["status", "--run-dir", runDir(1), config, pn(1)])).code).toBe(0);
    expect(await fdb()).toEqual(flood);
    expect(pids()).toEqual(before);
    const after = JSON.parse((await run(["ip", "-n", hostNs(1), "-j", "link", "show", "dev", name])).stdout) as { ifindex: number }[];
    expect(after[0]?.ifindex).toBe(lanA?.ifindex ?? -1);
    expect((await ping(vnodeNamespace(`${p}a1`), "10.61.1.2")).ok).toBe(true);
  });

  test("switch up killed between making a tunnel's VXLAN link and marking it: the next boot takes that link as benito's (its intent names it) and converges", async () => {
    const ledger = join(runDir(1), "ledger");
    const records = readdirSync(ledger).filter((file) => file.startsWith("tunnel.")).map((file) => JSON.parse(readFileSync(join(ledger, file), "utf8")) as { id: string; data: { substrate: string; vxlan?: string } });
    const record = records.find((entry) => entry.data.substrate === "lanA");
    const name = record?.data.vxlan ?? "none";
    // Gone behind benito's back, so switch up rebuilds that tunnel, and dies right after making the VXLAN link.
    expect((await run(["ip", "-n", hostNs(1), "link", "del", name])).code).toBe(0);
    const crashed = await run(["nsenter", `--net=/run/netns/${hostNs(1)}`, benitoBinary, "switch", "up", "--run-dir", runDir(1), config, pn(1)], { env: { BENITO_FAILPOINT: `tunnel:${record?.id}:link:${name}` }, timeoutMs: 90_000 });
    expect(crashed.code).not.toBe(0);
    const unmarked = JSON.parse((await run(["ip", "-n", hostNs(1), "-j", "link", "show", "dev", name])).stdout) as { ifalias?: string }[];
    expect(unmarked.length === 1 && unmarked[0]?.ifalias === undefined).toBe(true);
    const again = await boot(1);
    expect({ code: again.code, err: again.code === 0 ? "" : again.stdout + again.stderr }).toEqual({ code: 0, err: "" });
    expect((await inPnode(1, ["status", "--run-dir", runDir(1), config, pn(1)])).code).toBe(0);
    const marked = JSON.parse((await run(["ip", "-n", hostNs(1), "-j", "link", "show", "dev", name])).stdout) as { ifalias?: string }[];
    expect(marked[0]?.ifalias).toBe("benito tunnel lanA");
    expect((await ping(vnodeNamespace(`${p}a1`), "10.61.1.2")).ok).toBe(true);
  });

  test("switch up killed at every failpoint of a tunnel's rebuild: the next switch up converges (links marked, plug running, switch status clean)", async () => {
    const ledger = join(runDir(1), "ledger");
    const records = readdirSync(ledger).filter((file) => file.startsWith("tunnel.")).map((file) => JSON.parse(readFileSync(join(ledger, file), "utf8")) as { id: string; data: { substrate: string; vxlan?: string } });
    const record = records.find((entry) => entry.data.substrate === "lanA");
    const name = record?.data.vxlan ?? "none";
    const switchUp = (env: Record<string, string>) => run(["nsenter", `--net=/run/netns/${hostNs(1)}`, benitoBinary, "switch", "up", "--run-dir", runDir(1), config, pn(1)], { env, timeoutMs: 90_000 });
    // The VXLAN link deleted behind benito's back makes switch up rebuild that tunnel: its failpoints, traced.
    const trace = join(dir, `tunnel-failpoints-${datapath}`);
    expect((await run(["ip", "-n", hostNs(1), "link", "del", name])).code).toBe(0);
    expect((await switchUp({ BENITO_FAILPOINT_TRACE: trace })).code).toBe(0);
    const points = [...new Set(readFileSync(trace, "utf8").split("\n").filter((line) => line.startsWith(`tunnel:${record?.id}:`)))];
    expect(points).toContain(`tunnel:${record?.id}:link:${name}`);
    const failures: string[] = [];
    for (const point of points) {
      await run(["ip", "-n", hostNs(1), "link", "del", name]);
      if ((await switchUp({ BENITO_FAILPOINT: point })).code === 0) failures.push(`${point}: switch up was not killed there`);
      const again = await switchUp({});
      const status = await inPnode(1, ["switch", "status", "--run-dir", runDir(1)]);
      if (again.code !== 0 || status.code !== 0) failures.push(`${point}: switch up after the crash exited ${again.code}, switch status ${status.code}: ${[...again.stdout.split("\n"), ...status.stdout.split("\n")].filter((line) => line.includes("FAILED") || line.includes("DRIFT")).join(" / ")}`);
    }
    expect(failures).toEqual([]);
    expect((await inPnode(1, ["status", "--run-dir", runDir(1), config, pn(1)])).code).toBe(0);
    expect((await ping(vnodeNamespace(`${p}a1`), "10.61.1.2")).ok).toBe(true);
  });

  test("a pnode removed from the config: switch up on the others removes its tunnel endpoints and the tunnels it alone shared", async () => {
    const kept = vnodes.filter((node) => node.host !== pn(3));
    // x3 goes away first (with the config it was booted from), then the config forgets it.
    const downed = await inPnode(3, ["down", "--run-dir", runDir(3), "--log-file", join(dir, "boot3.log"), config, pn(3)], 60_000);
    expect({ code: downed.code, out: downed.code === 0 ? "" : `${downed.stdout}${downed.stderr}` }).toEqual({ code: 0, out: "" });
    expect((await run(["ip", "-n", hostNs(3), "link", "show", "type", "vxlan"])).stdout).toBe("");
    writeFileSync(join(config, "topo.xml"), topologyXml(pnodes.slice(0, 2), lans, kept));
    for (const n of [1, 2]) {
      const result = await inPnode(n, ["switch", "up", "--run-dir", runDir(n), config, pn(n)]);
      expect({ n, code: result.code, out: result.code === 0 ? "" : result.stdout }).toEqual({ n, code: 0, out: "" });
    }
    const links = JSON.parse((await run(["ip", "-n", hostNs(1), "-j", "link", "show", "type", "vxlan"])).stdout) as { ifname: string; ifalias?: string }[];
    expect(links.map((link) => link.ifalias).sort()).toEqual(["benito tunnel lanA", "benito tunnel lanB"]);
    for (const link of links) {
      const fdb = (await run(["ip", "netns", "exec", hostNs(1), "bridge", "fdb", "show", "dev", link.ifname])).stdout;
      expect(fdb).toContain("dst 172.31.0.2");
      expect(fdb).not.toContain("dst 172.31.0.3");
    }
    expect((await ping(vnodeNamespace(`${p}a2`), "10.61.1.1")).ok).toBe(true);
    expect((await ping(vnodeNamespace(`${p}b2`), "10.61.1.1")).ok).toBe(true);
  }, 120_000);

  test("with tunnel_group the tunnels are rebuilt to flood through a multicast group instead", async () => {
    writeFileSync(join(config, "site.conf"), `[benito]\nunderlay_substrate = underlay\ntunnel_group = 239.1.1.1\n${siteExtra}`);
    for (const n of [1, 2]) {
      const result = await inPnode(n, ["switch", "up", "--json", "--run-dir", runDir(n), config, pn(n)]);
      expect(result.code).toBe(0);
      const rebuilt = (JSON.parse(result.stdout) as { action: string; reason: string }[]).filter((outcome) => outcome.reason === "configuration changed");
      expect(rebuilt.length).toBe(2);
    }
    const links = JSON.parse((await run(["ip", "-n", hostNs(2), "-j", "-d", "link", "show", "type", "vxlan"])).stdout) as { linkinfo: { info_data: { group?: string } } }[];
    expect(links.map((link) => link.linkinfo.info_data.group)).toEqual(["239.1.1.1", "239.1.1.1"]);
    // The group's flood entry is the recorded one: no drift.
    expect((await inPnode(2, ["switch", "status", "--run-dir", runDir(2)])).code).toBe(0);
    expect((await ping(vnodeNamespace(`${p}a2`), "10.61.1.1", 2)).ok).toBe(true);
    expect((await ping(vnodeNamespace(`${p}b2`), "10.61.1.1", 2)).ok).toBe(true);
  }, 60_000);

  test("switch down removes every tunnel link and plug", async () => {
    const plugs = pidfiles(join(runDir(1), "tunnel")).map((file) => Number(readFileSync(file, "utf8").trim()));
    expect(plugs.length).toBe(kernel ? 1 : 2);
    expect((await inPnode(1, ["switch", "down", "--run-dir", runDir(1)])).code).toBe(0);
    expect((await run(["ip", "-n", hostNs(1), "link", "show", "type", "vxlan"])).stdout).toBe("");
    expect((await run(["ip", "-n", hostNs(1), "link", "show", "type", "bridge"])).stdout).toBe("");
    await Bun.sleep(100);
    expect(plugs.filter(alive)).toEqual([]);
    expect(existsSync(join(runDir(1), "tunnel"))).toBe(false);
  });

  test("an underlay too small for VXLAN's 50 bytes is refused, naming the fix, and nothing is left half-built", async () => {
    await ip("-n", hostNs(1), "link", "set", "under0", "mtu", "1500");
    const result = await inPnode(1, ["switch", "up", "--run-dir", runDir(1), config, pn(1)]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain("the underlay device under0 has MTU 1500; VXLAN needs 1550");
    expect(result.stdout).toContain("tunnel_mtu = 1450");
    expect((await run(["ip", "-n", hostNs(1), "-j", "link", "show"])).stdout).not.toContain("benito tunnel");
    expect((await inPnode(1, ["switch", "down", "--run-dir", runDir(1)])).code).toBe(0);
  });
});
}

multiPnode("vde");
multiPnode("kernel");
