// Writes benito's records: the status file (atomically, by rename) and the size-rotated log file.
import { failpoint } from "./failpoints";
import { appendFileSync, chmodSync, closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statfsSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { BenitoError, ExitCode, messageOf } from "../errors";

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** The new file's mode, exactly (not masked by the umask); default 0644. */
  readonly mode?: number;
  /** Make the folder (and its parents) when absent; default true. */
  readonly makeFolder?: boolean;
  /**
   * Sync the new file before the rename and the folder after it, so the content survives a crash
   * of the machine, not only of benito (the ledger); default false.
   */
  readonly durable?: boolean;
}

/** FileCopy interface: content that is another file's, copied by the kernel and never read into memory (benito's own binary). */
export interface FileCopy {
  readonly copyOf: string;
}

/**
 * Writes a file atomically: a temporary file in the same folder, then rename(2), so a reader
 * (the testbed, `benito status`) never sees half a file, and a running binary is replaced rather
 * than written over. A symlink at the path is replaced, not written through. When either step
 * fails the temporary file is removed before the error is passed on: nothing is left behind as
 * `*.tmp`. The one atomic write of benito (records, pidfiles, status, image files, /etc/hosts).
 */
export function writeFileAtomic(path: string, content: string | Uint8Array | FileCopy, options: AtomicWriteOptions = {}): void {
  const mode = options.mode ?? 0o644;
  if (options.makeFolder !== false) mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    if (typeof content !== "string" && !(content instanceof Uint8Array)) copyFileSync(content.copyOf, temporary);
    else if (options.durable !== true) writeFileSync(temporary, content, { mode });
    else {
      const fd = openSync(temporary, "w", mode);
      try {
        writeFileSync(fd, content);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    chmodSync(temporary, mode);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  if (options.durable === true) syncFolder(dirname(path));
}

/** fsync(2) of a folder: a rename in it is on disk once this returns. */
function syncFolder(folder: string): void {
  const fd = openSync(folder, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The least free space a run folder must have before boot changes anything (pidfiles, sockets, logs, records). */
export const runDirMinimumFreeBytes = 256 * 1024;

/**
 * Checks, before anything is changed, that a folder can hold what boot writes: it is made when
 * absent, a probe file is written, synced and removed, and at least
 * {@link runDirMinimumFreeBytes} are free. A read-only or full run folder is found here in
 * milliseconds instead of by a daemon that cannot make its socket.
 *
 * @throws BenitoError (exit 1) naming the folder and why.
 */
export function checkWritableFolder(dir: string, doing: string): void {
  const fail = (reason: string) => new BenitoError(doing, dir, reason, ExitCode.failed);
  const describe = (error: unknown) => {
    const code = (error as { code?: string }).code;
    if (code === "EROFS") return "the file system is read-only";
    if (code === "ENOSPC" || code === "EDQUOT") return "no space left on the file system";
    if (code === "EACCES" || code === "EPERM") return "permission denied";
    if (code === "ENOTDIR" || code === "EEXIST") return "not a folder";
    return messageOf(error);
  };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw fail(describe(error));
  }
  const probe = join(dir, `.benito-probe.${process.pid}`);
  try {
    const fd = openSync(probe, "w", 0o600);
    try {
      writeSync(fd, new Uint8Array(4096));
      fsyncSync(fd);
      // A crash here leaves the probe: down's tidy removes a probe whose process is gone.
      failpoint("run-dir:probe");
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw fail(describe(error));
  } finally {
    try {
      unlinkSync(probe);
    } catch {
      // Never made (read-only), or already gone.
    }
  }
  let free: number;
  try {
    const stats = statfsSync(dir);
    free = stats.bavail * stats.bsize;
  } catch (error) {
    throw fail(describe(error));
  }
  if (free < runDirMinimumFreeBytes) throw fail(`only ${Math.floor(free / 1024)} KiB free; boot needs at least ${runDirMinimumFreeBytes / 1024} KiB`);
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
  return logLineFailure(path, line) === undefined;
}

/** Like {@link appendLogLine}, but returns why the line could not be written (undefined when it was). */
export function logLineFailure(path: string, line: string): string | undefined {
  try {
    mkdirSync(dirname(path), { recursive: true });
    try {
      if (statSync(path).size > logRotateBytes) renameSync(path, `${path}.1`);
    } catch {
      // No log yet: nothing to rotate.
    }
    appendFileSync(path, `${line}\n`);
    return undefined;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "EROFS") return "the file system is read-only";
    if (code === "ENOSPC") return "no space left on the file system";
    if (code === "EACCES" || code === "EPERM") return "permission denied";
    return messageOf(error);
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
