// Compiles src/main.ts into the standalone benito executables (x86-64 and arm64) under build/.
import pkg from "../package.json";

/** One compiled output: Bun's target triple and where the binary goes. */
interface Target {
  /** Bun's cross-compilation target. */
  readonly bunTarget: "bun-linux-x64" | "bun-linux-arm64";
  /** Output path, relative to the repository root. */
  readonly outfile: string;
}

const targets: readonly Target[] = [
  { bunTarget: "bun-linux-x64", outfile: "build/benito" },
  { bunTarget: "bun-linux-arm64", outfile: "build/benito-arm64" },
];

const commit = gitCommit();
// Build the host's own architecture only when asked (BENITO_TARGETS=host), e.g. on an arm64 dev box.
const wanted = process.env.BENITO_TARGETS === "host" ? targets.slice(0, 1) : targets;

for (const target of wanted) {
  const result = await Bun.build({
    entrypoints: ["src/main.ts"],
    // A binary on a testbed node must never pick up a stray bunfig.toml or .env from its cwd.
    // jitPolicy: JavaScriptCore's tier-up thresholds × 100. Almost every run is short (a vnode's
    // boot, routes, status): the optimizing compiles the default thresholds start cost more CPU
    // than they save (vnode boot 50 -> 34 ms CPU, 10,000 routes 111 -> 99 ms; 30 and 300 measured
    // about the same). Long-running loops (forwarder, plug, capture) reset it: src/system/jit.ts.
    compile: { target: target.bunTarget, outfile: target.outfile, autoloadBunfig: false, autoloadDotenv: false, jitPolicy: 100 },
    define: { BENITO_VERSION: JSON.stringify(pkg.version), BENITO_COMMIT: JSON.stringify(commit) },
    // Never minify identifiers away: stack traces under --debug must stay readable. Never strip.
    minify: { whitespace: true, syntax: true, identifiers: false },
    // Precompiled bytecode: start-up is paid at every boot (about 33 ms → 13 ms for a no-op run).
    bytecode: true,
    // One chunk per lazily loaded command (src/cli/registry.ts): the pages of a module a run never
    // imports are never read, and its functions never made. A 0-route `routes` run peaks at about
    // 37 MB RSS instead of 40.5 (most of a run's RSS is the binary's own pages it touches).
    splitting: true,
    format: "esm",
    sourcemap: "none",
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    process.exit(1);
  }
  console.log(`built ${target.outfile} (${target.bunTarget}, ${pkg.version} ${commit})`);
}

/** The short commit of HEAD, with "+dirty" when the tree has uncommitted changes; "unknown" outside git. */
function gitCommit(): string {
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { stderr: "ignore" });
  if (head.exitCode !== 0) return "unknown";
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { stderr: "ignore" });
  return head.stdout.toString().trim() + (dirty.stdout.toString().trim() ? "+dirty" : "");
}
