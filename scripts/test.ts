// Runs the test suite (bun test) and ends with the plain summary line CI reads: "tests: N passed, N failed, N skipped".
export {};
const junit = "build/junit.xml";
// Namespace, switch and VM tests wait on real kernels and processes: 2 minutes per test, each wait inside bounded.
const child = Bun.spawn(["node_modules/.bin/bun", "test", "--timeout=120000", "--reporter=junit", `--reporter-outfile=${junit}`, ...process.argv.slice(2)], {
  stdio: ["inherit", "inherit", "inherit"],
});
const code = await child.exited;

const counts = { tests: 0, failures: 0, skipped: 0 };
try {
  const xml = await Bun.file(junit).text();
  // The first <testsuites ...> element carries the totals.
  const head = /<testsuites\b[^>]*>/.exec(xml)?.[0] ?? "";
  for (const key of Object.keys(counts) as (keyof typeof counts)[]) {
    counts[key] = Number(new RegExp(`\\b${key}="(\\d+)"`).exec(head)?.[1] ?? 0);
  }
} catch {
  console.error("tests: could not read the JUnit report; see the output above");
}
const failed = counts.failures + (code !== 0 && counts.failures === 0 ? 1 : 0);
const passed = counts.tests - counts.failures - counts.skipped;
console.log(`tests: ${passed} passed, ${failed} failed, ${counts.skipped} skipped`);
process.exit(code === 0 ? 0 : 1);
