// `bun bench/topdl-tiny.ts`: one host's fast path against the whole read on small TopDL documents, each a cold read in a fresh process built as benito is.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The documents (a host of each), smallest first: the example lab, and corpus documents when ../shared is there. */
const corpus = resolve(import.meta.dir, "../../shared/topdl/corpus");
const documents: readonly (readonly [file: string, host: string])[] = [
  [resolve(import.meta.dir, "../examples/lab/topo.xml"), "a"] as const,
  ...(
    [
      ["deter-project-magi/exp1.xml", "client2"],
      ["deter-project-magi/5PnodeClient.xml", "client3"],
      ["deter-project-magi/exp3.xml", "client10"],
      ["deter-project-magi/6node50client.xml", "client25"],
      ["deter-project-spi/btopo.xml", "n-437"],
    ] as const
  )
    .map(([file, host]) => [join(corpus, file), host] as const)
    .filter(([file]) => existsSync(file)),
].sort(([a], [b]) => readFileSync(a).length - readFileSync(b).length);
/** Cold reads of each kind per document (alternating whole and fast), BENCH_ROUNDS. */
const rounds = Number(process.env.BENCH_ROUNDS ?? 21);

/** One read's figures, as read-once.ts prints them. */
interface Read {
  readonly cpuMs: number;
  readonly mainMs: number;
  readonly partial: boolean;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? Number.NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "benito-bench-topdl-tiny-"));
  try {
    // Built as scripts/compile.ts builds benito (jitPolicy, bytecode): a source run's JIT behaves otherwise.
    const binary = join(dir, "read-once");
    const built = await Bun.build({
      entrypoints: [resolve(import.meta.dir, "topdl-tiny/read-once.ts")],
      compile: { outfile: binary, autoloadBunfig: false, autoloadDotenv: false, jitPolicy: 100 },
      minify: { whitespace: true, syntax: true, identifiers: false },
      bytecode: true,
      format: "esm",
    });
    if (!built.success) throw new Error(built.logs.join("\n"));
    if (!existsSync(corpus)) console.log(`SKIPPED: the corpus documents (${corpus} is absent): the example lab only`);
    const load = (): string => loadavg().map((value) => value.toFixed(1)).join(" ");
    console.log(`cold reads in a fresh process each, ${rounds} of each kind alternating; medians of CPU (all threads) and main-thread CPU; load ${load()}`);
    for (const [file, host] of documents) {
      const reads: Record<"whole" | "fast", Read[]> = { whole: [], fast: [] };
      for (let round = 0; round < rounds; round += 1) {
        for (const mode of ["whole", "fast"] as const) {
          const child = Bun.spawnSync([binary, mode, file, host]);
          if (child.exitCode !== 0) throw new Error(`read-once ${mode} ${file} exited ${child.exitCode}: ${child.stderr.toString().trim()}`);
          reads[mode].push(JSON.parse(child.stdout.toString()) as Read);
        }
      }
      const [whole, fast] = [reads.whole, reads.fast];
      const cpu = (list: readonly Read[]): number => median(list.map((read) => read.cpuMs));
      const mainMs = (list: readonly Read[]): number => median(list.map((read) => read.mainMs));
      const size = `${(readFileSync(file).length / 1024).toFixed(1)} KB`;
      const taken = fast.every((read) => read.partial) ? "" : " (fast path NOT taken)";
      console.log(
        `${`${file.split("/").pop()} (${size}), host ${host}`.padEnd(44)} whole ${cpu(whole).toFixed(2)} ms CPU (${mainMs(whole).toFixed(2)} main)  fast ${cpu(fast).toFixed(2)} ms CPU (${mainMs(fast).toFixed(2)} main)  fast/whole ${(cpu(fast) / cpu(whole)).toFixed(2)}x${taken}`,
      );
    }
    console.log(`load after: ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
