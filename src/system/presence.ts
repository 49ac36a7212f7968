// Whether programs and device nodes a platform needs are present on this host (checked before a plan is applied).
import { existsSync } from "node:fs";

/** The full path of a program found on PATH, or undefined. */
export function findProgram(name: string): string | undefined {
  return Bun.which(name) ?? undefined;
}

/** True when a device node (or any file) exists at path. */
export function deviceExists(path: string): boolean {
  return existsSync(path);
}
