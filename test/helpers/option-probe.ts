// Prints, as JSON, the options each command passes to parseCommandArgs (run in its own process: it replaces src/cli/args for the whole process).
import { mock } from "bun:test";
import * as realArgs from "../../src/cli/args";
import type { OptionSpec } from "../../src/cli/args";
import type { CommandContext } from "../../src/cli/command";

/** Thrown by the recording parseCommandArgs so a command stops right after declaring its options. */
class Recorded extends Error {}
const seen: Record<string, string[]> = {};
let current = "";

// Record the options each command passes, then stop it: nothing runs, nothing touches the system.
mock.module("../../src/cli/args", () => ({
  ...realArgs,
  parseCommandArgs: (_command: string, _args: readonly string[], options: OptionSpec) => {
    const names = new Set(seen[current] ?? []);
    for (const [name, spec] of Object.entries(options)) {
      names.add(`--${name}`);
      if (spec.short !== undefined) names.add(`-${spec.short}`);
    }
    seen[current] = [...names];
    throw new Recorded();
  },
}));

const { commands } = await import("../../src/cli/registry");
const ctx: CommandContext = { io: { out: () => {}, err: () => {} }, env: {}, debug: false };

/** The sub-command words a help text's usage lines show ("benito vde plug …" → "plug"). */
function subcommands(name: string, help: string): string[] {
  const words = new Set<string>();
  for (const match of help.matchAll(new RegExp(`benito ${name} ([a-z][a-z-]*)`, "g"))) if (match[1] !== undefined) words.add(match[1]);
  return [...words];
}

for (const entry of commands) {
  const command = await entry.load();
  current = command.name;
  seen[current] ??= [];
  for (const args of [[], ...subcommands(command.name, command.help).map((word) => [word])]) {
    try {
      await command.run(args, ctx);
    } catch {
      // Recorded, or a command that refuses before parsing: either way the next one.
    }
  }
}
console.log(JSON.stringify(seen));
