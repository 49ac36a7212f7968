// Daemons by pidfile: start self-daemonizing programs, re-spawn benito detached, check and stop them (never by name).
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname } from "node:path";
import { BenitoError, messageOf } from "../errors";
import { cString, libc } from "./libc";
import { writeFileAtomic } from "./state-files";
import { namespacePath } from "./netns-open";

/** How long a started daemon may take to write its pidfile or announce readiness. */
export const defaultStartTimeoutMs = 10_000;
/** How long a stopped daemon may take to exit after SIGTERM before it gets SIGKILL. */
export const defaultStopTimeoutMs = 5_000;
/** The environment variable that tells a re-spawned benito it is the detached child. */
export const daemonChildVariable = "BENITO_DAEMON_CHILD";
/** The line prefix a detached child writes on its stdout once it is ready. */
const readyPrefix = "ready ";

/** Reads a pidfile: the pid on its first line, or undefined when absent or not a pid. */
export function readPidfile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const first = text.split("\n")[0]?.trim() ?? "";
  return /^\d+$/.test(first) && Number(first) > 1 ? Number(first) : undefined;
}

/** Writes a pidfile atomically (temp file + rename), making its folder if needed. */
export function writePidfile(path: string, pid: number): void {
  writeFileAtomic(path, `${pid}\n`);
}

/** Removes a pidfile only when it still names the given pid (a successor's pidfile stays). */
export function removePidfile(path: string, pid: number): void {
  if (readPidfile(path) !== pid) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to clean.
  }
}

/** The argv of a running process from /proc, or undefined when it is gone (or a zombie). */
export function processCommandLine(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state letter follows the parenthesized command name, which may itself hold ")".
    if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z") return undefined;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
  } catch {
    return undefined;
  }
}

/**
 * A process's start time (clock ticks after boot, /proc/PID/stat field 22), or undefined when it
 * is gone. With the pid it names one process for good: a reused pid has another start time.
 */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesized name (which may hold spaces and ")"): state is field 3, starttime field 22.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    return fields[0] === "Z" || !Number.isInteger(ticks) ? undefined : ticks;
  } catch {
    return undefined;
  }
}

/** True when pid runs and started at startTime (when given): the very process a record names. */
export function isSameProcess(pid: number | undefined, startTime: number | undefined): boolean {
  if (pid === undefined) return false;
  const now = processStartTime(pid);
  return now !== undefined && (startTime === undefined || now === startTime);
}

/**
 * ProcessIndex class: the live processes by exact argv, from one scan of /proc made when first
 * asked (a daemon benito started whose record or pidfile was lost: same program, same arguments,
 * same socket path; never matched by name alone). `switch up` asks once per daemon it starts; one
 * scan serves them all. Each candidate is checked again when asked, so a process that exited (or
 * was stopped by the same run) since the scan is not returned.
 */
export class ProcessIndex {
  #byArgv: Map<string, number[]> | undefined;

  /** The live processes whose argv is exactly argv (other than this one and pid 1). */
  withArgv(argv: readonly string[]): number[] {
    const wanted = argv.join("\0");
    const candidates = (this.#byArgv ??= scanArgv()).get(wanted) ?? [];
    return candidates.filter((pid) => processCommandLine(pid)?.join("\0") === wanted);
  }
}

/** Every live pid in /proc but 1 and this process's own (the candidates of every scan). */
function otherPids(): number[] {
  return readdirSync("/proc").flatMap((name) => (/^\d+$/.test(name) && Number(name) > 1 && Number(name) !== process.pid ? [Number(name)] : []));
}

/** Every process's argv (NUL-joined, as processCommandLine reads it) → its pids. */
function scanArgv(): Map<string, number[]> {
  const byArgv = new Map<string, number[]>();
  for (const pid of otherPids()) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    // A zombie or kernel thread has an empty cmdline: never a daemon's.
    if (cmdline === "") continue;
    // As processCommandLine reads it: the arguments before the last NUL.
    const key = cmdline.slice(0, Math.max(0, cmdline.lastIndexOf("\0")));
    const pids = byArgv.get(key);
    if (pids === undefined) byArgv.set(key, [pid]);
    else pids.push(pid);
  }
  return byArgv;
}

/**
 * Who a pidfile's process must be: a program (its argv[0]'s base name), or any process whose
 * network namespace is the named one (a vnode's startup: a script runs as its interpreter, and
 * may exec another program, so its name proves nothing; the namespace does).
 */
export type ProcessIdentity = string | { readonly netns: string };

/**
 * True when pid is a live process and, when identity is given, it is that one (so a pidfile
 * whose pid was reused by another program is not mistaken for ours).
 */
export function isRunning(pid: number, identity?: ProcessIdentity): boolean {
  const argv = processCommandLine(pid);
  if (argv === undefined) return false;
  if (identity === undefined) return true;
  if (typeof identity === "string") return basename(argv[0] ?? "") === identity;
  try {
    return readlinkSync(`/proc/${pid}/ns/net`) === namespaceLink(identity.netns);
  } catch {
    return false;
  }
}

