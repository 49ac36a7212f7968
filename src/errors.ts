// The error types every layer throws; src/main.ts turns them into one-line messages and exit codes.

/** Exit codes, as documented in the README. */
export const ExitCode = {
  /** Everything was done. */
  ok: 0,
  /** The operation failed (the kernel, a process or the file system refused). */
  failed: 1,
  /** The command line was wrong. */
  usage: 2,
  /** The input (TopDL, route file, config) was invalid. */
  input: 3,
  /** boot/down stopped early on SIGINT (128 + 2), after finishing the step under way. */
  interrupted: 130,
  /** boot/down stopped early on SIGTERM (128 + 15), after finishing the step under way. */
  terminated: 143,
} as const;

/** One of the documented exit codes. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * BenitoError class: an error that reads "benito: while <doing> on <what>: <cause>".
 *
 * Every layer throws it (or a subclass) for anything the user should see; anything else
 * reaching src/main.ts is a bug and is reported as such.
 */
export class BenitoError extends Error {
  /** What was being done, e.g. "reading the topology". */
  readonly doing: string;
  /** What it was done on, e.g. a file name or an interface. */
  readonly what: string;
  /** Why it failed. */
  readonly reason: string;
  /** The exit code this error maps to. */
  readonly exitCode: ExitCode;
  /** Further lines (e.g. every validation problem), printed after the headline. */
  readonly details: readonly string[];

  constructor(doing: string, what: string, reason: string, exitCode: ExitCode = ExitCode.failed, details: readonly string[] = [], options?: ErrorOptions) {
    super(`benito: while ${doing} on ${what}: ${reason}`, options);
    this.name = "BenitoError";
    this.doing = doing;
    this.what = what;
    this.reason = reason;
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** UsageError class: a wrong command line (exit 2). */
export class UsageError extends BenitoError {
  constructor(command: string, reason: string) {
    super("parsing the command line", command, reason, ExitCode.usage);
    this.name = "UsageError";
  }
}

/** InputError class: invalid input (exit 3): TopDL, route file, config. */
export class InputError extends BenitoError {
  constructor(doing: string, what: string, reason: string, details: readonly string[] = []) {
    super(doing, what, reason, ExitCode.input, details);
    this.name = "InputError";
  }
}

/**
 * SystemError class: the operating system refused (exit 1). Thrown by src/system for what the
 * kernel, a file or a process refused, so nothing the OS says reaches the user as an "internal
 * error".
 */
export class SystemError extends BenitoError {
  constructor(doing: string, what: string, reason: string, options?: ErrorOptions) {
    super(doing, what, reason, ExitCode.failed, [], options);
    this.name = "SystemError";
  }
}

/** The headline of a BenitoError as the README promises it: `benito: while <doing> on <what>: <cause>`. */
export function headline(error: BenitoError): string {
  return `benito: while ${error.doing} on ${error.what}: ${error.reason}`;
}

/**
 * An error Node or Bun raised for a system call (it carries an errno `code` such as "EACCES"
 * and the `syscall`), as a SystemError naming the call and its path; undefined for anything else.
 */
export function osError(error: unknown): SystemError | undefined {
  if (!(error instanceof Error) || !("code" in error) || typeof error.code !== "string" || !/^E[A-Z0-9]+$/.test(error.code)) return undefined;
  const syscall = "syscall" in error && typeof error.syscall === "string" ? error.syscall : "a system call";
  const path = "path" in error && typeof error.path === "string" ? error.path : "the system";
  return new SystemError(`calling ${syscall}`, path, error.message, { cause: error });
}

/** Returns the message of any thrown value, for wrapping OS errors as causes. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
