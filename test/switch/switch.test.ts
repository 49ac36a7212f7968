// `benito switch up|down|status` with real vde_switch/wirefilter: shaping measured by ping between namespaces.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benito } from "../helpers/binary";
import { ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { pidfiles, pidIn, signalPid } from "../helpers/processes";
import { alive, averageRtt, hasVde, Lab, lossPercent, ping } from "../vde/fixtures";

interface Member {
  readonly node: string;
  readonly substrate: string;
  readonly port: number;
  readonly address: string;
  readonly mac: string;
}

/** A small TopDL: pnode "pn" hosting process nodes, one interface each, switches under `switchRoot`. */
function topology(switchRoot: string, members: readonly Member[]): string {
  const substrate = (name: string, body: string) => `  <substrates><name>${name}</name>${body}</substrates>\n`;
  const computer = (member: Member) => `    <computer>
      <name>${member.node}</name>
      <interface>
        <substrate>${member.substrate}</substrate>
        <name>inf000</name>
        <attribute><attribute>ip4_address</attribute><value>${member.address}</value></attribute>
        <attribute><attribute>ip4_netmask</attribute><value>255.255.255.0</value></attribute>
        <attribute><attribute>benito:mac_address</attribute><value>${member.mac}</value></attribute>
        <attribute><attribute>benito:vde_switch</attribute><value>${join(switchRoot, member.substrate)}</value></attribute>
        <attribute><attribute>benito:vde_port</attribute><value>${member.port}</value></attribute>
      </interface>
      <attribute><attribute>benito:node_type</attribute><value>process</value></attribute>
      <attribute><attribute>benito:host</attribute><value>pn</value></attribute>
    </computer>
`;
  return `<?xml version="1.0"?>
<experiment>
  <version>2.0</version>
${substrate("flat", "")}${substrate("slow", "<latency><time>100</time><kind>max</kind></latency>")}${substrate("lossy", "<attribute><attribute>loss</attribute><value>0.5</value></attribute>")}  <elements>
    <computer>
      <name>pn</name>
      <attribute><attribute>benito:node_type</attribute><value>pnode</value></attribute>
    </computer>
${members.map(computer).join("")}  </elements>
</experiment>
`;
}

const members: Member[] = [
  { node: "a", substrate: "flat", port: 1, address: "10.213.10.1", mac: "02:00:0a:d5:0a:01" },
  { node: "b", substrate: "flat", port: 2, address: "10.213.10.2", mac: "02:00:0a:d5:0a:02" },
  { node: "c", substrate: "slow", port: 1, address: "10.213.11.1", mac: "02:00:0a:d5:0b:01" },
  { node: "d", substrate: "slow", port: 2, address: "10.213.11.2", mac: "02:00:0a:d5:0b:02" },
  { node: "e", substrate: "lossy", port: 1, address: "10.213.12.1", mac: "02:00:0a:d5:0c:01" },
  { node: "f", substrate: "lossy", port: 2, address: "10.213.12.2", mac: "02:00:0a:d5:0c:02" },
];

interface StatusEntry {
  readonly id: string;
  readonly role: string;
  readonly switch?: string;
  readonly pid?: number;
  readonly alive: boolean;
  readonly ports?: { readonly port: number; readonly endpoints: readonly string[] }[];
}

describe.skipIf(!isRoot || !hasVde)("benito switch with real vde_switch and wirefilter (root)", () => {
  const namespaces = new NamespaceSet();
  const lab = new Lab();
  const configDir = join(lab.dir, "config");
  const runDir = join(lab.dir, "run");
  const switchRoot = join(lab.dir, "sw");
  const ns = new Map<string, string>();
  const up = () => benito(["switch", "up", "--run-dir", runDir, configDir, "pn"], { timeoutMs: 60_000 });
  const status = async (): Promise<StatusEntry[]> => JSON.parse((await benito(["switch", "status", "--json", "--run-dir", runDir])).stdout) as StatusEntry[];

  beforeAll(async () => {
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, "topo.xml"), topology(switchRoot, members));
  }, 60_000);
  afterAll(async () => {
    // down while the run dir (and its records) still exist; then whatever it left, by pidfile;
    // only then the folder goes (removing it first once leaked every daemon of a failed run).
    await benito(["switch", "down", "--run-dir", runDir]);
    for (const pidfile of pidfiles(runDir)) {
      const pid = pidIn(pidfile);
      if (pid !== undefined && alive(pid)) signalPid(pid, "SIGKILL");
    }
    await lab.cleanup();
    await namespaces.cleanup();
  }, 60_000);

  test("up starts one switch per substrate, a core and a wirefilter per member of each shaped one", async () => {
    const result = await up();
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    // flat, lossy, lossy core, slow, slow core, and two wirefilters each for lossy and slow.
    expect(lines).toHaveLength(9);
    expect(lines.every((line) => line.startsWith("started "))).toBe(true);
    for (const substrate of ["flat", "slow", "lossy"]) expect(existsSync(join(switchRoot, substrate, "ctl"))).toBe(true);
  }, 60_000);

  test("up again is a no-op: everything kept", async () => {
    const before = await status();
    const result = await up();
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(9);
    expect(lines.every((line) => line.startsWith("kept "))).toBe(true);
    const after = await status();
    expect(after.map((entry) => entry.pid)).toEqual(before.map((entry) => entry.pid));
  }, 60_000);

  test("namespaces plugged into the switches reach each other; status lists the ports in use", async () => {
    for (const member of members) {
      const name = await namespaces.add(member.node);
      ns.set(member.node, name);
      await lab.plug(name, join(switchRoot, member.substrate), "t0", ["--port", String(member.port)]);
      await ip("-n", name, "link", "set", "t0", "address", member.mac);
      await ip("-n", name, "addr", "add", `${member.address}/24`, "dev", "t0");
      await ip("-n", name, "link", "set", "t0", "up");
    }
    // Static neighbours: ARP through a lossy link would otherwise muddle the loss figure.
    for (const member of members) {
      for (const peer of members.filter((other) => other.substrate === member.substrate && other !== member)) {
        await ip("-n", ns.get(member.node) ?? "", "neigh", "replace", peer.address, "lladdr", peer.mac, "dev", "t0", "nud", "permanent");
      }
    }
    const flat = await ping(ns.get("a") ?? "", "10.213.10.2");
    expect(flat.stdout).toContain(" 0% packet loss");
    const entries = await status();
    const flatSwitch = entries.find((entry) => entry.switch === join(switchRoot, "flat"));
    expect(flatSwitch?.alive).toBe(true);
    expect(flatSwitch?.ports?.map((port) => port.port).sort()).toEqual([1, 2]);
    expect(flatSwitch?.ports?.[0]?.endpoints[0]).toContain("benito vde plug");
  }, 60_000);

  test("an unshaped substrate adds no delay; a 100 ms latency substrate gives RTT >= 200 ms", async () => {
    const flat = await ping(ns.get("a") ?? "", "10.213.10.2", 5);
    expect(flat.code).toBe(0);
    expect(averageRtt(flat.stdout)).toBeLessThan(50);
    const slow = await ping(ns.get("c") ?? "", "10.213.11.2", 5);
    expect(slow.code).toBe(0);
    const min = Number(/= ([\d.]+)\//.exec(slow.stdout)?.[1]);
    // 2 × 100 ms; wirefilter's timer and ping's clock may each round a fraction of a millisecond
    // down (199.8 ms was seen), while an unshaped path is under 1 ms.
    expect(min).toBeGreaterThanOrEqual(198);
    expect(averageRtt(slow.stdout)).toBeLessThan(400);
  }, 60_000);

  test("loss 0.5 drops about half the frames each way (ping round trips: about 1 - 0.5^2 lost)", async () => {
    const result = await ping(ns.get("e") ?? "", "10.213.12.2", 100, "0.05");
    const roundTripLoss = lossPercent(result.stdout) / 100;
    // One-way loss p makes a round trip fail with 1-(1-p)^2; estimate p back from it.
    const oneWay = 1 - Math.sqrt(1 - roundTripLoss);
    expect(oneWay).toBeGreaterThan(0.3);
    expect(oneWay).toBeLessThan(0.7);
  }, 60_000);

  test("a killed switch is started again by up, with the wirefilters joined to it; the rest is kept", async () => {
    const slow = (await status()).find((entry) => entry.switch === join(switchRoot, "slow"));
    expect(slow?.alive).toBe(true);
    signalPid(slow?.pid ?? 0, "SIGKILL");
    // SIGKILL is delivered asynchronously: wait (bounded) until the process is really gone, or up may still see it alive.
    for (let waited = 0; waited < 5000 && alive(slow?.pid ?? 0); waited += 20) await Bun.sleep(20);
    const result = await up();
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    const slowLine = lines.find((line) => line.includes(`vde_switch ${join(switchRoot, "slow")} `));
    expect(slowLine).toMatch(/^started .* — dead \(pid \d+ is gone\)$/);
    // Its wirefilters are restarted (or started, should one have noticed the switch go and exited).
    const filters = lines.filter((line) => line.includes("wirefilter slow "));
    expect(filters).toHaveLength(2);
    expect(filters.every((line) => line.startsWith("restarted ") || line.startsWith("started "))).toBe(true);
    expect(lines.filter((line) => line.startsWith("kept "))).toHaveLength(6);
  }, 60_000);

  test("down stops every daemon and leaves no process or socket behind", async () => {
    const entries = await status();
    const pids = entries.map((entry) => entry.pid ?? 0);
    expect(pids.every((pid) => pid > 0 && alive(pid))).toBe(true);
    const result = await benito(["switch", "down", "--run-dir", runDir]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split("\n").every((line) => line.startsWith("stopped "))).toBe(true);
    expect(pids.filter((pid) => alive(pid))).toEqual([]);
    for (const substrate of ["flat", "slow", "lossy"]) expect(existsSync(join(switchRoot, substrate))).toBe(false);
    expect(existsSync(join(runDir, "vde"))).toBe(false);
    expect(readdirSync(runDir)).toEqual([]);
    expect(await status()).toEqual([]);
  }, 60_000);

  test("killed between making a switch folder and marking it, or between unmarking and removing it: the empty folder its record names is benito's, up and down converge", async () => {
    const flat = join(switchRoot, "flat");
    const killedUp = await benito(["switch", "up", "--run-dir", runDir, configDir, "pn"], { timeoutMs: 60_000, env: { BENITO_FAILPOINT: `switch-folder:${flat}:made` } });
    expect(killedUp.code).not.toBe(0);
    expect(readdirSync(flat)).toEqual([]);
    const again = await up();
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: "" });
    expect(readdirSync(flat)).toContain(".benito-switch");
    const killedDown = await benito(["switch", "down", "--run-dir", runDir], { timeoutMs: 60_000, env: { BENITO_FAILPOINT: `switch-folder:${flat}:unmarked` } });
    expect(killedDown.code).not.toBe(0);
    expect(readdirSync(flat)).toEqual([]);
    expect((await benito(["switch", "down", "--run-dir", runDir])).code).toBe(0);
    expect(existsSync(flat)).toBe(false);
    expect(readdirSync(runDir)).toEqual([]);
  }, 60_000);
});
