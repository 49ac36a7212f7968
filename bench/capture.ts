// `make bench-capture`: benito capture against tcpdump -p on the same TAP under a 60-byte UDP flood: frames kept, frames dropped, CPU per frame.
import { readFileSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeLab, labNodes } from "../test/helpers/lab";

const benito = process.env.BENITO_BIN ?? resolve(import.meta.dir, "../build/benito");
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const floodSeconds = 3;

if (process.getuid?.() !== 0) {
  console.error("bench-capture needs root (network namespaces, TAP devices, VDE switches)");
  process.exit(2);
}
for (const program of ["tcpdump", "iperf3", "vde_switch", "wirefilter"]) {
  if (Bun.which(program) === null) {
    console.error(`bench-capture needs ${program} (scripts/install-debian-packages.sh installs it)`);
    process.exit(2);
  }
}

const lab = makeLab(`bc${(process.pid % 100000).toString(36)}`);
const where = ["--config", lab.config, "--run-dir", lab.runDir, "--host", "pnode0"];

function sh(argv: readonly string[]): { code: number; out: string; err: string } {
  const result = Bun.spawnSync([...argv], { stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode ?? 1, out: result.stdout.toString(), err: result.stderr.toString() };
}

/** Counts the records of a pcap file (16-byte record headers, captured length at offset 8). */
function pcapFrames(path: string): number {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let frames = 0;
  for (let at = 24; at + 16 <= bytes.length; at += 16 + view.getUint32(at + 8, true)) frames += 1;
  return frames;
}

/** Reads a child's stderr until `text` appears (both tools say when they listen). */
async function waitFor(stream: ReadableStream<Uint8Array>, text: string): Promise<() => Promise<string>> {
  const reader = stream.getReader();
  let seen = "";
  while (!seen.includes(text)) {
    const chunk = await reader.read();
    if (chunk.done) break;
    seen += new TextDecoder().decode(chunk.value);
  }
  return async () => {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) seen += new TextDecoder().decode(chunk.value);
    return seen;
  };
}

/** One capture of a flood from a to b, seen on a's TAP; the capturing process's CPU ticks from /proc. */
async function round(tool: "benito" | "tcpdump"): Promise<{ frames: number; perSecond: number; dropped: number; cpuTicks: number; mb: number }> {
  const file = join(lab.dir, `${tool}.pcap`);
  rmSync(file, { force: true });
  const argv = tool === "benito" ? [benito, "capture", ...where, `${lab.name("a")}:inf000`, "-w", file] : ["ip", "netns", "exec", lab.namespace("a"), "tcpdump", "-p", "-n", "-i", "inf000", "-w", file];
  const child = Bun.spawn(argv, { stdout: "ignore", stderr: "pipe" });
  const rest = await waitFor(child.stderr, "listening on");
  const server = Bun.spawn(["ip", "netns", "exec", lab.namespace("b"), "iperf3", "-s", "-1", "-p", "5299"], { stdout: "ignore", stderr: "ignore" });
  await Bun.sleep(300);
  const started = performance.now();
  sh(["ip", "netns", "exec", lab.namespace("a"), "iperf3", "-c", "10.0.1.2", "-p", "5299", "-u", "-l", "18", "-b", "0", "-t", String(floodSeconds)]);
  const seconds = (performance.now() - started) / 1000;
  await Bun.sleep(300);
  const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  const cpuTicks = Number(stat[11] ?? 0) + Number(stat[12] ?? 0);
  child.kill("SIGINT");
  await child.exited;
  server.kill("SIGKILL");
  await server.exited;
  const said = await rest();
  const frames = pcapFrames(file);
  const dropped = tool === "benito" ? Number(/(\d+) dropped/.exec(said)?.[1] ?? Number.NaN) : Number(/(\d+) packets dropped by kernel/.exec(said)?.[1] ?? Number.NaN);
  const mb = statSync(file).size / 1e6;
  rmSync(file, { force: true });
  return { frames, perSecond: frames / seconds, dropped, cpuTicks, mb };
}

try {
  const boot = sh([benito, "boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"]);
  if (boot.code !== 0) throw new Error(`boot failed: ${boot.err}`);
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(`capture of a 60-byte UDP flood (iperf3 -u -l 18 -b 0, ${floodSeconds} s) on a's TAP, ${rounds} alternating rounds; load ${load}`);
  console.log("tool     frames  frames/s  dropped  CPU ticks  ticks/100k frames  MB");
  const results: Record<string, { perSecond: number; dropped: number; frames: number; cpuTicks: number }[]> = { benito: [], tcpdump: [] };
  for (let index = 0; index < rounds; index++) {
    for (const tool of ["tcpdump", "benito"] as const) {
      const result = await round(tool);
      results[tool]?.push(result);
      const perFrames = (result.cpuTicks / result.frames) * 100_000;
      console.log(`${tool.padEnd(8)} ${String(result.frames).padStart(6)}  ${result.perSecond.toFixed(0).padStart(8)}  ${String(result.dropped).padStart(7)}  ${String(result.cpuTicks).padStart(9)}  ${perFrames.toFixed(1).padStart(17)}  ${result.mb.toFixed(1)}`);
    }
  }
  // Both keep up with the flood when nothing is dropped, so frames/s measures the flood; what differs is drops and CPU per frame.
  const total = (tool: string, key: "dropped" | "frames" | "cpuTicks") => (results[tool] ?? []).reduce((sum, result) => sum + result[key], 0);
  const perFrame = (tool: string) => total(tool, "cpuTicks") / Math.max(1, total(tool, "frames"));
  console.log(`dropped: benito ${total("benito", "dropped")}, tcpdump ${total("tcpdump", "dropped")}; CPU per frame benito / tcpdump: ${(perFrame("benito") / perFrame("tcpdump")).toFixed(1)}`);
} finally {
  sh([benito, "down", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"]);
  for (const node of labNodes) sh(["ip", "netns", "del", lab.namespace(node)]);
  rmSync(lab.dir, { recursive: true, force: true });
}
