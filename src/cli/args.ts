// Command-line option parsing shared by every command: node:util parseArgs with usage errors.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors";
import { didYouMean } from "../nearest";

/** The options config accepted by {@link parseCommandArgs}. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses a command's arguments strictly (unknown options are usage errors, exit 2).
 *
 * @param command The command name, for the error message.
 * @param args The arguments after the command word.
 * @param options The accepted options.
 * @param maxPositionals How many positional arguments are allowed.
 */
export function parseCommandArgs<O extends OptionSpec>(command: string, args: readonly string[], options: O, maxPositionals = Infinity) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util's messages are clear but long; keep their first sentence.
    const message = error instanceof Error ? error.message.split(/\.\s/)[0] ?? error.message : String(error);
    const unknown = /^Unknown option '(-[^']*)'/.exec(message)?.[1];
    const known = [...Object.keys(options).map((name) => `--${name}`), "--help", "--debug"];
    throw new UsageError(command, unknown === undefined ? message : `${message}${didYouMean(unknown.split("=")[0] ?? unknown, known)}`);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(command, `too many arguments: ${parsed.positionals.slice(maxPositionals).join(" ")}`);
  }
  return parsed;
}

/** Parses a non-negative integer option value, or throws a usage error naming the option. */
export function integerOption(command: string, name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(command, `--${name} wants a whole number, got "${value}"`);
  return Number(value);
}
