// `make bench-vde` / `make bench-datapath`: two namespaces on one LAN — vde_plug2tap, benito vde plug, benito's forwarder — TCP, small frames, ping -f, CPU, RSS; quiet and loaded.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { alive, pidIn, signalPid } from "../test/helpers/processes";
import { addForwarderPort, knownShards, removeForwarderPort } from "../src/system/vde/forwarder-control";
import { forwarderPaths } from "../src/system/vde/forwarder-records";
import { kernelAlias, kernelBridgeName, kernelMemberSteps, kernelPortName, kernelIfbName } from "../src/plan/datapath-plan";
import { runSteps } from "../src/apply/run-steps";

const binary = process.env.BENITO_BIN ?? resolve(import.meta.dir, "../build/benito");
/** Measurement rounds per plug kind (kinds alternate; each figure is the median of the rounds: the machine is shared). */
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const tcpSeconds = 4;
const udpSeconds = 3;
/** Round trips per `ping -f` sample, and samples per round (their median is the round's figure: single loaded runs swing 2-3x). */
const pingCount = 10_000;
const pingSamples = 3;
const prefix = `bvde${(process.pid % 100000).toString(36)}`;
const addressA = "10.213.200.1";
const addressB = "10.213.200.2";

type Kind = "vde_plug2tap" | "plug" | "forwarder" | "kernel";
/** What runs: every kind by default; BENCH_KINDS=forwarder,vde_plug2tap to pick. */
const kinds = (process.env.BENCH_KINDS ?? "vde_plug2tap,plug,forwarder,kernel").split(",").filter((kind): kind is Kind => ["vde_plug2tap", "plug", "forwarder", "kernel"].includes(kind));
/** The kernel kind's LAN: benito's own kernel datapath steps (src/plan/datapath-plan.ts), run here. */
const kernelLan = `${prefix}-lan`;
/** Conditions: quiet, and with two CPU-bound processes beside the benchmark (BENCH_LOAD=quiet|loaded|both). */
const conditions = (process.env.BENCH_LOAD ?? "both") === "both" ? (["quiet", "loaded"] as const) : ([process.env.BENCH_LOAD === "loaded" ? "loaded" : "quiet"] as const);

/** Figures interface: one round for one plug kind. */
interface Figures {
  tcpGbps: number;
  /** 60-byte frames the datapath delivered into the receiving namespace's interface, per second (its RX counter). */
  udpFramesPerSecond: number;
  /** Of those, what iperf3's receiver read: loaded, its own CPU share bounds it (the rest is dropped at its socket, RcvbufErrors). */
  udpReceivedPerSecond: number;
  pingFramesPerSecond: number;
  /** CPU seconds both plugs used over the whole round. */
  plugCpuSeconds: number;
  /** Plug CPU seconds per GB moved, over the TCP and UDP runs (TCP + UDP bytes). */
  cpuPerGB: number;
  /** The whole machine's busy CPU seconds per GB over the TCP + UDP runs (switch, plugs, kernel, iperf3; meaningful quiet). */
  machineCpuPerGB: number;
  /** RSS of the plugs (or the forwarder) after the round's load, MB, summed. */
  plugRssMB: number;
  /** Peak RSS of the plugs (or the forwarder), start-up included, MB, summed. */
  plugPeakMB: number;
}

