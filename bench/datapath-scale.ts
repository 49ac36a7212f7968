// `make bench-datapath` (scale part): one pnode with 100 process vnodes × 2 NICs on 20 LANs — boot time, RSS of benito processes, 8 TCP flows.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const benito = process.env.BENITO_BIN ?? resolve(import.meta.dir, "../build/benito");
const prefix = `bd${(process.pid % 100000).toString(36)}`;
const vnodes = Number(process.env.BENCH_VNODES ?? 100);
const nicsPerVnode = 2;
const lans = 20;
const flows = 8;
const flowSeconds = 4;
const bootTargetMs = 8_000;
const rssTargetMB = 200;

const attr = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;
const hex = (value: number) => value.toString(16).padStart(2, "0");

function sh(argv: readonly string[], allowFailure = false): { code: number; out: string; ms: number; maxRssMB: number; cpuSeconds: number } {
  const begun = performance.now();
  const result = Bun.spawnSync([...argv], { stdout: "pipe", stderr: "pipe" });
  const ms = performance.now() - begun;
  if (!allowFailure && result.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${result.exitCode}: ${result.stderr.toString().trim() || result.stdout.toString().trim()}`);
  return { code: result.exitCode ?? 1, out: result.stdout.toString(), ms, maxRssMB: (result.resourceUsage?.maxRSS ?? 0) / 1024 / 1024, cpuSeconds: Number(result.resourceUsage?.cpuTime.total ?? 0) / 1e6 };
}

/** Vnode v's NIC i joins LAN (2v + i) mod 20: ten members per LAN, each vnode on two LANs. */
function lanOf(v: number, i: number): number {
  return (v * nicsPerVnode + i) % lans;
}

/** The address of vnode v's NIC i: 10.70.LAN.(v+1). */
function addressOf(v: number, i: number): string {
  return `10.70.${lanOf(v, i)}.${v + 1}`;
}

function topology(root: string, datapath?: string): string {
  const substrates = Array.from({ length: lans }, (_, lan) => `<substrates><name>lan${lan}</name>${datapath === undefined ? "" : attr("benito:datapath", datapath)}</substrates>`).join("");
  const nodes: string[] = [];
  for (let v = 0; v < vnodes; v += 1) {
    const nics = Array.from({ length: nicsPerVnode }, (_, i) => {
      const lan = lanOf(v, i);
      return `<interface><substrate>lan${lan}</substrate><name>inf${String(i).padStart(3, "0")}</name>${attr("ip4_address", addressOf(v, i))}${attr("ip4_netmask", "255.255.255.0")}${attr("benito:mac_address", `02:bd:${hex(v >> 8)}:${hex(v & 255)}:00:${hex(i)}`)}${attr("benito:vde_switch", join(root, "sw", `lan${lan}`))}${attr("benito:vde_port", String(Math.floor(v / (lans / nicsPerVnode)) + 1))}</interface>`;
    }).join("");
    nodes.push(`<elements><computer><name>${prefix}${v}</name>${nics}${attr("benito:node_type", "process")}${attr("benito:host", "pnode0")}</computer></elements>`);
  }
  return `<experiment><version>2.0</version>${substrates}<elements><computer><name>pnode0</name>${attr("benito:node_type", "pnode")}</computer></elements>${nodes.join("")}</experiment>`;
}

/** RSS (MB) of every live process whose executable is the benito binary, and of the vde_switches under root (not other runs'). */
function rssByProgram(root: string): { benito: number; benitoCount: number; switches: number } {
  let benitoMB = 0;
  let benitoCount = 0;
  let switches = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const argv0 = argv[0] ?? "";
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1] ?? 0) / 1024;
      if (argv0 === benito) {
        benitoMB += rss;
        benitoCount += 1;
      } else if (argv0.endsWith("vde_switch") && argv.some((word) => word.startsWith(root))) switches += rss;
    } catch {
      // Gone meanwhile.
    }
  }
  return { benito: benitoMB, benitoCount, switches };
}

/** 8 TCP flows at once, each between two vnodes of a different LAN; returns the aggregate Gbit/s. */
async function tcpFlows(): Promise<number> {
  const servers: ReturnType<typeof Bun.spawn>[] = [];
  const pairs: [number, number, number][] = [];
  for (let flow = 0; flow < flows; flow += 1) {
    // LAN `flow`'s first two members: vnodes v with 2v mod 20 == flow (NIC 0), i.e. v = flow/2 + 10k for even flows.
    const members = Array.from({ length: vnodes }, (_, v) => v).filter((v) => lanOf(v, 0) === flow * 2 % lans || lanOf(v, 1) === flow * 2 % lans);
    const [client, server] = members;
    if (client === undefined || server === undefined) continue;
    const nicOf = (v: number) => (lanOf(v, 0) === (flow * 2) % lans ? 0 : 1);
    pairs.push([client, server, nicOf(server)]);
  }
  for (const [, server, nic] of pairs) servers.push(Bun.spawn(["ip", "netns", "exec", `bn-${prefix}${server}`, "iperf3", "-s", "-1", "-B", addressOf(server, nic)], { stdout: "ignore", stderr: "ignore" }));
  await Bun.sleep(500);
  const clients = pairs.map(([client, server, nic]) =>
    Bun.spawn(["ip", "netns", "exec", `bn-${prefix}${client}`, "iperf3", "-c", addressOf(server, nic), "-t", String(flowSeconds), "-J"], { stdout: "pipe", stderr: "ignore" }),
  );
  let total = 0;
  for (const child of clients) {
    const text = await new Response(child.stdout).text();
    await child.exited;
    try {
      total += (JSON.parse(text) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second / 1e9;
    } catch {
      // A flow that failed adds nothing.
    }
  }
  for (const server of servers) server.kill("SIGKILL");
  return total;
}

/** Boots, measures, and takes down one pnode under one datapath; prints one block. */
export async function scaleRun(label: string, datapath?: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), `${prefix}-scale-`));
  const config = join(root, "config");
  const run = join(root, "run");
  mkdirSync(config, { recursive: true });
  writeFileSync(join(config, "topo.xml"), topology(root, datapath));
  const args = ["--run-dir", run, "--log-file", join(root, "log"), config, "pnode0"];
  const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
  try {
    const boot = sh([benito, "boot", "--parallel", "8", ...args], true);
    const status = JSON.parse(readFileSync(join(run, "status.json"), "utf8")) as { stages: { id: string; ms: number; outcome: string; errors?: string[] }[] };
    const children = status.stages.filter((stage) => stage.id.startsWith("child:"));
    const ok = children.filter((stage) => stage.outcome === "ok").length;
    for (const failed of children.filter((stage) => stage.outcome !== "ok").slice(0, 3)) console.log(`  FAILED ${failed.id}: ${JSON.stringify(failed).slice(0, 600)}`);
    await Bun.sleep(1000);
    const rss = rssByProgram(root);
    const gbps = await tcpFlows();
    const again = sh([benito, "boot", ...args], true);
    const down = sh([benito, "down", ...args], true);
    console.log(`${label}: ${vnodes} process vnodes × ${nicsPerVnode} NICs on ${lans} LANs (${vnodes * nicsPerVnode} ports); load average before ${loadBefore}`);
    console.log(`  boot (--parallel 8)        ${boot.ms.toFixed(0)} ms  (${ok}/${vnodes} children ok; switch stage ${status.stages.find((s) => s.id === "switch")?.ms.toFixed(0) ?? "-"} ms)  target < ${bootTargetMs} ms: ${boot.ms < bootTargetMs && ok === vnodes ? "met" : "NOT met"}`);
    console.log(`  boot CPU (with its helpers) ${boot.cpuSeconds.toFixed(1)} s; boot process peak RSS ${boot.maxRssMB.toFixed(1)} MB`);
    console.log(`  benito processes after     ${rss.benitoCount} process(es), ${rss.benito.toFixed(1)} MB RSS total  target < ${rssTargetMB} MB: ${rss.benito < rssTargetMB ? "met" : "NOT met"}`);
    console.log(`  vde_switch processes       ${rss.switches.toFixed(1)} MB RSS total`);
    console.log(`  ${flows} TCP flows (8 LANs)     ${gbps.toFixed(2)} Gbit/s aggregate`);
    console.log(`  boot again ${again.ms.toFixed(0)} ms; down ${down.ms.toFixed(0)} ms, CPU ${down.cpuSeconds.toFixed(2)} s (exit ${down.code}; load average ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]})`);
  } finally {
    sh([benito, "down", ...args], true);
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  if (process.getuid?.() !== 0) {
    console.log("bench-datapath scale: SKIPPED: needs root (namespaces, TAPs, switches)");
  } else {
    const which = process.env.BENCH_DATAPATHS ?? "vde,kernel";
    if (which.includes("vde")) await scaleRun("forwarder pool (datapath = vde)");
    if (which.includes("kernel")) await scaleRun("kernel datapath (benito:datapath = kernel)", "kernel");
  }
}
