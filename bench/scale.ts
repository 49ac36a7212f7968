// `make bench-scale`: a 100-pnode, 2,000-vnode experiment planned for every pnode from one topo.xml (plan only), checked for agreement, timed and sized.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseSiteConf } from "../src/config/site-conf";
import { tunnelSettings } from "../src/config/tunnel-conf";
import { hostViewFromDocument } from "../src/model/host-view";
import { lanNodesFromDocument, switchedLans } from "../src/model/lan-nodes";
import { resolveHostView, resolveNodes } from "../src/model/resolve";
import { switchLayout } from "../src/plan/switch-plan";
import { experimentTunnels, tunnelLayout, type TunnelSpec } from "../src/plan/tunnel-plan";
import { parseTopology } from "../src/topdl/parse";
import { topologyXml, type Iface, type LanSpec, type Vnode } from "../test/tunnel/topology";
import { random } from "../test/helpers/random";

const pnodeCount = 100;
const vnodeCount = 2_000;
/** Each vnode has this many interfaces; each LAN has this many members: 1,000 LANs. */
const interfacesPerVnode = 2;
const membersPerLan = 4;
/** Every fifth LAN is shaped (20 ms): its tunnel plugs into a core switch. */
const shapedEvery = 5;
/** Pnodes whose plan is also computed by the compiled binary (`switch up --dry-run`), for wall time and peak RSS. */
const processSamples = Number(process.env.BENCH_SAMPLES ?? 10);
const targetMs = 100;
const targetMB = 100;


function hex(value: number): string {
  return value.toString(16).padStart(2, "0");
}

/**
 * The experiment: vnode i lives on pnode i mod 100; its interfaces join LANs drawn at random, four
 * members each, so most LANs span three or four pnodes. Every pnode names the same switch path
 * for a LAN, as a real embedding does (each pnode runs its own switch there).
 */
export function experiment(): string {
  const next = random(8);
  const lanCount = (vnodeCount * interfacesPerVnode) / membersPerLan;
  const slots: number[] = [];
  for (let lan = 0; lan < lanCount; lan += 1) for (let member = 0; member < membersPerLan; member += 1) slots.push(lan);
  for (let index = slots.length - 1; index > 0; index -= 1) {
    const other = Math.floor(next() * (index + 1));
    [slots[index], slots[other]] = [slots[other] as number, slots[index] as number];
  }
  const seen = new Map<number, number>();
  const lans: LanSpec[] = Array.from({ length: lanCount }, (_, lan) => ({ name: `lan${lan}`, ...(lan % shapedEvery === 0 && { latencyMs: 20 }) }));
  const pnodes = Array.from({ length: pnodeCount }, (_, n) => ({ name: `pnode${n}`, underlay: `10.250.${n >> 8}.${(n & 255) + 1}` }));
  const vnodes: Vnode[] = [];
  for (let v = 0; v < vnodeCount; v += 1) {
    const interfaces: Iface[] = [];
    for (let i = 0; i < interfacesPerVnode; i += 1) {
      const lan = slots[v * interfacesPerVnode + i] as number;
      const member = (seen.get(lan) ?? 0) + 1;
      seen.set(lan, member);
      interfaces.push({ substrate: `lan${lan}`, address: `10.${lan >> 8}.${lan & 255}.${member}`, mac: `02:${hex(v >> 8)}:${hex(v & 255)}:00:00:${hex(i)}`, vdeSwitch: `/run/benito/sw/lan${lan}`, port: member });
    }
    vnodes.push({ name: `vnode${v}`, host: `pnode${v % pnodeCount}`, type: "qemu", interfaces });
  }
  return topologyXml(pnodes, lans, vnodes);
}

/** Checks that every tunnel has its far ends: same VNI, each side flooding to the other's address. */
function disagreements(plans: ReadonlyMap<string, readonly TunnelSpec[]>): string[] {
  const problems: string[] = [];
  const specOf = new Map<string, TunnelSpec>();
  for (const [pnode, specs] of plans) for (const spec of specs) specOf.set(`${pnode}/${spec.substrate}`, spec);
  const vnis = new Map<number, string>();
  for (const [pnode, specs] of plans) {
    for (const spec of specs) {
      const owner = vnis.get(spec.vni);
      if (owner !== undefined && owner !== spec.substrate) problems.push(`VNI ${spec.vni} is both ${owner} and ${spec.substrate}`);
      vnis.set(spec.vni, spec.substrate);
      spec.peers.forEach((peer, index) => {
        const far = specOf.get(`${peer}/${spec.substrate}`);
        if (far === undefined) problems.push(`${pnode} tunnels ${spec.substrate} to ${peer}, which has no tunnel for it`);
        else if (far.vni !== spec.vni || far.port !== spec.port || far.mode !== spec.mode) problems.push(`${pnode} and ${peer} disagree on ${spec.substrate}: VNI ${spec.vni}/${far.vni}`);
        else if (far.local !== spec.remotes[index] || !far.remotes.includes(spec.local ?? "") || !far.peers.includes(pnode)) problems.push(`${pnode} and ${peer} disagree on the addresses of ${spec.substrate}`);
      });
    }
  }
  return problems;
}

