// `benito link` and `benito capture` on the kernel datapath (site.conf datapath = kernel): a LAN's capacity changed live with tc, what it refuses, reset; a whole LAN captured from its bridge.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benito, benitoBinary, run } from "../helpers/binary";
import { cleanLab } from "../helpers/lab-state";
import { makeLab, labNodes, type Lab } from "../helpers/lab";
import { inNamespace, ping, uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { kernelBridgeName, kernelIfbName, kernelPortName } from "../../src/plan/datapath-plan";
import { readUntil } from "../helpers/streams";

setDefaultTimeout(120_000);

const hasTools = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null && Bun.which("tc") !== null;

/** The tbf rate (kb/s) of a device's root qdisc. */
async function tbfKbps(device: string): Promise<number> {
  const qdiscs = JSON.parse((await run(["tc", "-j", "qdisc", "show", "dev", device])).stdout) as { kind: string; root?: boolean; options?: { rate?: number } }[];
  return (qdiscs.find((qdisc) => qdisc.root === true && qdisc.kind === "tbf")?.options?.rate ?? Number.NaN) / 125;
}

describe.skipIf(!isRoot || !hasTools)("link and capture on the kernel datapath (root)", () => {
  let lab: Lab;
  const where = () => ["--config", lab.config, "--run-dir", lab.runDir, "--host", "pnode0"];

  beforeAll(async () => {
    lab = makeLab(uniquePrefix());
    appendFileSync(join(lab.config, "site.conf"), "datapath = kernel\n");
    const topo = join(lab.config, "topo.xml");
    writeFileSync(topo, readFileSync(topo, "utf8").replace("<name>lan0</name>", "<name>lan0</name><capacity><rate>50000</rate><kind>max</kind></capacity>"));
    const boot = await benito(["boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 90_000 });
    if (boot.code !== 0) throw new Error(`boot failed: ${boot.stderr}`);
  });

  afterAll(async () => {
    // down, then whatever it could not stop by pidfile (never pid 0), then the namespaces by their exact names.
    await cleanLab(lab);
    // By exact derived name, in case down failed.
    const names = [...["lan0", "lan1"].map((lan) => kernelBridgeName(lan, lab.runDir)), ...labNodes.flatMap((node) => ["inf000", "inf001"].flatMap((iface) => [kernelPortName(lab.name(node), iface, lab.runDir), kernelIfbName(lab.name(node), iface, lab.runDir)]))];
    const listed = (await run(["ip", "-o", "link", "show"])).stdout;
    for (const name of names) if (listed.includes(` ${name}:`) || listed.includes(` ${name}@`)) await run(["ip", "link", "del", name]);
    rmSync(lab.dir, { recursive: true, force: true });
  });

  test("show: the rate-limited kernel LAN's members, shaped by tc, and the delayed LAN still by wirefilter", async () => {
    const result = await benito(["link", "show", "--json", ...where()]);
    expect(result.code).toBe(0);
    const entries = JSON.parse(result.stdout) as { lan: string; node: string; shaper: string; topology: { capacityKbps: number }; now: { capacityKbps: number } }[];
    expect(entries.filter((entry) => entry.lan === "lan0").map((entry) => [entry.node, entry.shaper, entry.topology.capacityKbps, entry.now.capacityKbps])).toEqual([
      [lab.name("a"), "kernel", 50000, 50000],
      [lab.name("b"), "kernel", 50000, 50000],
      [lab.name("r"), "kernel", 50000, 50000],
    ]);
    expect(entries.filter((entry) => entry.lan === "slow").map((entry) => entry.shaper)).toEqual(["wirefilter", "wirefilter"]);
  });

  test("set --capacity on one member changes its tbf both ways, live; latency is refused without netem and not recorded; reset restores", async () => {
    const host = kernelPortName(lab.name("a"), "inf000", lab.runDir);
    const ifb = kernelIfbName(lab.name("a"), "inf000", lab.runDir);
    const set = await benito(["link", "set", "lan0", lab.name("a"), "--capacity", "2000", ...where()]);
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`lan0 ${lab.name("a")}:inf000 (kernel): capacity 50000 → 2000 kb/s`);
    expect(await tbfKbps(host)).toBe(2000);
    expect(await tbfKbps(ifb)).toBe(2000);
    expect(await tbfKbps(kernelPortName(lab.name("b"), "inf000", lab.runDir))).toBe(50000);
    expect((await ping(lab.namespace("a"), "10.0.1.2", 3)).ok).toBe(true);
    const before = readFileSync(join(lab.runDir, "link-overrides.json"), "utf8");
    const latency = await benito(["link", "set", "lan0", "--latency", "10", ...where()]);
    expect(latency.code).toBe(1);
    expect(latency.stderr).toContain("only --capacity can change live");
    expect(readFileSync(join(lab.runDir, "link-overrides.json"), "utf8")).toBe(before);
    expect((await benito(["link", "reset", "lan0", ...where()])).code).toBe(0);
    expect(await tbfKbps(host)).toBe(50000);
    expect(await tbfKbps(ifb)).toBe(50000);
  });

  test("a vnode boot relaunches (its veth deleted behind benito's back) gets its override back", async () => {
    const host = kernelPortName(lab.name("a"), "inf000", lab.runDir);
    expect((await benito(["link", "set", "lan0", lab.name("a"), "--capacity", "3000", ...where()])).code).toBe(0);
    expect((await run(["ip", "link", "del", host])).code).toBe(0);
    const boot = await benito(["boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 90_000 });
    expect(boot.code).toBe(0);
    expect(readFileSync(join(lab.runDir, "status.json"), "utf8")).toContain("link override on lan0 restored: 3000 kb/s");
    expect(await tbfKbps(host)).toBe(3000);
    expect(await tbfKbps(kernelIfbName(lab.name("a"), "inf000", lab.runDir))).toBe(3000);
    expect((await ping(lab.namespace("a"), "10.0.1.2", 2)).ok).toBe(true);
    expect((await benito(["link", "reset", ...where()])).code).toBe(0);
    expect(await tbfKbps(host)).toBe(50000);
  });

  test("an unshaped kernel LAN says what to change in topo.xml", async () => {
    const result = await benito(["link", "set", "lan1", "--capacity", "1000", ...where()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("it is on the kernel datapath and not shaped in topo.xml");
  });

  test("capture LAN: the bridge's frames between members, promiscuous only while it runs; a VDE LAN is refused", async () => {
    const bridge = kernelBridgeName("lan1", lab.runDir);
    const capture = Bun.spawn([benitoBinary, "capture", ...where(), "lan1", "--duration", "20"], { stdout: "pipe", stderr: "pipe", timeout: 60_000, killSignal: "SIGKILL" });
    const { seen: said } = await readUntil(capture.stderr, "listening on");
    expect(said).toContain(`listening on ${bridge} (promiscuous while the capture runs)`);
    const promiscuity = async () => Number(/promiscuity (\d+)/.exec((await run(["ip", "-d", "link", "show", bridge])).stdout)?.[1] ?? Number.NaN);
    expect(await promiscuity()).toBe(1);
    await inNamespace(lab.namespace("c"), ["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", "10.0.2.2"]);
    capture.kill("SIGINT");
    const [printed, code] = await Promise.all([new Response(capture.stdout).text(), capture.exited]);
    expect(code).toBe(0);
    expect(printed).toMatch(/IPv4 10\.0\.2\.1 > 10\.0\.2\.2 ICMP echo request/);
    expect(printed).toMatch(/IPv4 10\.0\.2\.2 > 10\.0\.2\.1 ICMP echo reply/);
    expect(await promiscuity()).toBe(0);
    const vde = await benito(["capture", ...where(), "slow", "-c", "1"]);
    expect(vde.code).toBe(3);
    expect(vde.stderr).toContain("LAN slow is on the VDE datapath");
  });
});