async function run(argv: readonly string[], timeoutMs = 60_000): Promise<string> {
  const child = Bun.spawn([...argv], { stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${stderr.trim() || stdout.trim()}`);
  return stdout;
}

function inNs(namespace: string, argv: readonly string[]): string[] {
  return ["ip", "netns", "exec", namespace, ...argv];
}


/** Frames the interface bt0 of a namespace has received so far (its RX packet counter). */
async function rxPackets(namespace: string): Promise<number> {
  const links: unknown = JSON.parse(await run(["ip", "-n", namespace, "-j", "-s", "link", "show", "bt0"]));
  const packets = Array.isArray(links) ? field(field(field(links[0], "stats64"), "rx"), "packets") : undefined;
  if (typeof packets !== "number") throw new Error(`no RX packet counter for bt0 in ${namespace}`);
  return packets;
}

/** One member of a parsed JSON object (undefined when it is not an object). */
function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, name) : undefined;
}

/** utime + stime of a process, in seconds (clock ticks are 100 per second on Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Busy CPU seconds of the whole machine so far (all CPUs: user, nice, system, irq, softirq, steal). */
function machineBusySeconds(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / 100;
}

/** A memory figure of /proc/PID/status in MB: VmRSS (resident now) or VmHWM (peak resident). */
function memoryMB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) / 1024;
}

/** SIGTERM, a bounded wait, then SIGKILL: one process only (signalPid refuses pid 0, 1 and -1). */
async function stopPid(pid: number): Promise<void> {
  if (!signalPid(pid, "SIGTERM")) return;
  for (let waited = 0; waited < 3000; waited += 20) {
    if (!alive(pid)) return;
    await Bun.sleep(20);
  }
  signalPid(pid, "SIGKILL");
}

/** Waits (bounded) until a pidfile holds a real pid: it exists, empty, before the daemon writes it. */
async function pidWhenWritten(pidfile: string): Promise<number> {
  for (let waited = 0; waited < 5000; waited += 20) {
    const pid = pidIn(pidfile);
    if (pid !== undefined) return pid;
    await Bun.sleep(20);
  }
  throw new Error(`no pid appeared in ${pidfile} within 5 s`);
}

/** Starts an iperf3 server for one test in a namespace; returns a stopper. */
async function iperfServer(namespace: string): Promise<() => Promise<void>> {
  const server = Bun.spawn(inNs(namespace, ["iperf3", "-s", "-1", "-B", addressB]), { stdout: "ignore", stderr: "ignore" });
  await Bun.sleep(300);
  return async () => {
    server.kill("SIGTERM");
    await Promise.race([server.exited, Bun.sleep(2000)]);
    server.kill("SIGKILL");
  };
}

/** The kernel datapath for the two namespaces as benito's plan makes it: a bridge, a veth per namespace, tbf when capacityKbps is given. */
async function kernelJoin(namespaces: readonly string[], capacityKbps?: number): Promise<void> {
  const bridge = kernelBridgeName(kernelLan);
  await run(["ip", "link", "add", bridge, "type", "bridge"]);
  await run(["ip", "link", "set", bridge, "alias", kernelAlias(kernelLan), "up"]);
  const datapath = { kind: "kernel" as const, reason: "bench", bridge, scope: "", shaping: capacityKbps === undefined ? {} : { capacityKbps }, netem: false };
  for (const [index, namespace] of namespaces.entries()) {
    await runSteps(kernelMemberSteps({ node: `${prefix}${index}`, iface: "inf000", lan: kernelLan, ifname: "bt0", placement: { netns: namespace } }, datapath), { benito: binary, mode: "setup" });
  }
}

/** Removes what kernelJoin made, by name (absent is fine). */
async function kernelLeave(namespaces: readonly string[]): Promise<void> {
  for (const index of namespaces.keys()) {
    for (const name of [kernelPortName(`${prefix}${index}`, "inf000"), kernelIfbName(`${prefix}${index}`, "inf000")]) await Bun.spawn(["ip", "link", "del", name], { stderr: "ignore" }).exited;
  }
  await Bun.spawn(["ip", "link", "del", kernelBridgeName(kernelLan)], { stderr: "ignore" }).exited;
}

async function plugBoth(kind: Kind, sockDir: string, folder: string, namespaces: readonly string[]): Promise<number[]> {
  const pids: number[] = [];
  if (kind === "kernel") {
    await kernelJoin(namespaces);
    for (const [index, namespace] of namespaces.entries()) {
      await run(["ip", "-n", namespace, "addr", "add", `${index === 0 ? addressA : addressB}/24`, "dev", "bt0"]);
      await run(["ip", "-n", namespace, "link", "set", "bt0", "up"]);
    }
    return pids;
  }
  const runDir = join(folder, "run");
  for (const [index, namespace] of namespaces.entries()) {
    const pidfile = join(folder, `${kind}-${index}.pid`);
    if (kind === "plug") await run(inNs(namespace, [binary, "vde", "plug", "--switch", sockDir, "--tap", "bt0", "--daemon", "--pidfile", pidfile]));
    else if (kind === "vde_plug2tap") await run(inNs(namespace, ["vde_plug2tap", "-s", sockDir, "-d", "-P", pidfile, "bt0"]));
    else {
      await run(["ip", "-n", namespace, "tuntap", "add", "bt0", "mode", "tap"]);
      await addForwarderPort(runDir, binary, { version: 1, kind: "forwarder-port", id: `p${index}`, netns: namespace, tap: "bt0", switchDir: sockDir, port: 0, reconnect: true });
    }
    if (kind !== "forwarder") pids.push(await pidWhenWritten(pidfile));
    await run(["ip", "-n", namespace, "addr", "add", `${index === 0 ? addressA : addressB}/24`, "dev", "bt0"]);
    await run(["ip", "-n", namespace, "link", "set", "bt0", "up"]);
  }
  if (kind === "forwarder") {
    for (const shard of knownShards(runDir)) pids.push(await pidWhenWritten(forwarderPaths(runDir, shard).pidfile));
  }
  return pids;
}

/** Takes down what plugBoth made: plugs by pid; forwarder ports (the last one stops it) and their TAPs. */
async function unplugBoth(kind: Kind, pids: readonly number[], folder: string, namespaces: readonly string[]): Promise<void> {
  if (kind === "kernel") return kernelLeave(namespaces);
  if (kind !== "forwarder") {
    for (const pid of pids) await stopPid(pid);
    return;
  }
  for (const index of namespaces.keys()) await removeForwarderPort(join(folder, "run"), binary, `p${index}`);
  for (const namespace of namespaces) await Bun.spawn(["ip", "-n", namespace, "link", "del", "bt0"], { stderr: "ignore" }).exited;
}

async function measureRound(kind: Kind, sockDir: string, folder: string, a: string, b: string): Promise<Figures> {
  const pids = await plugBoth(kind, sockDir, folder, [a, b]);
  try {
    await run(inNs(a, ["ping", "-c", "3", "-i", "0.2", "-W", "2", addressB]));
    const cpuBefore = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const machineBefore = machineBusySeconds();

    let stop = await iperfServer(b);
    const tcp = JSON.parse(await run(inNs(a, ["iperf3", "-c", addressB, "-t", String(tcpSeconds), "-J"]))) as { end: { sum_received: { bits_per_second: number; bytes: number } } };
    await stop();

    // 18-byte UDP payloads make minimum-size (60-byte) Ethernet frames; -b 0 sends as fast as it can.
    stop = await iperfServer(b);
    const rxBefore = await rxPackets(b);
    const udp = JSON.parse(await run(inNs(a, ["iperf3", "-c", addressB, "-u", "-l", "18", "-b", "0", "-t", String(udpSeconds), "-J"]))) as {
      end: { sum: { packets: number; lost_packets: number; seconds: number; bytes: number } };
    };
    const rxFrames = (await rxPackets(b)) - rxBefore;
    await stop();
    const machineSeconds = machineBusySeconds() - machineBefore;
    // CPU per GB counts the TCP and UDP runs only (ping moves next to no bytes).
    const cpuMoving = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpuBefore;

    // ping -f: one frame in flight each way, so this is the per-frame latency bound of the path.
    const pingRates: number[] = [];
    for (let sample = 0; sample < pingSamples; sample += 1) {
      const pingStarted = performance.now();
      const pingOut = await run(inNs(a, ["ping", "-q", "-f", "-c", String(pingCount), addressB]), 120_000);
      const received = Number(/(\d+) received/.exec(pingOut)?.[1] ?? 0);
      pingRates.push((2 * received) / ((performance.now() - pingStarted) / 1000));
    }

    const cpuAfter = pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const udpSum = udp.end.sum;
    return {
      tcpGbps: tcp.end.sum_received.bits_per_second / 1e9,
      udpFramesPerSecond: rxFrames / udpSum.seconds,
      udpReceivedPerSecond: (udpSum.packets - udpSum.lost_packets) / udpSum.seconds,
      pingFramesPerSecond: middle(pingRates),
      plugCpuSeconds: cpuAfter - cpuBefore,
      cpuPerGB: cpuMoving / ((tcp.end.sum_received.bytes + udpSum.bytes) / 1e9),
      machineCpuPerGB: machineSeconds / ((tcp.end.sum_received.bytes + udpSum.bytes) / 1e9),
      plugRssMB: pids.reduce((sum, pid) => sum + memoryMB(pid, "VmRSS"), 0),
      plugPeakMB: pids.reduce((sum, pid) => sum + memoryMB(pid, "VmHWM"), 0),
    };
  } finally {
    await unplugBoth(kind, pids, folder, [a, b]);
  }
}

/** The median of a list of numbers. */
function middle(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[half] ?? 0) : ((sorted[half - 1] ?? 0) + (sorted[half] ?? 0)) / 2;
}

/** The median of one figure over the rounds. */
function median(list: readonly Figures[], value: (f: Figures) => number): number {
  return middle(list.map(value));
}

/** Each figure's median over the rounds (a figure of its own, not one round's). */
function medianOf(list: readonly Figures[]): Figures {
  const of = (value: (f: Figures) => number) => median(list, value);
  return {
    tcpGbps: of((f) => f.tcpGbps),
    udpFramesPerSecond: of((f) => f.udpFramesPerSecond),
    udpReceivedPerSecond: of((f) => f.udpReceivedPerSecond),
    pingFramesPerSecond: of((f) => f.pingFramesPerSecond),
    plugCpuSeconds: of((f) => f.plugCpuSeconds),
    cpuPerGB: of((f) => f.cpuPerGB),
    machineCpuPerGB: of((f) => f.machineCpuPerGB),
    plugRssMB: of((f) => f.plugRssMB),
    plugPeakMB: of((f) => f.plugPeakMB),
  };
}

/** Two CPU-bound processes (busy loops), one per core, beside the benchmark. */
function startHogs(): ReturnType<typeof Bun.spawn>[] {
  const started = [0, 1].map(() => Bun.spawn([process.execPath, "-e", "for (;;) {}"], { stdout: "ignore", stderr: "ignore" }));
  hogs.push(...started);
  return started;
}

/** Every hog started, killed by the cleanup too (an interrupted run must not leave them spinning). */
const hogs: ReturnType<typeof Bun.spawn>[] = [];

/** Every kind in alternating rounds under one condition; prints the table with ratios against vde_plug2tap. */
async function measureCondition(condition: "quiet" | "loaded", sockDir: string, folder: string, a: string, b: string): Promise<void> {
  const results = new Map<Kind, Figures[]>(kinds.map((kind) => [kind, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const kind of kinds) {
      const figures = await measureRound(kind, sockDir, folder, a, b);
      results.get(kind)?.push(figures);
      console.error(`${condition} round ${round + 1} ${kind}: ${figures.tcpGbps.toFixed(2)} Gbit/s TCP, ${Math.round(figures.udpFramesPerSecond)} UDP frames/s (iperf3 read ${Math.round(figures.udpReceivedPerSecond)}), ${Math.round(figures.pingFramesPerSecond)} ping frames/s, ${figures.plugCpuSeconds.toFixed(2)} CPU s, ${figures.plugRssMB.toFixed(1)} MB RSS`);
    }
  }
  const medians = new Map([...results].map(([kind, list]) => [kind, medianOf(list)]));
  const reference = medians.get("vde_plug2tap");
  const load = condition === "loaded" ? "two CPU-bound processes beside it" : "no other load from the bench";
  console.log(`\nbench-vde (${condition}: ${load}; load average ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}): two namespaces through one vde_switch; medians of ${rounds} alternating rounds (TCP ${tcpSeconds} s, UDP ${udpSeconds} s, ping -f: median of ${pingSamples} × ${pingCount} round trips per round)`);
  console.log(`${"".padEnd(34)} ${kinds.map((kind) => kind.padStart(12)).join(" ")}   ratios to vde_plug2tap`);
  const row = (label: string, value: (f: Figures) => number, digits: number, unit: string) => {
    const cells = kinds.map((kind) => value(medians.get(kind) as Figures).toFixed(digits).padStart(12)).join(" ");
    const ratios = reference === undefined ? "" : kinds.filter((kind) => kind !== "vde_plug2tap").map((kind) => `${kind} ${(value(medians.get(kind) as Figures) / value(reference)).toFixed(2)}x`).join(", ");
    console.log(`${label.padEnd(34)} ${cells}  ${unit.padEnd(9)} ${ratios}`);
  };
  row("TCP throughput (iperf3)", (f) => f.tcpGbps, 2, "Gbit/s");
  row("60-byte frames into receiver's NIC", (f) => f.udpFramesPerSecond, 0, "frames/s");
  row("  of them read by iperf3 (its CPU)", (f) => f.udpReceivedPerSecond, 0, "frames/s");
  row("ping -f frames (latency bound)", (f) => f.pingFramesPerSecond, 0, "frames/s");
  row("plug CPU per GB (lower is better)", (f) => f.cpuPerGB, 2, "s/GB");
  row("machine CPU per GB (lower is better)", (f) => f.machineCpuPerGB, 2, "s/GB");
  row("total RSS after the load", (f) => f.plugRssMB, 1, "MB");
  row("peak RSS (start-up included)", (f) => f.plugPeakMB, 1, "MB");
  console.log("(kernel: no process moves its frames; its CPU is the machine's, its RSS none)");
}

/** A kernel LAN with a capacity: TCP each way through the tbf pair, as a fraction of the capacity. */
async function measureShaped(a: string, b: string, capacityKbps: number): Promise<void> {
  await kernelJoin([a, b], capacityKbps);
  try {
    for (const [index, namespace] of [a, b].entries()) {
      await run(["ip", "-n", namespace, "addr", "add", `${index === 0 ? addressA : addressB}/24`, "dev", "bt0"]);
      await run(["ip", "-n", namespace, "link", "set", "bt0", "up"]);
    }
    await run(inNs(a, ["ping", "-c", "3", "-i", "0.2", "-W", "2", addressB]));
    const rates: number[] = [];
    for (const reverse of [false, true]) {
      const stop = await iperfServer(b);
      const result = JSON.parse(await run(inNs(a, ["iperf3", "-c", addressB, "-t", String(tcpSeconds), "-O", "1", "-J", ...(reverse ? ["-R"] : [])]))) as { end: { sum_received: { bits_per_second: number } } };
      await stop();
      rates.push(result.end.sum_received.bits_per_second / 1000);
    }
    const [forward = 0, back = 0] = rates;
    const within = (rate: number) => Math.abs(rate / capacityKbps - 1) <= 0.05;
    console.log(`kernel LAN with capacity ${capacityKbps / 1000} Mbit/s (tbf both ways, ingress through ifb + mirred): a→b ${(forward / 1000).toFixed(1)} Mbit/s (${(forward / capacityKbps).toFixed(3)}x), b→a ${(back / 1000).toFixed(1)} Mbit/s (${(back / capacityKbps).toFixed(3)}x); within 5 %: ${within(forward) && within(back) ? "met" : "NOT met"}`);
  } finally {
    await kernelLeave([a, b]);
  }
}

/** The signal handler main installs while it runs. */
let interrupted = (): void => {};

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log("bench-vde: SKIPPED: needs root (network namespaces, TAP devices)");
    return;
  }
  const folder = mkdtempSync(join(tmpdir(), "benito-bench-vde-"));
  const sockDir = join(folder, "sw");
  const switchPidfile = join(folder, "switch.pid");
  const namespaces = [`${prefix}-a`, `${prefix}-b`];
  const made: string[] = [];
  // Interrupted (Ctrl-C, a timeout's SIGTERM): leave no switch, plug or namespace behind. The
  // measurement under way then fails, and main's own cleanup waits for this same one.
  let cleaning: Promise<void> | undefined;
  const cleanupOnce = () => (cleaning ??= cleanup(folder, made));
  interrupted = () => void cleanupOnce().finally(() => process.exit(130));
  process.on("SIGINT", interrupted);
  process.on("SIGTERM", interrupted);
  try {
    await run(["vde_switch", "-s", sockDir, "-M", join(folder, "mgmt"), "-d", "-p", switchPidfile]);
    for (const namespace of namespaces) {
      await run(["ip", "netns", "add", namespace]);
      made.push(namespace);
      await run(["ip", "-n", namespace, "link", "set", "lo", "up"]);
    }
    const [a, b] = namespaces as [string, string];
    for (const condition of conditions) {
      const hogs = condition === "loaded" ? startHogs() : [];
      try {
        await measureCondition(condition, sockDir, folder, a, b);
        if (kinds.includes("kernel")) await measureShaped(a, b, 100_000);
      } finally {
        for (const hog of hogs) hog.kill("SIGKILL");
      }
    }
  } finally {
    await cleanupOnce();
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
  }
}

/** Stops every process whose pidfile is in the folder (plugs, the forwarder, then the switch), deletes the namespaces by name. */
async function cleanup(folder: string, namespaces: readonly string[]): Promise<void> {
  for (const hog of hogs) hog.kill("SIGKILL");
  const pidfiles = readdirSync(folder)
    .filter((name) => name.endsWith(".pid"))
    .sort((a, b) => (a === "switch.pid" ? 1 : 0) - (b === "switch.pid" ? 1 : 0));
  for (const shard of [0, 1]) {
    const forwarder = pidIn(forwarderPaths(join(folder, "run"), shard).pidfile);
    if (forwarder !== undefined) await stopPid(forwarder);
  }
  for (const name of pidfiles) {
    const pid = pidIn(join(folder, name));
    if (pid !== undefined) await stopPid(pid);
  }
  await kernelLeave(namespaces);
  for (const namespace of namespaces) await Bun.spawn(["ip", "netns", "del", namespace]).exited;
  rmSync(folder, { recursive: true, force: true });
}

await main();
