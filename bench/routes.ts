// `make bench-routes`: 10,000 routes in a throwaway namespace with build/benito vs one `ip -batch` vs one `ip route replace` per route; re-run and start-up cost.
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const routeCount = 10_000;
const perProcessSample = 500;
const repeats = 5;
const benitoBinary = process.env.BENITO_BIN ?? resolve(import.meta.dir, "../build/benito");
const bun = process.execPath;
/**
 * GNU time reports a child's own peak RSS. Without it, the rusage of a child Bun spawns also
 * counts the pages of this (Bun) process it was spawned from, so figures are upper bounds.
 */
const gnuTime = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const rssNote = gnuTime === undefined ? " (upper bound: /usr/bin/time is absent)" : "";

/** One measured run: wall time (spawn to exit), the child's peak RSS and CPU time, and what it printed on stderr. */
interface Sample {
  readonly ms: number;
  readonly rssMb: number;
  /** User and system CPU of the run, in milliseconds. */
  readonly userMs: number;
  readonly sysMs: number;
  readonly stderr: string;
}

/** Runs argv to completion (under GNU time when present); fails loudly on a non-zero exit (a benchmark of a failure measures nothing). */
async function measure(argv: readonly string[], rssFile: string): Promise<Sample> {
  const wrapped = gnuTime === undefined ? [...argv] : [gnuTime, "-f", "%M", "-o", rssFile, ...argv];
  const begun = performance.now();
  const child = Bun.spawn(wrapped, { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: 120_000, killSignal: "SIGKILL" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const ms = performance.now() - begun;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${err.trim() || out.trim()}`);
  const kilobytes = gnuTime === undefined ? (child.resourceUsage()?.maxRSS ?? 0) / 1024 : Number(readFileSync(rssFile, "utf8").trim().split("\n").pop());
  // The rusage of GNU time's process counts the program it waited for.
  const cpu = child.resourceUsage()?.cpuTime;
  return { ms, rssMb: kilobytes / 1024, userMs: Number(cpu?.user ?? 0) / 1000, sysMs: Number(cpu?.system ?? 0) / 1000, stderr: err };
}

function middle(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

function median(samples: readonly Sample[]): Sample {
  const by = (key: "ms" | "rssMb" | "userMs" | "sysMs") => middle(samples.map((sample) => sample[key]));
  return { ms: by("ms"), rssMb: by("rssMb"), userMs: by("userMs"), sysMs: by("sysMs"), stderr: "" };
}

/** The median of each part of `benito routes --timings` over the runs, in the order it prints them. */
function medianSplit(samples: readonly Sample[]): [string, number][] {
  const parts = new Map<string, number[]>();
  for (const sample of samples) {
    const line = sample.stderr.split("\n").find((text) => text.startsWith("benito routes: timings: ")) ?? "";
    for (const part of line.slice("benito routes: timings: ".length).split(/, |; /)) {
      const match = /^(.+) ([\d.]+) ms$/.exec(part);
      if (match === null) continue;
      const values = parts.get(match[1] ?? "") ?? [];
      values.push(Number(match[2]));
      parts.set(match[1] ?? "", values);
    }
  }
  return [...parts].map(([name, values]) => [name, middle(values)]);
}

async function run(argv: readonly string[]): Promise<void> {
  const child = Bun.spawn([...argv], { stdout: "ignore", stderr: "pipe", timeout: 60_000 });
  const [err, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")}: ${err.trim()}`);
}

/** 10.100.0.0/24, 10.100.1.0/24, … through one gateway. */
function destinations(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `10.${100 + (index >> 8)}.${index & 255}.0/24`);
}

