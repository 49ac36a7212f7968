// The run dir after `down`: benito's empty folders and derived files removed; whatever is left (apart from status.json) is listed.
import { existsSync, readdirSync, rmdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { Ledger } from "./ledger";

/** Files `down` removes outright: derived again by the next boot. */
const derivedFiles = ["control-leases.json"];

/** Removes empty folders under dir, deepest first (a folder holding a file stays). */
function removeEmptyFolders(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (!statSync(path).isDirectory()) continue;
    } catch {
      continue;
    }
    removeEmptyFolders(path);
    try {
      rmdirSync(path);
    } catch {
      // Not empty: reported by the caller.
    }
  }
}

/**
 * Removes the writability probes (`.benito-probe.PID`, see checkWritableFolder) a boot killed in
 * the moment it held one left behind; a probe whose process still runs is its own business.
 */
function sweepProbes(runDir: string): void {
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^\.benito-probe\.(\d+)$/.exec(name)?.[1];
    if (pid === undefined || existsSync(`/proc/${pid}`)) continue;
    try {
      unlinkSync(join(runDir, name));
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Removes the temporary files of atomic writes (`NAME.PID.tmp`, see writeFileAtomic) whose writer
 * is gone, anywhere under dir: a boot killed between writing one and renaming it (a forwarder's
 * port record, a pidfile) leaves it behind. A writer still running finishes its own.
 */
function sweepAtomicTemporaries(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true }).map(String);
  } catch {
    return;
  }
  for (const name of names) {
    const writer = /\.(\d+)\.tmp$/.exec(name)?.[1];
    if (writer === undefined || existsSync(`/proc/${writer}`)) continue;
    try {
      if (statSync(join(dir, name)).isFile()) unlinkSync(join(dir, name));
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Tidies the run dir after everything benito made was taken down: derived files and empty
 * folders go. Returns what is left besides status.json (relative paths), which `down` reports.
 */
export function tidyRunDir(runDir: string): string[] {
  Ledger.at(runDir).sweepTemporaryFiles();
  sweepAtomicTemporaries(runDir);
  sweepProbes(runDir);
  for (const name of derivedFiles) {
    try {
      unlinkSync(join(runDir, name));
    } catch {
      // Absent.
    }
  }
  removeEmptyFolders(runDir);
  let left: string[];
  try {
    left = readdirSync(runDir, { recursive: true }).map(String);
  } catch {
    return [];
  }
  return left.filter((name) => name !== "status.json").sort();
}
