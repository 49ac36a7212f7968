// Runs the test suite (bun test) and ends with the plain summary line CI reads: "tests: N passed, N failed, N skipped".
export {};

/** The crash-resume shards: independent labs, each mostly waiting on benito's own processes, so they run in parallel processes after the rest. */
const crashShards = "test/boot/crash-resume-";
// Namespace, switch and VM tests wait on real kernels and processes: 2 minutes per test, each wait inside bounded.
const common = ["--timeout=120000", "--reporter=junit"];
const args = process.argv.slice(2);

/** Runs one `bun test`; returns its exit code and the totals of its JUnit report (undefined when unreadable). */
async function bunTest(junit: string, extra: readonly string[]): Promise<{ code: number; counts?: { tests: number; failures: number; skipped: number } }> {
  const child = Bun.spawn(["node_modules/.bin/bun", "test", ...common, `--reporter-outfile=${junit}`, ...extra], { stdio: ["inherit", "inherit", "inherit"] });
  const code = await child.exited;
  try {
    const xml = await Bun.file(junit).text();
    // The first <testsuites ...> element carries the totals.
    const head = /<testsuites\b[^>]*>/.exec(xml)?.[0] ?? "";
    const read = (key: string) => Number(new RegExp(`\\b${key}="(\\d+)"`).exec(head)?.[1] ?? 0);
    return { code, counts: { tests: read("tests"), failures: read("failures"), skipped: read("skipped") } };
  } catch {
    console.error(`tests: could not read the JUnit report ${junit}; see the output above`);
    return { code };
  }
}

// Named files or filters run as given, in one process. The whole suite: everything else first,
// then the crash-resume shards in parallel (one worker per core, at least two).
const runs =
  args.length > 0
    ? [await bunTest("build/junit.xml", args)]
    : [
        await bunTest("build/junit.xml", [`--path-ignore-patterns=${crashShards}*`]),
        await bunTest("build/junit-crash.xml", [`--parallel=${Math.max(2, navigator.hardwareConcurrency)}`, crashShards]),
      ];

let passed = 0;
let failed = 0;
let skipped = 0;
for (const { code, counts } of runs) {
  const failures = (counts?.failures ?? 0) + (code !== 0 && (counts?.failures ?? 0) === 0 ? 1 : 0);
  passed += (counts?.tests ?? 0) - (counts?.failures ?? 0) - (counts?.skipped ?? 0);
  failed += failures;
  skipped += counts?.skipped ?? 0;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(runs.every((result) => result.code === 0) ? 0 : 1);
