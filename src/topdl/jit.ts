// A hint to JavaScriptCore for the per-element code of a one-shot read: stay below its top tier (FTL), whose compiling would not pay back.
import { noFTL } from "bun:jsc";

/** Any function (noFTL takes functions of any signature). */
type AnyFunction = (...args: never[]) => unknown;

/**
 * Keeps functions out of JavaScriptCore's FTL tier; they still reach its DFG JIT. For code run
 * once per element of a document: reading the 9 MB benchmark document cold, the FTL compiled
 * the reader's and the resolver's per-element functions for ~90 ms of CPU on another core (one
 * took 51 ms, another finished after the phase it was for), time a loaded machine takes from
 * the read itself. Measured with them kept out: CPU 508 → 417 ms, wall no worse (bench/README.md).
 */
export function keepOutOfFtl(functions: readonly AnyFunction[]): void {
  for (const f of functions) noFTL(f as (...args: unknown[]) => unknown);
}
