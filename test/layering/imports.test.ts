// The layering rules, checked on the imports: parse → model → plan → apply → system; only src/system touches the OS.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const src = resolve(import.meta.dir, "../../src");

/** Every TypeScript file under src, relative ("plan/boot-plan.ts"). */
function sourceFiles(): string[] {
  return readdirSync(src, { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".ts")).sort();
}

/** The modules a file imports: src-relative paths for relative imports ("system/files"), bare names for packages ("node:fs"). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm)) {
    const target = match[1] ?? "";
    found.push(target.startsWith(".") ? relative(src, resolve(dirname(join(src, file)), target)) : target);
  }
  return found;
}

/** The numeric constants a file defines ("const NAME = 0x40", exported or not), by upper-case name. */
function numericConstantsOf(file: string): string[] {
  const text = readFileSync(join(src, file), "utf8");
  return [...text.matchAll(/^\s*(?:export\s+)?const\s+([A-Z][A-Z0-9_]*)\s*=\s*-?(?:0[xob])?[0-9a-fA-F_]+\s*;/gm)].map((match) => match[1] ?? "");
}

/** The lines "FILE defines NAME" for every numeric upper-case constant under src/. */
const constantDefinitions = sourceFiles().flatMap((file) => numericConstantsOf(file).map((name) => ({ file, name })));

const files = sourceFiles().map((file) => ({ file, imports: importsOf(file) }));
const layer = (file: string) => file.split("/")[0] ?? "";

/** The lines "FILE imports TARGET" of files in `layers` whose imports match `forbidden`. */
function violations(layers: readonly string[], forbidden: (target: string) => boolean): string[] {
  return files.filter(({ file }) => layers.includes(layer(file))).flatMap(({ file, imports }) => imports.filter(forbidden).map((target) => `${file} imports ${target}`));
}

describe("layering", () => {
  test("the rules see the imports (this check itself can fail)", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(importsOf("cli/commands/boot.ts")).toContain("plan/boot-plan");
  });

  test("no file of plan/, model/ or topdl/ imports system/, apply/ or cli/", () => {
    expect(violations(["plan", "model", "topdl"], (target) => /^(system|apply|cli)\//.test(target))).toEqual([]);
  });

  test("plan/, model/ and topdl/ touch no OS module (node:fs, node:net, node:child_process, bun:ffi)", () => {
    expect(violations(["plan", "model", "topdl"], (target) => /^(node:)?(fs|net|child_process|dgram)$|^bun:ffi$/.test(target))).toEqual([]);
  });

  test("model/ does not import config/ (config hands values in)", () => {
    expect(violations(["model"], (target) => target.startsWith("config/"))).toEqual([]);
  });

  test("cli/ reaches system/ only through its documented entry, src/cli/os.ts", () => {
    expect(violations(["cli"], (target) => target.startsWith("system/")).filter((line) => !line.startsWith("cli/os.ts "))).toEqual([]);
  });

  test("cli/ opens no netlink socket: its door, src/cli/os.ts, does not hand out Rtnl", () => {
    expect(importsOf("cli/os.ts")).toContain("system/netlink/host-link");
    expect(readFileSync(join(src, "cli/os.ts"), "utf8")).not.toMatch(/\bRtnl\b/);
  });

  test("cli/ runs no daemon itself: the forwarder, plugs, pidfiles and detaching are apply/'s work (src/apply/vde-daemons.ts)", () => {
    expect(importsOf("cli/commands/vde.ts")).toContain("apply/vde-daemons");
    expect(readFileSync(join(src, "cli/os.ts"), "utf8")).not.toMatch(/\b(ForwarderDaemon|runPlug|spawnDetachedSelf|announceReadyAndDetach|writePidfile)\b/);
  });

  test("cli/ touches no OS module directly (node:fs, node:net, node:child_process, bun:ffi)", () => {
    expect(violations(["cli"], (target) => /^(node:)?(fs|net|child_process|dgram)$|^bun:ffi$/.test(target))).toEqual([]);
  });

  test("apply/ reaches the OS only through system/", () => {
    expect(violations(["apply"], (target) => /^(node:)?(fs|net|child_process|dgram)$|^bun:ffi$/.test(target))).toEqual([]);
  });

  test("errno and epoll constants are defined only in the one table, src/system/libc-constants.ts", () => {
    expect(constantDefinitions.some(({ file, name }) => file === "system/libc-constants.ts" && name === "EINTR")).toBe(true);
    const outside = constantDefinitions.filter(({ file, name }) => file !== "system/libc-constants.ts" && /^(E[A-Z0-9]+|EPOLL[A-Z_]*)$/.test(name));
    expect(outside.map(({ file, name }) => `${file} defines ${name}`)).toEqual([]);
  });

  test("no numeric constant of src/system is defined in two files (one table, not copies)", () => {
    const seen = new Map<string, string[]>();
    for (const { file, name } of constantDefinitions.filter(({ file }) => layer(file) === "system")) seen.set(name, [...(seen.get(name) ?? []), file]);
    expect([...seen].filter(([, where]) => where.length > 1).map(([name, where]) => `${name} in ${where.join(", ")}`)).toEqual([]);
  });
});
