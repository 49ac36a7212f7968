// Process checks for tests: pidfiles under a run folder, and whether a pid is really alive.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Every pidfile under a folder (what a test's run folder recorded), for cleanup by pidfile. */
export function pidfiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith(".pid")).map((entry) => join(entry.parentPath, entry.name));
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
