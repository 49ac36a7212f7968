// Dispatches a command line to its command and maps every outcome to an exit code; prints nothing itself.
import { basename } from "node:path";
import { BenitoError, ExitCode, headline, osError, UsageError } from "../errors";
import { didYouMean } from "../nearest";
import type { Command, CommandContext } from "./command";
import { mainHelp } from "./help";
import { commands, loadCommand, multiCallNames } from "./registry";
import { commit, version } from "../version";

/** The options benito reads before the command name (and, for the multi-call names, among the command's own). */
const globalOptions = ["--debug", "--help", "-h", "--version", "-V"];

/**
 * Runs benito for one command line.
 *
 * Global options (`--debug`, `--help`, `--version`) are read only before the command name.
 * Everything after it belongs to the command: its own `--help`/`-h`/`--debug` are honoured only
 * among its own arguments, never after `--` or in a child program's argv
 * (`benito netns exec NS -- prog --help` passes `--help` to prog).
 *
 * @param argv0 The name the executable was invoked as (multi-call: `routes.py` means `benito routes`).
 * @param args The arguments after the executable name.
 * @param ctx Output and environment; `debug` is recomputed from `--debug` here.
 * @returns The exit code.
 */
export async function runCli(argv0: string, args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const state = { debug: ctx.debug };
  try {
    return await dispatch(basename(argv0), args, ctx, state);
  } catch (error) {
    return report(error, { ...ctx, debug: state.debug });
  }
}

async function dispatch(invokedAs: string, args: readonly string[], ctx: CommandContext, state: { debug: boolean }): Promise<ExitCode> {
  const implied = multiCallNames[invokedAs];
  if (implied !== undefined) {
    const own = ownArguments(await loadCommand(implied), args);
    if (own.includes("--version") || own.includes("-V")) return printVersion(ctx, invokedAs);
    return runNamed(implied, args, ctx, state);
  }

  let index = 0;
  let help = false;
  for (; index < args.length; index++) {
    const word = args[index] ?? "";
    if (!word.startsWith("-")) break;
    if (word === "--debug") state.debug = true;
    else if (word === "--help" || word === "-h") help = true;
    else if (word === "--version" || word === "-V") return printVersion(ctx, "benito");
    else if (word === "--") {
      index += 1;
      break;
    } else throw new UsageError("benito", `unknown global option "${word}"${didYouMean(word, globalOptions)}`);
  }
  const [first, ...rest] = args.slice(index);
  if (first === undefined || help) {
    ctx.io.out(mainHelp());
    return first === undefined && !help ? ExitCode.usage : ExitCode.ok;
  }
  if (first === "help") {
    const [name, ...extra] = rest;
    if (name === undefined) {
      ctx.io.out(mainHelp());
      return ExitCode.ok;
    }
    if (extra.length > 0) throw new UsageError("help", `too many arguments: ${extra.join(" ")}`);
    const command = await loadCommand(name);
    if (command === undefined) throw new UsageError("help", `no command named "${name}"${suggestCommand(name)}; see benito --help`);
    ctx.io.out(command.help);
    return ExitCode.ok;
  }
  return runNamed(first, rest, ctx, state);
}

function printVersion(ctx: CommandContext, name: string): ExitCode {
  ctx.io.out(`${name} ${version} (${commit})`);
  return ExitCode.ok;
}

function suggestCommand(name: string): string {
  return didYouMean(name, [...commands.map((command) => command.name), "help"]);
}

/** The arguments that are the command's own: up to `--`, or up to where its child's argv starts. */
function ownArguments(command: Command | undefined, args: readonly string[]): readonly string[] {
  const dashes = args.indexOf("--");
  const child = command?.childArgvStart?.(args);
  const end = Math.min(dashes < 0 ? args.length : dashes, child ?? args.length);
  return args.slice(0, end);
}

async function runNamed(name: string, args: readonly string[], ctx: CommandContext, state: { debug: boolean }): Promise<ExitCode> {
  const command = await loadCommand(name);
  if (command === undefined) throw new UsageError(name, `no command named "${name}"${suggestCommand(name)}; see benito --help`);
  const own = ownArguments(command, args);
  if (own.includes("--help") || own.includes("-h")) {
    ctx.io.out(command.help);
    return ExitCode.ok;
  }
  // `benito CMD --debug …` keeps working: the command's own --debug is the global one.
  const debugAt = own.indexOf("--debug");
  if (debugAt >= 0) state.debug = true;
  const passed = debugAt >= 0 ? [...args.slice(0, debugAt), ...args.slice(debugAt + 1)] : args;
  return command.run(passed, { ...ctx, debug: state.debug });
}

/** Prints an error the way the README promises: one line (plus details), no stack unless --debug. */
function report(error: unknown, ctx: CommandContext): ExitCode {
  const typed = error instanceof BenitoError ? error : osError(error);
  if (typed !== undefined) return reportTyped(typed, ctx);
  // Anything else is a bug in benito: say so plainly, still without a stack trace by default.
  const message = error instanceof Error ? error.message : String(error);
  ctx.io.err(`benito: internal error: ${message} (run with --debug for a stack trace, and report it)`);
  if (ctx.debug && error instanceof Error && error.stack) ctx.io.err(error.stack);
  return ExitCode.failed;
}

/** A typed error: its headline, its details, a stack with --debug. */
function reportTyped(error: BenitoError, ctx: CommandContext): ExitCode {
  ctx.io.err(headline(error));
  for (const line of error.details) ctx.io.err(`  ${line}`);
  if (ctx.debug && error.stack) ctx.io.err(error.stack);
  if (error.exitCode === ExitCode.usage) ctx.io.err("benito: see --help for usage");
  return error.exitCode;
}