/** The half that runs inside the namespace: every tool is spawned directly, with no per-process `ip netns exec` cost. */
async function inside(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), "benito-bench-routes-"));
  try {
    mkdirSync(join(folder, "route"));
    const dsts = destinations(routeCount);
    writeFileSync(join(folder, "route", "bench"), dsts.map((dst) => `${dst} via 10.0.0.1`).join("\n") + "\n");
    writeFileSync(join(folder, "route", "empty"), "");
    const batch = join(folder, "batch");
    writeFileSync(batch, dsts.map((dst) => `route replace ${dst} via 10.0.0.1 proto 183`).join("\n") + "\n");
    const flush = () => run(["ip", "route", "flush", "proto", "183"]);
    const rssFile = join(folder, "rss");
    const benito = (host: string) => [benitoBinary, "routes", "--timings", "--wait", "0", folder, host];

    const fresh: Sample[] = [];
    const again: Sample[] = [];
    const ipBatch: Sample[] = [];
    const ipBatchAgain: Sample[] = [];
    const perProcess: Sample[] = [];
    for (let round = 0; round < repeats; round++) {
      await flush();
      fresh.push(await measure(benito("bench"), rssFile));
      again.push(await measure(benito("bench"), rssFile));
      await flush();
      ipBatch.push(await measure(["ip", "-batch", batch], rssFile));
      ipBatchAgain.push(await measure(["ip", "-batch", batch], rssFile));
    }
    await flush();
    const begun = performance.now();
    for (const dst of dsts.slice(0, perProcessSample)) await run(["ip", "route", "replace", dst, "via", "10.0.0.1", "proto", "183"]);
    perProcess.push({ ms: ((performance.now() - begun) * routeCount) / perProcessSample, rssMb: 0, userMs: 0, sysMs: 0, stderr: "" });
    await flush();
    const empty: Sample[] = [];
    for (let round = 0; round < 15; round++) empty.push(await measure(benito("empty"), rssFile));

    const rows: [string, Sample][] = [
      [`benito routes, ${routeCount} new`, median(fresh)],
      [`benito routes, ${routeCount} unchanged (re-run)`, median(again)],
      [`ip -batch, ${routeCount} route replace`, median(ipBatch)],
      [`ip -batch again (${routeCount} replaced in place)`, median(ipBatchAgain)],
      [`ip route replace × ${routeCount} (from ${perProcessSample})`, median(perProcess)],
      ["benito routes, 0 routes (start-up)", median(empty)],
    ];
    const load = loadavg().map((value) => value.toFixed(2)).join(" ");
    console.log(`bench-routes: ${routeCount} IPv4 routes in a throwaway namespace; median of ${repeats} (start-up: of 15); load average ${load}; benito = ${benitoBinary}`);
    const cpuText = (sample: Sample) => (sample.userMs + sample.sysMs === 0 ? "" : `  CPU ${(sample.userMs + sample.sysMs).toFixed(0)} ms (user ${sample.userMs.toFixed(0)}, sys ${sample.sysMs.toFixed(0)})`);
    for (const [label, sample] of rows) console.log(`  ${label.padEnd(52)} ${sample.ms.toFixed(1).padStart(9)} ms ${sample.rssMb === 0 ? "" : `${sample.rssMb.toFixed(1).padStart(7)} MB peak RSS${rssNote}`}${cpuText(sample)}`);
    // Where benito's time for 10,000 new routes goes (medians of its --timings): all but "send" is benito's own work.
    console.log(`  split of "10k new" (benito routes --timings, medians): ${medianSplit(fresh).map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(", ")} ms`);
    const batchMs = median(ipBatch).ms;
    const ratio = (sample: Sample) => sample.ms / batchMs;
    const cpuRatio = (median(fresh).userMs + median(fresh).sysMs) / (median(ipBatch).userMs + median(ipBatch).sysMs);
    const checks: [string, boolean][] = [
      [`10k new ÷ ip -batch = ${ratio(median(fresh)).toFixed(2)}× wall, ${cpuRatio.toFixed(2)}× CPU (target ≤ 0.8× on a quiet machine, ≤ 1.0× loaded; load average ${load})`, ratio(median(fresh)) <= 0.8],
      [`10k unchanged ÷ ip -batch = ${ratio(median(again)).toFixed(2)}× (target ≤ 1.0×)`, ratio(median(again)) <= 1],
      [`per-process ÷ benito = ${(median(perProcess).ms / median(fresh).ms).toFixed(0)}× slower`, true],
      [`0 routes: ${median(empty).ms.toFixed(1)} ms (target < 20 ms), ${median(empty).rssMb.toFixed(1)} MB (target < 40 MB)`, median(empty).ms < 20 && median(empty).rssMb < 40],
    ];
    for (const [text, met] of checks) console.log(`  ${met ? "ok  " : "MISS"} ${text}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The outer half: make the namespace (a link and an address so the gateway is reachable), run the inner half in it, always delete it by name. */
async function outside(): Promise<void> {
  const namespace = `bench-routes-${process.pid}`;
  await run(["ip", "netns", "add", namespace]);
  try {
    await run(["ip", "-n", namespace, "link", "set", "lo", "up"]);
    await run(["ip", "-n", namespace, "link", "add", "e0", "type", "veth", "peer", "name", "e0p"]);
    await run(["ip", "-n", namespace, "link", "set", "e0p", "up"]);
    await run(["ip", "-n", namespace, "link", "set", "e0", "up"]);
    await run(["ip", "-n", namespace, "addr", "add", "10.0.0.2/16", "dev", "e0"]);
    const child = Bun.spawn(["ip", "netns", "exec", namespace, bun, import.meta.path, "--inside"], { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 });
    const code = await child.exited;
    if (code !== 0) process.exitCode = 1;
  } finally {
    await run(["ip", "netns", "del", namespace]);
  }
}

if (process.getuid?.() !== 0) {
  console.error("bench-routes: needs root (it makes a network namespace)");
  process.exit(1);
}
await (process.argv.includes("--inside") ? inside() : outside());
