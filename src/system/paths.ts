// The file and folder changes plans make (run folders, pidfiles, disks), with absence treated as done where that is the goal.
import { existsSync, mkdirSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";

/** True when something exists at path. */
export function exists(path: string): boolean {
  return existsSync(path);
}

/** Makes a folder and its parents (mode 0750 for new ones). */
export function makeDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o750 });
}

/** Removes a folder that should be empty by now; an absent folder is fine, a non-empty one is an error. */
export function removeEmptyDir(path: string): void {
  try {
    rmdirSync(path);
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
  }
}

/** Removes a file; an absent file is fine. */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") throw error;
  }
}

/** Writes a whole file. */
export function writeWholeFile(path: string, data: string | Uint8Array, mode = 0o644): void {
  writeFileSync(path, data, { mode });
}

/** Appends to a file (made if absent). */
export function appendToFile(path: string, data: string): void {
  writeFileSync(path, data, { flag: "a" });
}
