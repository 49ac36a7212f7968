// SIGTERM/SIGINT during boot and down: noted, so the run finishes the step under way, records itself as interrupted and exits 143/130.
import { ExitCode } from "../errors";

/** Interrupts interface: what a long operation asks while it runs. */
export interface Interrupts {
  /** The signal received, if any. */
  readonly received: () => "SIGTERM" | "SIGINT" | undefined;
  /** The exit code for the signal received (143 for SIGTERM, 130 for SIGINT). */
  readonly exitCode: () => ExitCode;
  /** Restores the default handling. */
  readonly dispose: () => void;
}

/**
 * Catches SIGTERM and SIGINT (what systemd's start timeout and a terminal send) until disposed:
 * instead of dying half way, the operation sees {@link Interrupts.received} and stops starting
 * new steps. A second signal of the same kind is ignored (the step under way is bounded).
 */
export function watchInterrupts(): Interrupts {
  let received: "SIGTERM" | "SIGINT" | undefined;
  const onTerm = () => {
    received ??= "SIGTERM";
  };
  const onInt = () => {
    received ??= "SIGINT";
  };
  process.on("SIGTERM", onTerm);
  process.on("SIGINT", onInt);
  return {
    received: () => received,
    exitCode: () => (received === "SIGINT" ? ExitCode.interrupted : ExitCode.terminated),
    dispose: () => {
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
    },
  };
}
