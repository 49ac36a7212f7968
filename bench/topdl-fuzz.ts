// `make fuzz-topdl`: the fast-path differential fuzzer of test/topdl/fast-path.test.ts, run for longer (FUZZ_SECONDS, FUZZ_SEED).
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fuzz, generateExperiment } from "../test/topdl/differential";

const seconds = Number(process.env.FUZZ_SECONDS ?? 300);
const firstSeed = Number(process.env.FUZZ_SEED ?? 1);
const corpusDir = resolve(import.meta.dir, "../../shared/topdl/corpus");

function corpus(): string[] {
  try {
    return readdirSync(corpusDir, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith(".xml") && !entry.parentPath.includes("not-topdl"))
      .map((entry) => readFileSync(resolve(entry.parentPath, entry.name), "utf8"));
  } catch {
    console.warn(`SKIPPED: the corpus seeds: ${corpusDir} is absent (generated documents only)`);
    return [];
  }
}

const seeds = [
  generateExperiment({ pnodes: 3, vnodesPerPnode: 4, lans: 5 }),
  generateExperiment({ pnodes: 2, vnodesPerPnode: 6, lans: 3, layout: "compact" }),
  generateExperiment({ pnodes: 4, vnodesPerPnode: 3, lans: 7, layout: "crlf" }),
  generateExperiment({ pnodes: 3, vnodesPerPnode: 5, lans: 4, partitions: true }),
  ...corpus(),
];
const started = performance.now();
const deadline = started + seconds * 1000;
let documents = 0;
let comparisons = 0;
let partial = 0;
let differences = 0;
for (let seed = firstSeed; performance.now() < deadline; seed += 1) {
  const report = fuzz(seeds, 1000, seed, deadline);
  documents += report.documents;
  comparisons += report.comparisons;
  partial += report.partial;
  differences += report.differences.length;
  for (const difference of report.differences.slice(0, 3)) console.log(`DIFFERENCE ${difference}\n`);
}
const elapsed = (performance.now() - started) / 1000;
console.log(`${documents} mutants of ${seeds.length} seed documents, ${comparisons} comparisons (${partial} by the fast path) in ${elapsed.toFixed(0)} s (${(documents / elapsed).toFixed(0)} mutants/s): ${differences} differences`);
process.exitCode = differences > 0 ? 1 : 0;