/** PidfileState interface: what a pidfile says and whether that process runs. */
export interface PidfileState {
  /** The pid in the file, if any. */
  readonly pid?: number;
  /** True when that pid runs the expected program. */
  readonly alive: boolean;
}

/** Reads a pidfile and checks its process. */
export function pidfileState(path: string, program?: ProcessIdentity): PidfileState {
  const pid = readPidfile(path);
  return { pid, alive: pid !== undefined && isRunning(pid, program) };
}

async function waitUntil(condition: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (condition()) return true;
    if (performance.now() >= deadline) return false;
    await Bun.sleep(stepMs);
  }
}

/**
 * Stops the process a pidfile names: SIGTERM, then SIGKILL after the timeout; removes the
 * pidfile. Only that pid is signalled, and only when it runs the expected program.
 *
 * @returns "stopped", or "not-running" when the pidfile was absent or stale (it is removed then).
 */
export async function stopByPidfile(path: string, program: ProcessIdentity | undefined, timeoutMs = defaultStopTimeoutMs): Promise<"stopped" | "not-running"> {
  const { pid, alive } = pidfileState(path, program);
  if (pid === undefined || !alive) {
    if (pid !== undefined) removePidfile(path, pid);
    return "not-running";
  }
  try {
    process.kill(pid, "SIGTERM");
  } catch (error) {
    if ((error as { code?: string }).code !== "ESRCH") throw new BenitoError("stopping the process", `${path} (pid ${pid})`, messageOf(error));
  }
  if (!(await waitUntil(() => !isRunning(pid, program), timeoutMs))) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // It exited between the check and the kill.
    }
    await waitUntil(() => !isRunning(pid, program), 2000);
  }
  removePidfile(path, pid);
  return "stopped";
}

/** How /proc/PID/ns/net names the named network namespace (undefined: it is not mounted). */
function namespaceLink(netns: string): string | undefined {
  try {
    return `net:[${statSync(namespacePath(netns)).ino}]`;
  } catch {
    return undefined;
  }
}

/**
 * The processes whose network namespace is the named one (their thread-group leader's, as
 * /proc/PID/ns/net names it), this process excepted: a vnode's leftovers.
 */
