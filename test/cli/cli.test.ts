// The CLI skeleton: help, version, usage errors and exit codes, through the library and the compiled binary.
import { describe, expect, test } from "bun:test";
import { runCli } from "../../src/cli/run";
import type { CommandContext } from "../../src/cli/command";
import { benito } from "../helpers/binary";

function capture(): { ctx: CommandContext; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { ctx: { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, env: {}, debug: false }, out, err };
}

describe("cli (library)", () => {
  test("--help lists commands and exits 0", async () => {
    const { ctx, out } = capture();
    expect(await runCli("benito", ["--help"], ctx)).toBe(0);
    expect(out.join("\n")).toContain("Usage: benito");
  });

  test("no arguments prints help and is a usage error", async () => {
    const { ctx } = capture();
    expect(await runCli("benito", [], ctx)).toBe(2);
  });

  test("an unknown command is a usage error naming it", async () => {
    const { ctx, err } = capture();
    expect(await runCli("benito", ["frobnicate"], ctx)).toBe(2);
    expect(err[0]).toBe('benito: while parsing the command line on frobnicate: no command named "frobnicate"; see benito --help');
  });

  test("help for an unknown command is a usage error", async () => {
    const { ctx } = capture();
    expect(await runCli("benito", ["help", "nope"], ctx)).toBe(2);
  });
});

describe("cli (compiled binary)", () => {
  test("--version prints the package version and a commit", async () => {
    const result = await benito(["--version"]);
    expect(result.code).toBe(0);
    const pkg = await Bun.file(new URL("../../package.json", import.meta.url)).json();
    expect(result.stdout).toMatch(new RegExp(`^benito ${pkg.version.replaceAll(".", "\\.")} \\((?!source)[^)]+\\)\\n$`));
  });

  test("an unknown option on a command exits 2 without a stack trace", async () => {
    const result = await benito(["nope", "--zzz"]);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain("    at ");
  });
});
