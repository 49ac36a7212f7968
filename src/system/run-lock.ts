// The run dir's lock: one exclusive flock(2) per run dir, so two benitos never change one experiment at once.
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { BenitoError } from "../errors";
import { Ledger } from "./ledger";
import { cString, errno, libc, strerror } from "./libc";

const openReadOnly = 0;
/** O_CLOEXEC (the same on x86-64 and arm64): daemons benito starts never inherit the lock. */
const openCloseOnExec = 0o2000000;
const lockExclusive = 2;
const lockNonBlocking = 4;
const lockUnlock = 8;
const wouldBlock = 11;

/** The default of --lock-wait: how long a second invocation waits for the lock, in seconds. */
export const defaultLockWaitSeconds = 120;

/** Locks this process holds, by run dir: stages a command runs in-process reuse their caller's lock. */
const held = new Map<string, { fd: number; depth: number }>();

/** LockHolder interface: who holds a run dir's lock, as /proc/locks and /proc/PID/cmdline tell. */
export interface LockHolder {
  readonly pid: number;
  readonly command: string;
}

/** The process holding an flock on the file with this inode, from /proc/locks (undefined when not found). */
function lockHolder(path: string): LockHolder | undefined {
  let inode: number;
  let table: string;
  try {
    inode = statSync(path).ino;
    table = readFileSync("/proc/locks", "utf8");
  } catch {
    return undefined;
  }
  for (const line of table.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 4242 00:19:1234 0 EOF" (blocked waiters have "->" and are not holders).
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== "FLOCK" || fields.includes("->")) continue;
    const pid = Number(fields[4]);
    const file = fields[5]?.split(":");
    if (!Number.isInteger(pid) || pid <= 0 || file === undefined || Number(file[2]) !== inode) continue;
    let command = "?";
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter((word) => word !== "").join(" ");
    } catch {
      // Gone meanwhile: the pid is still worth naming.
    }
    return { pid, command };
  }
  return undefined;
}

/**
 * Runs work holding the run dir's exclusive lock. A lock this process holds already (boot's
 * in-process stages) is reused; otherwise the lock is tried every 50 ms for up to waitSeconds,
 * then the error names the holder's pid and command. The fd is close-on-exec.
 */
export async function withRunLock<T>(runDir: string, waitSeconds: number, work: () => Promise<T>): Promise<T> {
  const dir = resolve(runDir);
  const mine = held.get(dir);
  if (mine !== undefined) {
    mine.depth += 1;
    try {
      return await work();
    } finally {
      mine.depth -= 1;
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const fd = libc.open(cString(dir), openReadOnly | openCloseOnExec, 0);
  if (fd < 0) throw new BenitoError("locking the run dir", dir, strerror(errno()));
  const deadline = performance.now() + waitSeconds * 1000;
  for (;;) {
    if (libc.flock(fd, lockExclusive | lockNonBlocking) === 0) break;
    const code = errno();
    if (code !== wouldBlock) {
      libc.close(fd);
      throw new BenitoError("locking the run dir", dir, strerror(code));
    }
    if (performance.now() >= deadline) {
      libc.close(fd);
      const holder = lockHolder(dir);
      const who = holder === undefined ? "another benito" : `pid ${holder.pid} (${holder.command})`;
      throw new BenitoError("waiting for the run dir's lock", dir, `${who} still holds it after ${waitSeconds} s (--lock-wait SECONDS waits longer)`);
    }
    await Bun.sleep(50);
  }
  const entry = { fd, depth: 1 };
  held.set(dir, entry);
  // Nobody else writes the ledger now: a temporary file in it is what a killed writer left.
  Ledger.at(dir).sweepTemporaryFiles();
  try {
    return await work();
  } finally {
    held.delete(dir);
    libc.flock(fd, lockUnlock);
    libc.close(fd);
  }
}
