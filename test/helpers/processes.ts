// Process checks for tests: pidfiles under a run folder, and whether a pid is really alive.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Every pidfile under a folder (what a test's run folder recorded), for cleanup by pidfile. */
export function pidfiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith(".pid")).map((entry) => join(entry.parentPath, entry.name));
}

/**
 * The pid a pidfile holds, or undefined while the file is missing, empty or holds anything but a
 * whole number above 1. A pidfile is created before its pid is written, and `Number("")` is 0:
 * signalling pid 0 signals the caller's whole process group (it once killed the bench's shell).
 */
export function pidIn(pidfile: string): number | undefined {
  try {
    const text = readFileSync(pidfile, "utf8").trim();
    if (!/^[0-9]+$/.test(text)) return undefined;
    const pid = Number(text);
    return pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends a signal to one process, never to a group: a pid of 1 or less (0 and -1 mean "my group" and
 * "everyone") or a non-integer is refused with an error. Returns false when the process is gone.
 */
export function signalPid(pid: number, signal: NodeJS.Signals | 0): boolean {
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to signal pid ${pid}: only a single process above pid 1 may be signalled`);
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True when pid is a live process (a zombie waiting for a reaper counts as gone: PID 1 here reaps late). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
