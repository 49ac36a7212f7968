// Writes benito's records: the status file (atomically, by rename) and the size-rotated log file.
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Writes a file atomically: a temporary file in the same folder, then rename(2), so a reader
 * (the testbed, `benito status`) never sees half a file.
 */
export function writeFileAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode: 0o644 });
  renameSync(temporary, path);
}

/** Largest size of the log file before it is rotated to `.1` (one generation kept). */
export const logRotateBytes = 1024 * 1024;

/**
 * Appends one line to a log file, rotating it to `PATH.1` first when it has grown past
 * {@link logRotateBytes}. Failures to log never fail the operation being logged.
 *
 * @returns false when the line could not be written (e.g. read-only /var/log).
 */
export function appendLogLine(path: string, line: string): boolean {
  try {
    mkdirSync(dirname(path), { recursive: true });
    try {
      if (statSync(path).size > logRotateBytes) renameSync(path, `${path}.1`);
    } catch {
      // No log yet: nothing to rotate.
    }
    appendFileSync(path, `${line}\n`);
    return true;
  } catch {
    return false;
  }
}

/** Reads and parses a JSON file, or returns undefined when it does not exist. */
export function readOptionalJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  return JSON.parse(text) as T;
}

/** Removes a file; a missing file is fine. */
export function removeFile(path: string): void {
  rmSync(path, { force: true });
}