function processesInNamespace(netns: string): number[] {
  const wanted = namespaceLink(netns);
  if (wanted === undefined) return [];
  return otherPids().filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/net`) === wanted;
    } catch {
      // Gone meanwhile, or a kernel thread: not a holder.
      return false;
    }
  });
}

/**
 * Stops every process still in the named network namespace: SIGTERM, then SIGKILL after the
 * timeout. Each signal goes to one pid found in that namespace (never 0 or 1).
 *
 * @returns how many were found.
 */
export async function stopNamespaceProcesses(netns: string, timeoutMs = defaultStopTimeoutMs): Promise<number> {
  const found = processesInNamespace(netns);
  if (found.length === 0) return 0;
  const signal = (pids: readonly number[], name: "SIGTERM" | "SIGKILL") => {
    for (const pid of pids) {
      try {
        process.kill(pid, name);
      } catch {
        // It exited meanwhile.
      }
    }
  };
  signal(found, "SIGTERM");
  if (!(await waitUntil(() => processesInNamespace(netns).length === 0, timeoutMs))) {
    signal(processesInNamespace(netns), "SIGKILL");
    await waitUntil(() => processesInNamespace(netns).length === 0, 2000);
  }
  return found.length;
}

/**
 * Runs a program that daemonizes itself and writes its own pidfile (vde_switch -d -p F,
 * wirefilter --daemon --pidfile F), waits for it to detach and for the pidfile to name a live
 * process, and returns that pid. Its output goes to logPath (the daemon's parent writes
 * errors there before exiting).
 */
export async function startSelfDaemonizing(argv: readonly string[], pidfile: string, program: string, logPath: string, timeoutMs = defaultStartTimeoutMs): Promise<number> {
  const what = `${argv[0] ?? "?"} (${pidfile})`;
  mkdirSync(dirname(logPath), { recursive: true });
  let child;
  const log = openSync(logPath, "w", 0o644);
  try {
    child = Bun.spawn([...argv], { stdin: "ignore", stdout: log, stderr: log, timeout: timeoutMs, killSignal: "SIGKILL" });
  } catch (error) {
    throw new BenitoError("starting", what, messageOf(error));
  } finally {
    closeSync(log);
  }
  const code = await child.exited;
  if (code !== 0) {
    const log = readFileSync(logPath, "utf8").trim().split("\n").slice(-3).join(" / ");
    throw new BenitoError("starting", what, `it exited with status ${code}${log === "" ? "" : `: ${log}`}`);
  }
  let pid: number | undefined;
  const up = await waitUntil(() => {
    pid = readPidfile(pidfile);
    return pid !== undefined && isRunning(pid, program);
  }, timeoutMs);
  if (!up || pid === undefined) throw new BenitoError("starting", what, `no live process in the pidfile after ${timeoutMs} ms`);
  return pid;
}

/** DetachedChild interface: a re-spawned benito that announced readiness. */
export interface DetachedChild {
  readonly pid: number;
  /** What it announced after "ready ". */
  readonly message: string;
}

/**
 * Re-spawns this executable detached (new session; a compiled Bun binary cannot fork) and
 * waits until the child announces readiness with {@link announceReadyAndDetach}. The child's
 * stdout is a pipe only until then; its errors before readiness are returned as the failure.
 *
 * @param args The arguments for the child (the parent's own, minus whatever made it detach).
 * @param env The child's environment ({@link daemonChildVariable} is added).
 */
export async function spawnDetachedSelf(args: readonly string[], env: Readonly<Record<string, string | undefined>>, timeoutMs = defaultStartTimeoutMs): Promise<DetachedChild> {
  // In a compiled binary execPath is the binary itself; under `bun run` it is bun, which needs the script.
  const script = process.argv[1];
  const self = script !== undefined && script.endsWith(".ts") ? [process.execPath, script] : [process.execPath];
  const child = Bun.spawn([...self, ...args], {
    detached: true,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...env, [daemonChildVariable]: "1" },
  });
  const stdout = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => {
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
  }, timeoutMs);
  try {
    for (;;) {
      const newline = text.indexOf("\n");
      if (newline >= 0) {
        const line = text.slice(0, newline);
        if (line.startsWith(readyPrefix)) {
          await stdout.cancel();
          await child.stderr.cancel();
          child.unref();
          return { pid: child.pid, message: line.slice(readyPrefix.length) };
        }
        text = text.slice(newline + 1);
        continue;
      }
      const chunk = await stdout.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
    const stderr = (await new Response(child.stderr).text()).trim();
    const code = await child.exited;
    // The child is benito: its own error, when it printed one, is the error to report.
    const [headline = "", ...details] = stderr.split("\n");
    const own = /^benito: while (.+?) on (.+?): (.+)$/.exec(headline);
    if (own) throw new BenitoError(own[1] ?? "", own[2] ?? "", own[3] ?? "", code === 3 ? 3 : 1, details.map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("benito: see")));
    throw new BenitoError("starting the background process", basename(process.execPath), stderr === "" ? `it exited with status ${code} before it was ready` : stderr.split("\n").join(" / "));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True when this process is the detached child of {@link spawnDetachedSelf}. The mark is removed
 * from this process's environment on reading, so programs it starts do not inherit it (a
 * `benito ... --daemon` started from here must detach on its own, not announce to nobody).
 */
export function takeDaemonChildMark(): boolean {
  const marked = process.env[daemonChildVariable] === "1";
  delete process.env[daemonChildVariable];
  return marked;
}

/**
 * In a detached child: tells the waiting parent it is ready (one line on stdout), then points
 * stdin, stdout and stderr at /dev/null so nothing holds the parent's pipes.
 */
export function announceReadyAndDetach(message: string): void {
  const line = Buffer.from(`${readyPrefix}${message}\n`);
  libc.write(1, line, line.length);
  const devNull = openSync("/dev/null", "r+");
  for (const fd of [0, 1, 2]) libc.dup2(devNull, fd);
  closeSync(devNull);
}

/** Removes a file if present (stale sockets after a killed daemon), ignoring absence. */
export function removeIfPresent(path: string): void {
  libc.unlink(cString(path));
}

/** ProgramResult interface: how a program run to completion ended. */
export interface ProgramResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a program to completion (argv array, never a shell) with a hard timeout, capturing its
 * output; a program that cannot be started or outlives the timeout is a BenitoError.
 */
export async function runProgram(argv: readonly string[], timeoutMs = 60_000): Promise<ProgramResult> {
  const what = argv[0] ?? "?";
  let child;
  try {
    child = Bun.spawn([...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  } catch (error) {
    throw new BenitoError("running", what, messageOf(error));
  }
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (child.signalCode === "SIGKILL") throw new BenitoError("running", what, `it did not finish within ${timeoutMs} ms and was killed`);
  return { code, stdout, stderr };
}

/**
 * Starts a program that does not daemonize itself, detached in its own session with output
 * appended to logPath, and records its pid in pidfile. (`benito netns exec` execs the program,
 * so the pid is the program's own.) Returns the pid once it has survived a short settle time.
 */
export async function startDetached(argv: readonly string[], pidfile: string, logPath: string, settleMs = 200): Promise<number> {
  const what = `${argv[0] ?? "?"} (${pidfile})`;
  mkdirSync(dirname(logPath), { recursive: true });
  let child;
  try {
    child = Bun.spawn([...argv], { detached: true, stdin: "ignore", stdout: Bun.file(logPath), stderr: Bun.file(logPath) });
  } catch (error) {
    throw new BenitoError("starting", what, messageOf(error));
  }
  child.unref();
  writePidfile(pidfile, child.pid);
  await Bun.sleep(settleMs);
  if (child.exitCode !== null && child.exitCode !== 0) {
    removePidfile(pidfile, child.pid);
    const log = readFileSync(logPath, "utf8").trim().split("\n").slice(-3).join(" / ");
    throw new BenitoError("starting", what, `it exited with status ${child.exitCode}${log === "" ? "" : `: ${log}`}`);
  }
  return child.pid;
}
