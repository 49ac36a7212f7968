// The shape every CLI command has; commands are listed in src/cli/registry.ts.
import type { ExitCode } from "../errors";

/**
 * Output sink interface: how a command writes. Only src/main.ts creates one, so only it
 * decides where output goes (tests capture it).
 */
export interface Io {
  /** Writes text (a newline is appended) to standard output. */
  out(text: string): void;
  /** Writes text (a newline is appended) to standard error: warnings, progress. */
  err(text: string): void;
}

/** Context interface: what a command gets besides its arguments. */
export interface CommandContext {
  /** Where to write. */
  readonly io: Io;
  /** The process environment (read-only view). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** True when --debug was given: errors carry stack traces. */
  readonly debug: boolean;
}

/** Command interface: one `benito CMD`. */
export interface Command {
  /** The word after `benito`, e.g. "topdl". */
  readonly name: string;
  /** The full help text for `benito help CMD` / `benito CMD --help`. */
  readonly help: string;
  /**
   * Runs the command. Throws BenitoError (or a subclass) for anything that went wrong; returns
   * the exit code otherwise (a command may return 1 or 3 after reporting partial failures).
   */
  run(args: readonly string[], ctx: CommandContext): Promise<ExitCode>;
  /**
   * Where a child program's argv starts in `args`, for commands that run one (`netns exec NS
   * PROGRAM…`); undefined when there is none. Nothing from there on is read as benito's option
   * (`--help`, `--debug`), with or without a `--` before it.
   */
  childArgvStart?(args: readonly string[]): number | undefined;
}
