// Named failpoints, a test hook: BENITO_FAILPOINT=<name> makes the process SIGKILL itself when it reaches that point.
import { appendFileSync } from "node:fs";

/** The environment variable naming the failpoint at which benito kills itself (a test hook, documented in docs/ledger.md). */
export const failpointVariable = "BENITO_FAILPOINT";
/** The environment variable naming a file to which every failpoint reached is appended, one name a line (tests list them so). */
export const failpointTraceVariable = "BENITO_FAILPOINT_TRACE";

// Read once and taken out of the environment, so programs benito starts (plugs, helpers in a namespace) do not inherit them.
const armed = process.env[failpointVariable];
const trace = process.env[failpointTraceVariable];
delete process.env[failpointVariable];
delete process.env[failpointTraceVariable];

/**
 * Marks a point of a change: when BENITO_FAILPOINT names it, the process kills itself with
 * SIGKILL right here (no cleanup, as a power cut or `kill -9` would), so tests can crash at every
 * step deterministically. Names are stable across runs: `<what>:<id>:<phase>`.
 */
export function failpoint(name: string): void {
  if (trace !== undefined) {
    try {
      appendFileSync(trace, `${name}\n`);
    } catch {
      // A trace that cannot be written is a test's problem, never the run's.
    }
  }
  if (armed !== undefined && armed === name) process.kill(process.pid, "SIGKILL");
}
