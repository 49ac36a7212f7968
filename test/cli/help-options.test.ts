// Every option a command's parseArgs accepts is listed in its help text (the man page is built from the same texts).
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { commands as entries } from "../../src/cli/registry";
import { run } from "../helpers/binary";

// The probe replaces src/cli/args for its whole process, so it runs in a process of its own.
const probe = await run([process.execPath, resolve(import.meta.dir, "../helpers/option-probe.ts")]);
const seen: Record<string, string[]> = probe.code === 0 ? JSON.parse(probe.stdout) : {};
const commands = await Promise.all(entries.map((entry) => entry.load()));

/** True when the help text names the option as a word ("--run-dir", "[--json]", "-w, --write"). */
const listed = (help: string, option: string) => new RegExp(`(^|[\\s\\[|,(/])${option.replace(/-/g, "\\-")}(?![\\w-])`, "m").test(help);

describe("the command registry", () => {
  test("each entry loads the command of its own name (help lists the entry's name, the command runs)", () => {
    expect(commands.map((command) => command.name)).toEqual(entries.map((entry) => entry.name));
  });
});

describe("help texts list every option", () => {
  test("the probe ran and saw options for most commands (the checks below are not vacuous)", () => {
    expect(probe.stderr).toBe("");
    expect(Object.values(seen).filter((options) => options.length > 0).length).toBeGreaterThanOrEqual(commands.length - 3);
  });
  for (const command of commands) {
    test(`benito ${command.name}`, () => {
      expect((seen[command.name] ?? []).filter((option) => !listed(command.help, option))).toEqual([]);
    });
  }
});
