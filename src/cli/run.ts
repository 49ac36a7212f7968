// Dispatches a command line to its command and maps every outcome to an exit code; prints nothing itself.
import { basename } from "node:path";
import { BenitoError, ExitCode, UsageError } from "../errors";
import type { CommandContext } from "./command";
import { mainHelp } from "./help";
import { findCommand, multiCallNames } from "./registry";
import { commit, version } from "../version";

/**
 * Runs benito for one command line.
 *
 * @param argv0 The name the executable was invoked as (multi-call: `routes.py` means `benito routes`).
 * @param args The arguments after the executable name.
 * @param ctx Output and environment; `debug` is recomputed from `--debug` here.
 * @returns The exit code.
 */
export async function runCli(argv0: string, args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const rest = [...args];
  // --debug is global: accepted anywhere before the command's own arguments end.
  const debugAt = rest.indexOf("--debug");
  const debug = ctx.debug || debugAt >= 0;
  if (debugAt >= 0) rest.splice(debugAt, 1);
  const context: CommandContext = { ...ctx, debug };
  try {
    return await dispatch(basename(argv0), rest, context);
  } catch (error) {
    return report(error, context);
  }
}

async function dispatch(invokedAs: string, args: string[], ctx: CommandContext): Promise<ExitCode> {
  const implied = multiCallNames[invokedAs];
  if (implied !== undefined) return runNamed(implied, args, ctx);

  const [first, ...rest] = args;
  if (first === undefined || first === "--help" || first === "-h") {
    ctx.io.out(mainHelp());
    return first === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (first === "--version" || first === "-V") {
    ctx.io.out(`benito ${version} (${commit})`);
    return ExitCode.ok;
  }
  if (first === "help") {
    const [name, ...extra] = rest;
    if (name === undefined) {
      ctx.io.out(mainHelp());
      return ExitCode.ok;
    }
    if (extra.length > 0) throw new UsageError("help", `too many arguments: ${extra.join(" ")}`);
    const command = findCommand(name);
    if (command === undefined) throw new UsageError("help", `no command named "${name}"; see benito --help`);
    ctx.io.out(command.help);
    return ExitCode.ok;
  }
  return runNamed(first, rest, ctx);
}

async function runNamed(name: string, args: string[], ctx: CommandContext): Promise<ExitCode> {
  const command = findCommand(name);
  if (command === undefined) throw new UsageError(name, `no command named "${name}"; see benito --help`);
  if (args.includes("--help") || args.includes("-h")) {
    ctx.io.out(command.help);
    return ExitCode.ok;
  }
  return command.run(args, ctx);
}

/** Prints an error the way the README promises: one line (plus details), no stack unless --debug. */
function report(error: unknown, ctx: CommandContext): ExitCode {
  if (error instanceof BenitoError) {
    ctx.io.err(error.message);
    for (const line of error.details) ctx.io.err(`  ${line}`);
    if (ctx.debug && error.stack) ctx.io.err(error.stack);
    if (error.exitCode === ExitCode.usage) ctx.io.err("benito: see --help for usage");
    return error.exitCode;
  }
  // Anything else is a bug in benito: say so plainly, still without a stack trace by default.
  const message = error instanceof Error ? error.message : String(error);
  ctx.io.err(`benito: internal error: ${message} (run with --debug for a stack trace, and report it)`);
  if (ctx.debug && error instanceof Error && error.stack) ctx.io.err(error.stack);
  return ExitCode.failed;
}
