// The text of `benito --help`.
import { commands } from "./registry";
import { commit, version } from "../version";

/** The top-level help: usage, commands, global options, exit codes. */
export function mainHelp(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    `benito ${version} (${commit}): testbed node plumbing from a TopDL experiment`,
    "",
    "Usage: benito [--debug] COMMAND [ARGS...]",
    "       benito help COMMAND | benito COMMAND --help",
    "",
    "Commands:",
    ...lines,
    "",
    "Global options:",
    "  --debug    print stack traces with errors",
    "  --version  print the version and commit",
    "",
    "Exit codes: 0 done, 1 failed, 2 usage error, 3 invalid input.",
  ].join("\n");
}
