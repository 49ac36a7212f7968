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

/** Inputs from this size on are worked on long enough for the optimizing JIT to pay back. */
const largeInputBytes = 1024 * 1024;

/**
 * The normal JIT policy for a large input: reading a megabyte of TopDL or more (a whole 9 MB
 * document: 434 ms of CPU with it, 551 ms without) is long, hot work.
 */
export function optimizeForInput(byteLength: number): void {
  if (byteLength >= largeInputBytes) optimizeFromNow();
}
