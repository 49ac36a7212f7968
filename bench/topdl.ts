// `make bench-topdl`: times benito's TopDL parse+validate and single-host lookup against Python's ElementTree on a generated 9 MB document.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { hostViewFromDocument } from "../src/model/host-view";
import { decodeDocument } from "../src/topdl/decode";
import { checkTopology } from "../src/topdl/parse";
import { parseXml } from "../src/topdl/xml";

/** Shape of the generated experiment (the figures). */
const computers = 10_000;
const substrates = 5_000;
/** Computers 0..pnodes-1 are pnodes; every other computer is a QEMU vnode hosted by one of them. */
const pnodes = 1_000;

/**
 * Generates the benchmark TopDL: 10,000 computers with 2 interfaces each (20,000), 5,000
 * substrates with capacity and latency, IPv4 and MAC attributes, one tag per line as DETER's
 * tools write it (about 9 MB).
 */
export function generateTopology(): string {
  const out: string[] = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<experiment>\n<version>1.0</version>\n"];
  for (let s = 0; s < substrates; s += 1) {
    out.push(`<substrates>\n<name>lan${s}</name>\n<capacity>\n<rate>100000.0</rate>\n<kind>max</kind>\n</capacity>\n<latency>\n<time>${s % 10}.0</time>\n<kind>max</kind>\n</latency>\n</substrates>\n`);
  }
  for (let c = 0; c < computers; c += 1) {
    const name = c < pnodes ? `pnode${c}` : `vnode${c}`;
    const lines = [`<elements>\n<computer>\n<name>${name}</name>\n`];
    for (let i = 0; i < 2; i += 1) {
      const lan = (c * 2 + i) % substrates;
      const host = Math.floor((c * 2 + i) / substrates) + 1;
      lines.push(
        `<interface>\n<substrate>lan${lan}</substrate>\n<name>inf00${i}</name>\n` +
          `<attribute>\n<attribute>ip4_address</attribute>\n<value>10.${lan >> 8}.${lan & 255}.${host}</value>\n</attribute>\n` +
          `<attribute>\n<attribute>ip4_netmask</attribute>\n<value>255.255.255.0</value>\n</attribute>\n` +
          (i === 0 ? `<attribute>\n<attribute>benito:mac_address</attribute>\n<value>02:00:00:${hex(c >> 8)}:${hex(c & 255)}:00</value>\n</attribute>\n` : "") + "</interface>\n",
      );
    }
    lines.push(`<attribute>\n<attribute>benito:node_type</attribute>\n<value>${c < pnodes ? "pnode" : "qemu"}</value>\n</attribute>\n`);
    if (c >= pnodes) lines.push(`<attribute>\n<attribute>benito:host</attribute>\n<value>pnode${c % pnodes}</value>\n</attribute>\n`);
    lines.push("</computer>\n</elements>\n");
    out.push(lines.join(""));
  }
  out.push("</experiment>\n");
  return out.join("");
}

function hex(value: number): string {
  return value.toString(16).padStart(2, "0");
}

/** One timed child process: wall time, CPU time (user + system) and peak RSS. */
interface Measured {
  readonly ms: number;
  /** CPU time; less disturbed than wall time when other work shares the machine (0 without GNU time). */
  readonly cpuMs: number;
  readonly rssMB: number;
  readonly stdout: string;
}

