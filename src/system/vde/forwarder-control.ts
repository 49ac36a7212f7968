// Talks to the per-pnode forwarder: starts it when absent, adds and removes ports, lists them, stops it.
import { existsSync, readdirSync, rmdirSync } from "node:fs";
import { createConnection } from "node:net";
import { basename } from "node:path";
import * as v from "valibot";
import { BenitoError } from "../../errors";
import { pidfileState, removeIfPresent, startSelfDaemonizing, stopByPidfile } from "../processes";
import type { ControlAnswer, ControlRequest, PortStatus } from "./forwarder-daemon";
import { forwarderPaths, readPortRecords, removePortRecord, writePortRecord, type PortRecord } from "./forwarder-records";

/** How long one control request may take (an add may wait for a slow switch's answer). */
const requestTimeoutMs = 15_000;

const counters = v.object({ frames: v.number(), bytes: v.number(), drops: v.number() });
const AnswerSchema = v.object({
  ok: v.boolean(),
  error: v.optional(v.string()),
  ports: v.optional(
    v.array(
      v.object({
        id: v.string(),
        tap: v.string(),
        netns: v.optional(v.string()),
        switchDir: v.string(),
        owner: v.optional(v.string()),
        state: v.picklist(["open", "connecting", "failed"]),
        port: v.optional(v.number()),
        error: v.optional(v.string()),
        stats: v.object({ tapToSwitch: counters, switchToTap: counters }),
      }),
    ),
  ),
});

/** Sends one request to the forwarder of runDir and returns its answer. */
export function forwarderRequest(runDir: string, request: ControlRequest, timeoutMs = requestTimeoutMs): Promise<ControlAnswer> {
  const path = forwarderPaths(runDir).socket;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    let text = "";
    const fail = (reason: string) => {
      socket.destroy();
      reject(new BenitoError("asking the forwarder", path, reason));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.on("connect", () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on("data", (chunk) => {
      text += chunk.toString("utf8");
      const newline = text.indexOf("\n");
      if (newline < 0) return;
      socket.destroy();
      let parsed;
      try {
        parsed = v.safeParse(AnswerSchema, JSON.parse(text.slice(0, newline)));
      } catch {
        parsed = undefined;
      }
      if (parsed?.success !== true) reject(new BenitoError("asking the forwarder", path, "its answer is not a forwarder answer"));
      else resolve(parsed.output);
    });
    socket.on("error", (error) => fail(error.message));
    socket.on("end", () => fail("it closed the connection without an answer"));
  });
}

/** ForwarderState interface: the forwarder process as its pidfile tells. */
export interface ForwarderState {
  readonly pid?: number;
  readonly alive: boolean;
}

/** Whether runDir's forwarder runs (its pidfile names a live benito). */
export function forwarderState(runDir: string, benito: string): ForwarderState {
  const state = pidfileState(forwarderPaths(runDir).pidfile, basename(benito));
  return { pid: state.pid, alive: state.alive };
}

/** Starts already under way in this process, by run dir (parallel children share one start). */
const starting = new Map<string, Promise<number>>();

/**
 * Starts runDir's forwarder unless it runs; it opens every recorded port before it reports
 * ready. Returns its pid.
 */
export function ensureForwarder(runDir: string, benito: string): Promise<number> {
  const state = forwarderState(runDir, benito);
  if (state.alive && state.pid !== undefined) return Promise.resolve(state.pid);
  const pending = starting.get(runDir);
  if (pending !== undefined) return pending;
  const paths = forwarderPaths(runDir);
  const start = (async () => {
    try {
      return await startSelfDaemonizing([benito, "vde", "forwarder", "--run-dir", runDir, "--daemon"], paths.pidfile, basename(benito), `${paths.log}.start`);
    } catch (error) {
      // Another benito started it meanwhile: that one serves.
      const now = forwarderState(runDir, benito);
      if (now.alive && now.pid !== undefined) return now.pid;
      throw error;
    } finally {
      starting.delete(runDir);
    }
  })();
  starting.set(runDir, start);
  return start;
}

/** Records a port, makes sure the forwarder runs, and has it open the port; throws when the port does not open. */
export async function addForwarderPort(runDir: string, benito: string, record: PortRecord): Promise<PortStatus | undefined> {
  writePortRecord(runDir, record);
  await ensureForwarder(runDir, benito);
  const answer = await forwarderRequest(runDir, { op: "add", id: record.id });
  if (!answer.ok) throw new BenitoError("plugging the TAP into its switch", `${record.tap}${record.netns === undefined ? "" : ` in ${record.netns}`}`, answer.error ?? "the forwarder refused the port");
  return answer.ports?.[0];
}

/**
 * Has the forwarder (when it runs) close a port, and removes its record. The last port's removal
 * stops the forwarder and removes its folder: a `vm stop` of the last vnode leaves nothing.
 */
export async function removeForwarderPort(runDir: string, benito: string, id: string): Promise<void> {
  if (forwarderState(runDir, benito).alive) {
    const answer = await forwarderRequest(runDir, { op: "remove", id });
    if (!answer.ok) throw new BenitoError("unplugging the port", id, answer.error ?? "the forwarder refused");
  }
  removePortRecord(runDir, id);
  if (readPortRecords(runDir).length === 0) await stopForwarder(runDir, benito);
}

/** Every port the running forwarder holds (undefined when it does not run). */
export async function forwarderPorts(runDir: string, benito: string): Promise<readonly PortStatus[] | undefined> {
  if (!forwarderState(runDir, benito).alive) return undefined;
  return (await forwarderRequest(runDir, { op: "list" })).ports ?? [];
}

/** Has a running forwarder re-read its records (open new and failed ports, close unrecorded ones). */
export async function syncForwarder(runDir: string): Promise<readonly PortStatus[]> {
  return (await forwarderRequest(runDir, { op: "sync" })).ports ?? [];
}

/**
 * Stops runDir's forwarder (SIGTERM, SIGKILL after the grace) and removes its folder: socket,
 * logs, and the records of any ports still recorded (their owners are gone by now).
 * @returns whether it was running.
 */
export async function stopForwarder(runDir: string, benito: string): Promise<boolean> {
  const paths = forwarderPaths(runDir);
  const wasAlive = forwarderState(runDir, benito).alive;
  await stopByPidfile(paths.pidfile, basename(benito));
  removeIfPresent(paths.socket);
  if (existsSync(paths.ports)) {
    for (const name of readdirSync(paths.ports)) if (name.endsWith(".json")) removePortRecord(runDir, name.slice(0, -".json".length));
    tryRemoveDir(paths.ports);
  }
  removeIfPresent(paths.log);
  removeIfPresent(`${paths.log}.1`);
  removeIfPresent(`${paths.log}.start`);
  tryRemoveDir(paths.dir);
  return wasAlive;
}

function tryRemoveDir(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // Absent, or holding files that are not benito's: left alone.
  }
}