/** Peak RSS and wall time of the compiled binary planning one pnode (`switch up --dry-run`). */
async function processPlan(binary: string, config: string, runDir: string, pnode: string): Promise<{ ms: number; rssMB: number }> {
  const timeFile = join(tmpdir(), `benito-bench-scale-${process.pid}`);
  const gnuTime = existsSync("/usr/bin/time");
  const argv = [binary, "switch", "up", "--dry-run", "--run-dir", runDir, config, pnode];
  const started = performance.now();
  const child = Bun.spawn(gnuTime ? ["/usr/bin/time", "-f", "%M", "-o", timeFile, ...argv] : argv, { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  const [, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${stderr.trim()}`);
  const rssKB = gnuTime ? Number(readFileSync(timeFile, "utf8").trim()) : (child.resourceUsage()?.maxRSS ?? 0) / 1024;
  rmSync(timeFile, { force: true });
  return { ms, rssMB: rssKB / 1024 };
}

function summary(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return `median ${at(0.5).toFixed(1)}, p95 ${at(0.95).toFixed(1)}, max ${at(1).toFixed(1)}`;
}

async function main(): Promise<void> {
  const binary = process.env.BENITO_BIN ?? resolve(import.meta.dir, "../build/benito");
  const folder = mkdtempSync(join(tmpdir(), "benito-bench-scale-"));
  try {
    const config = join(folder, "config");
    mkdirSync(config);
    const xml = experiment();
    writeFileSync(join(config, "topo.xml"), xml);
    const siteText = "[benito]\nunderlay_substrate = underlay\n";
    writeFileSync(join(config, "site.conf"), siteText);
    console.log(`experiment: ${pnodeCount} pnodes, ${vnodeCount} vnodes, ${(vnodeCount * interfacesPerVnode) / membersPerLan} LANs (every ${shapedEvery}th shaped), topo.xml ${(xml.length / 1e6).toFixed(1)} MB`);

    const settings = tunnelSettings(parseSiteConf(siteText, "site.conf"));
    const runDir = join(folder, "run");
    const bytes = new TextEncoder().encode(xml);
    // The reference: every plan from the whole document, parsed and resolved once.
    let started = performance.now();
    const topology = parseTopology(bytes, "topo.xml");
    const parseMs = performance.now() - started;
    const everyone = experimentTunnels(resolveNodes(topology), settings, topology.substrates.map((substrate) => substrate.name));
    const reference = new Map<string, string>();
    for (let n = 0; n < pnodeCount; n += 1) {
      const view = resolveHostView(topology, `pnode${n}`);
      reference.set(`pnode${n}`, JSON.stringify(tunnelLayout(view, everyone, switchLayout(view, runDir), settings, runDir, binary)));
    }
    const plans = new Map<string, TunnelSpec[]>();
    const planMs: number[] = [];
    Bun.gc(true);
    const heapBefore = process.memoryUsage().heapUsed;
    // Each pnode's plan as `switch up` makes it from the topo.xml bytes: its view and the members of its LANs read (fast path), switches, tunnels.
    for (let round = 0; round < 2; round += 1) {
      for (let n = 0; n < pnodeCount; n += 1) {
        const pnode = `pnode${n}`;
        started = performance.now();
        const { view } = hostViewFromDocument(bytes, "topo.xml", pnode);
        const layout = switchLayout(view, runDir);
        const lans = lanNodesFromDocument(bytes, "topo.xml", switchedLans(view));
        const specs = tunnelLayout(view, experimentTunnels(lans.nodes, settings, lans.substrateNames), layout, settings, runDir, binary);
        const ms = performance.now() - started;
        // The first round warms the JIT up; the second is what is reported.
        if (round === 1) {
          planMs.push(ms);
          plans.set(pnode, specs);
        }
      }
    }
    Bun.gc(true);
    // What the 100 plans kept (every tunnel spec), per plan.
    const keptMB = (process.memoryUsage().heapUsed - heapBefore) / pnodeCount / (1024 * 1024);
    const peakMB = (process.resourceUsage().maxRSS * 1024) / (1024 * 1024);
    const problems = disagreements(plans);
    for (const [pnode, specs] of plans) if (JSON.stringify(specs) !== reference.get(pnode)) problems.push(`${pnode}: the fast-path plan differs from the whole-document plan`);
    const tunnels = [...plans.values()].reduce((sum, specs) => sum + specs.length, 0);
    const spanning = new Set([...plans.values()].flatMap((specs) => specs.map((spec) => spec.substrate))).size;
    console.log(`reference: whole topo.xml parsed once in ${parseMs.toFixed(1)} ms, every pnode planned from it`);
    console.log(`per-pnode plan from the topo.xml bytes, as switch up reads it (in process): ms ${summary(planMs)}; heap kept per plan ${keptMB.toFixed(2)} MB; this process's peak RSS ${peakMB.toFixed(0)} MB`);
    console.log(`tunnels: ${tunnels} tunnel ends over ${spanning} LANs spanning pnodes; ${problems.length === 0 ? "every end matches its far ends (VNI, port, addresses), and every plan equals the whole-document plan" : `${problems.length} DISAGREEMENTS`}`);
    for (const problem of problems.slice(0, 10)) console.log(`  ${problem}`);

    const samples = Array.from({ length: Math.min(processSamples, pnodeCount) }, (_, k) => `pnode${Math.floor((k * pnodeCount) / Math.max(1, processSamples))}`);
    const measured: { ms: number; rssMB: number }[] = [];
    for (const pnode of samples) measured.push(await processPlan(binary, config, runDir, pnode));
    const ms = measured.map((entry) => entry.ms);
    const rss = measured.map((entry) => entry.rssMB);
    console.log(`per-pnode plan by the compiled binary (switch up --dry-run: start, read, parse, plan; ${samples.length} pnodes): wall ms ${summary(ms)}; peak RSS MB ${summary(rss)}`);
    const verdict = (ms: number, mb: number) => `worst ${ms.toFixed(1)} ms, ${mb.toFixed(1)} MB: ${ms < targetMs && mb < targetMB ? "met" : "NOT met"}`;
    console.log(`target < ${targetMs} ms and < ${targetMB} MB per pnode plan: in process ${verdict(Math.max(...planMs), keptMB)}; whole command ${verdict(Math.max(...ms), Math.max(...rss))}`);
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
