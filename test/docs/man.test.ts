// The man page benito(8) is generated from the help texts: groff reads it without a warning, `man -l` renders it, and every command's help is in it.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { commands } from "../../src/cli/registry";
import { run } from "../helpers/binary";

const dir = mkdtempSync(join(tmpdir(), "benito-man-"));
const page = join(dir, "benito.8");
const generated = await run([process.execPath, resolve(import.meta.dir, "../../scripts/man.ts"), page]);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const man = Bun.which("man");
const groff = Bun.which("groff");
if (man === null || groff === null) console.warn("SKIPPED: rendering benito(8): man or groff (Debian man-db, groff-base) is not installed");

/** Whitespace-insensitive text, with the hyphenation man adds at line ends undone. */
const squash = (text: string) => text.replace(/\u2010|\u00ad/g, "-").replace(/-\n\s*/g, "-").replace(/\s+/g, " ");

describe("benito(8)", () => {
  test("scripts/man.ts writes it", () => {
    expect(generated.stderr).toBe("");
    expect(generated.code).toBe(0);
  });
  test.skipIf(groff === null)("groff reads it without a warning", async () => {
    const checked = await run([groff ?? "groff", "-man", "-ww", "-z", page]);
    expect(checked.stderr).toBe("");
    expect(checked.code).toBe(0);
  });
  test.skipIf(man === null)("man -l renders every command's help, the exit codes and the site.conf keys", async () => {
    const rendered = await run([man ?? "man", "-l", page], { env: { MANWIDTH: "200", MAN_KEEP_FORMATTING: "", PAGER: "cat" } });
    expect(rendered.code).toBe(0);
    const text = squash(rendered.stdout);
    for (const entry of commands) {
      const command = await entry.load();
      expect(text).toContain(`benito ${command.name}`);
      // Every line of its help, as --help prints it.
      for (const line of command.help.split("\n").filter((l) => l.trim() !== "")) expect(text).toContain(squash(line).trim());
    }
    for (const heading of ["EXIT STATUS", "CONFIG FOLDER", "SITE.CONF KEYS", "FILES"]) expect(text).toContain(heading);
    expect(text).toContain("control_mac_prefix");
  });
});