async function measure(argv: readonly string[]): Promise<Measured> {
  // GNU time reports the child's own peak RSS; Bun's resourceUsage() is the fallback without it.
  const timeFile = join(tmpdir(), `benito-bench-time-${process.pid}`);
  const gnuTime = existsSync("/usr/bin/time");
  const command = gnuTime ? ["/usr/bin/time", "-f", "%M %U %S", "-o", timeFile, ...argv] : [...argv];
  const started = performance.now();
  const child = Bun.spawn(command, { stdout: "pipe", stderr: "pipe", timeout: 120_000 });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${stderr.trim()}`);
  const [rssKB = 0, user = 0, system = 0] = gnuTime ? readFileSync(timeFile, "utf8").trim().split(/\s+/).map(Number) : [];
  if (gnuTime) rmSync(timeFile, { force: true });
  const rssBytes = gnuTime ? rssKB * 1024 : (child.resourceUsage()?.maxRSS ?? 0);
  return { ms, cpuMs: (user + system) * 1000, rssMB: rssBytes / (1024 * 1024), stdout };
}

/** Several runs of one command: medians (the figure reported), the fastest, the largest RSS. */
interface Runs {
  readonly ms: number;
  readonly cpuMs: number;
  readonly bestMs: number;
  readonly rssMB: number;
  readonly stdout: string;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/**
 * Runs the commands in turn, `rounds` times (interleaved, so a change of load touches each
 * alike), and summarizes each: median wall and CPU time, fastest wall time, largest RSS.
 */
async function interleaved(commands: readonly (readonly string[])[], rounds: number): Promise<Runs[]> {
  const all: Measured[][] = commands.map(() => []);
  for (let round = 0; round < rounds; round += 1) {
    for (let k = 0; k < commands.length; k += 1) all[k]!.push(await measure(commands[k]!));
  }
  return all.map((runs) => ({
    ms: median(runs.map((run) => run.ms)),
    cpuMs: median(runs.map((run) => run.cpuMs)),
    bestMs: Math.min(...runs.map((run) => run.ms)),
    rssMB: Math.max(...runs.map((run) => run.rssMB)),
    stdout: runs[0]!.stdout,
  }));
}

/** Best wall time of a few in-process runs (no process start; the JIT warms up after the first). */
function inProcess(work: () => unknown, runs = 3): number {
  let fastest = Infinity;
  for (let k = 0; k < runs; k += 1) {
    const started = performance.now();
    work();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

async function main(): Promise<void> {
  const binary = process.env.BENITO_BIN ?? resolve(import.meta.dir, "../build/benito");
  const folder = mkdtempSync(join(tmpdir(), "benito-bench-topdl-"));
  try {
    const file = join(folder, "topo.xml");
    await Bun.write(file, generateTopology());
    const megabytes = statSync(file).size / 1e6;
    console.log(`generated ${file}: ${megabytes.toFixed(1)} MB, ${computers} computers, ${computers * 2} interfaces, ${substrates} substrates`);

    const rounds = Number(process.env.BENCH_ROUNDS ?? "7");
    const loadBefore = loadavg();
    const [python, startup, validate, vnode, pnode] = (await interleaved(
      [
        ["python3", "-c", "import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])", file],
        [binary, "--version"],
        [binary, "topdl", "validate", file],
        [binary, "topdl", "show", file, "--host", `vnode${computers - 1}`, "--json"],
        [binary, "topdl", "show", file, "--host", "pnode7", "--json"],
      ],
      rounds,
    )) as [Runs, Runs, Runs, Runs, Runs];
    const loadAfter = loadavg();
    const hosted = (JSON.parse(pnode.stdout) as { children: string[] }).children.length;
    const bytes = new Uint8Array(readFileSync(file));
    const inProcessParse = inProcess(() => checkTopology(bytes, file));
    // A new name each run: the same file's same bytes would be answered from the process's host-view cache.
    let runs = 0;
    const inProcessHost = inProcess(() => hostViewFromDocument(bytes, `${file}.${(runs += 1)}`, `vnode${computers - 1}`));
    // Phases of checkTopology (warm): decoding, the XML parser alone (building the trees, and
    // checking only, as the fast paths' block scan does), and the rest (reading the trees into the
    // topology with valibot and the cross-checks).
    const inProcessDecode = inProcess(() => decodeDocument(bytes));
    const text = (decodeDocument(bytes) as { text: string }).text;
    const inProcessXml = inProcess(() => parseXml(text, { stream: { name: "experiment", child() {} } }));
    const inProcessScan = inProcess(() => parseXml(text, { scanOnly: true }));

    const rows: [string, Runs][] = [
      ["python3 ElementTree.parse (anchor)", python],
      ["benito --version (startup floor)", startup],
      ["benito topdl validate (full parse+validate)", validate],
      [`benito topdl show --host vnode${computers - 1} (single host)`, vnode],
      [`benito topdl show --host pnode7 (pnode, ${hosted} vnodes)`, pnode],
    ];
    // Warm figures are for comparing parts: the per-element code never reaches the FTL tier (src/topdl/jit.ts), so they are slower than they could be warm.
    console.log(`${"in process: checkTopology (best of 3, warm, no FTL)".padEnd(56)} ${inProcessParse.toFixed(0).padStart(6)} ms`);
    console.log(`${"  of which decoding (UTF-8)".padEnd(56)} ${inProcessDecode.toFixed(0).padStart(6)} ms`);
    console.log(`${"  of which the XML parser (xml.ts, trees built)".padEnd(56)} ${inProcessXml.toFixed(0).padStart(6)} ms`);
    console.log(`${"  of which reading and checks (the rest)".padEnd(56)} ${Math.max(0, inProcessParse - inProcessDecode - inProcessXml).toFixed(0).padStart(6)} ms`);
    console.log(`${"in process: the XML parser checking only (fast-path scan)".padEnd(56)} ${inProcessScan.toFixed(0).padStart(6)} ms`);
    console.log(`${"in process: hostViewFromDocument (best of 3, warm)".padEnd(56)} ${inProcessHost.toFixed(0).padStart(6)} ms`);
    console.log(`whole commands, ${rounds} rounds interleaved: median wall, median CPU (user+sys), fastest wall, peak RSS`);
    for (const [label, m] of rows) {
      console.log(`${label.padEnd(56)} ${m.ms.toFixed(0).padStart(6)} ms  ${m.cpuMs.toFixed(0).padStart(6)} ms CPU  ${m.bestMs.toFixed(0).padStart(6)} ms best  ${m.rssMB.toFixed(0).padStart(4)} MB peak RSS`);
    }
    const rate = megabytes / (validate.ms / 1000);
    const cpuRate = megabytes / (validate.cpuMs / 1000);
    const bestRate = megabytes / (validate.bestMs / 1000);
    const load = (values: number[]) => values.map((value) => value.toFixed(1)).join(" ");
    console.log("");
    console.log(`load average before / after measuring: ${load(loadBefore)} / ${load(loadAfter)} (the targets are for a quiet machine: load near 0 on these 2 cores; CPU time is less disturbed than wall time)`);
    console.log(`full parse+validate: ${rate.toFixed(1)} MB/s wall (median; fastest ${bestRate.toFixed(1)}), ${cpuRate.toFixed(1)} MB/s of CPU time (target >= 20 MB/s: ${rate >= 20 ? "met" : "MISSED"}), peak RSS ${validate.rssMB.toFixed(0)} MB (target < 250 MB: ${validate.rssMB < 250 ? "met" : "MISSED"})`);
    console.log(`full parse+validate / anchor: ${(validate.ms / python.ms).toFixed(2)}x wall, ${(validate.cpuMs / python.cpuMs).toFixed(2)}x CPU`);
    for (const [label, m] of [["vnode", vnode], ["pnode", pnode]] as const) {
      console.log(`single-host view (${label}) / anchor: ${(m.ms / python.ms).toFixed(2)}x wall (median), ${(m.cpuMs / python.cpuMs).toFixed(2)}x CPU (target <= 0.5: ${m.ms <= python.ms / 2 ? "met" : "MISSED"} wall, ${m.cpuMs <= python.cpuMs / 2 ? "met" : "MISSED"} CPU)`);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
