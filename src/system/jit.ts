// The JIT policy of a long-running benito process: back to JavaScriptCore's normal tier-up once its hot loop starts.

/**
 * Lets JavaScriptCore optimize as usual from now on. benito is built to stay in the
 * interpreter and the baseline JIT far longer than the engine's default (scripts/compile.ts,
 * `jitPolicy`): almost every run is short (boot, routes, status), and the optimizing compiles it
 * would start cost more CPU than they save (a vnode's boot: 50 -> 34 ms of CPU). A forwarder,
 * a plug or a capture runs for hours: its loop wants the optimizing JIT at once.
 */
export function optimizeFromNow(): void {
  Bun.unsafe.setJITPolicy(1);
}
