// Talks to the per-pnode forwarder: starts it when absent, adds and removes ports, lists them, stops it.
import { existsSync, readdirSync, realpathSync, rmdirSync } from "node:fs";
import { basename, resolve } from "node:path";
import * as v from "valibot";
import { BenitoError } from "../../errors";
import { Ledger } from "../ledger";
import { defaultLockWaitSeconds, withRunLock } from "../run-lock";
import { connectUnix } from "../unix-socket";
import { pidfileState, processStartTime, removeIfPresent, startSelfDaemonizing, stopByPidfile } from "../processes";
import type { ControlAnswer, ControlRequest, PortStatus } from "./forwarder-daemon";
import { forwarderPaths, maxShards, readPortRecord, readPortRecords, removePortRecord, shardCount, writePortRecord, type PortRecord } from "./forwarder-records";
import { countPort, emptyCounts, placePort, type PoolCounts, type PoolView, type PortPlacement, type RecordedPort } from "../../plan/forwarder-placement";

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
  left: v.optional(v.number()),
});

/** Sends one request to forwarder `shard` of runDir and returns its answer. */
export function forwarderRequest(runDir: string, request: ControlRequest, shard = 0, timeoutMs = requestTimeoutMs): Promise<ControlAnswer> {
  const path = forwarderPaths(runDir, shard).socket;
  return new Promise((resolve, reject) => {
    const socket = connectUnix(path);
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

/** The forwarder's ledger id. */
function ledgerId(shard: number): string {
  return `shard-${shard}`;
}

/**
 * Whether forwarder `shard` of runDir runs: its pidfile names a live benito, and (when the ledger
 * recorded it) one with the recorded start time, so a reused pid is never taken for it.
 */
export function forwarderState(runDir: string, benito: string, shard = 0): ForwarderState {
  const state = pidfileState(forwarderPaths(runDir, shard).pidfile, basename(benito));
  const recorded = Ledger.at(runDir).get("forwarder", ledgerId(shard))?.data;
  const reused = state.alive && state.pid !== undefined && recorded?.pid === state.pid && recorded.startTime !== undefined && processStartTime(state.pid) !== recorded.startTime;
  return { pid: state.pid, alive: state.alive && !reused };
}

/** The shards that have recorded ports or a pidfile (what status, up and down look at). */
export function knownShards(runDir: string): number[] {
  const shards = new Set(readPortRecords(runDir).map((record) => record.shard ?? 0));
  for (let shard = 0; shard < maxShards; shard += 1) if (existsSync(forwarderPaths(runDir, shard).pidfile)) shards.add(shard);
  return [...shards].sort((a, b) => a - b);
}

/** Starts already under way in this process, by pidfile (parallel children share one start). */
const starting = new Map<string, Promise<number>>();

/**
 * Starts forwarder `shard` of runDir unless it runs; it opens every port recorded for it before
 * it reports ready. Returns its pid.
 */
export function ensureForwarder(runDir: string, benito: string, shard = 0): Promise<number> {
  const state = forwarderState(runDir, benito, shard);
  if (state.alive && state.pid !== undefined) {
    adoptForwarder(runDir, shard, state.pid);
    return Promise.resolve(state.pid);
  }
  const paths = forwarderPaths(runDir, shard);
  const pending = starting.get(paths.pidfile);
  if (pending !== undefined) return pending;
  const start = (async () => {
    // Recorded before it starts, confirmed with its pid and start time once it runs.
    const ledger = Ledger.at(runDir);
    const record = { shard, pidfile: paths.pidfile, socket: paths.socket, log: paths.log };
    ledger.write("forwarder", ledgerId(shard), "intent", record);
    try {
      const pid = await startSelfDaemonizing([benito, "vde", "forwarder", "--run-dir", runDir, "--shard", String(shard), "--daemon"], paths.pidfile, basename(benito), `${paths.log}.start`);
      ledger.write("forwarder", ledgerId(shard), "done", { ...record, pid, startTime: processStartTime(pid) });
      return pid;
    } catch (error) {
      // Another benito started it meanwhile: that one serves.
      const now = forwarderState(runDir, benito, shard);
      if (now.alive && now.pid !== undefined) return now.pid;
      throw error;
    } finally {
      starting.delete(paths.pidfile);
    }
  })();
  starting.set(paths.pidfile, start);
  return start;
}

/**
 * Confirms a running forwarder in the ledger when its record is missing or still an intent (a
 * benito killed between starting it and confirming it): it is adopted, never started twice.
 */
export function adoptForwarder(runDir: string, shard: number, pid: number): void {
  const ledger = Ledger.at(runDir);
  const record = ledger.get("forwarder", ledgerId(shard));
  if (record?.phase === "done" && record.data.pid === pid) return;
  const paths = forwarderPaths(runDir, shard);
  ledger.write("forwarder", ledgerId(shard), "done", { shard, pidfile: paths.pidfile, socket: paths.socket, log: paths.log, pid, startTime: processStartTime(pid) });
}

/**
 * Stops forwarder `shard` by its pidfile, only when it is the very process recorded (pid and
 * start time, see forwarderState): a pid another benito reuses is never signalled, its stale
 * pidfile only removed.
 */
async function stopShard(runDir: string, benito: string, shard: number): Promise<void> {
  const pidfile = forwarderPaths(runDir, shard).pidfile;
  if (forwarderState(runDir, benito, shard).alive) await stopByPidfile(pidfile, basename(benito));
  else removeIfPresent(pidfile);
}

/** Removes a stopped forwarder's ledger record (when there is one). */
function forgetForwarder(runDir: string, shard: number): void {
  const ledger = Ledger.at(runDir);
  if (ledger.get("forwarder", ledgerId(shard)) !== undefined) ledger.remove("forwarder", ledgerId(shard));
}

/**
 * Recorded ports per pool member and per switch, by run dir, as this process knows them: read
 * from the records once, then kept up to date by this process's own adds and removes, so a boot
 * adding 200 ports no longer reads every record for each one (that was quadratic). It chooses the
 * member for a new port (src/plan/forwarder-placement.ts decides); adds and removes run under the
 * run dir's lock (their callers' or removeForwarderPort's own), and a process reads the records
 * afresh the first time, so another benito's changes are seen. Whether a member is empty and
 * stops is never taken from it (see removeForwarderPort).
 */
const shardCounts = new Map<string, PoolCounts>();

/** One spelling per switch folder: symbolic links resolved (/var/run is /run on Debian) when it exists. */
function switchKey(switchDir: string): string {
  try {
    return realpathSync(switchDir);
  } catch {
    return resolve(switchDir);
  }
}

/** Where a record puts its port. */
function recordedAt(record: PortRecord): RecordedPort {
  return { shard: record.shard ?? 0, switchKey: switchKey(record.switchDir) };
}

function countsOf(runDir: string): PoolCounts {
  const key = resolve(runDir);
  let counts = shardCounts.get(key);
  if (counts === undefined) {
    counts = emptyCounts(maxShards);
    for (const record of readPortRecords(runDir)) countPort(counts, record.shard ?? 0, switchKey(record.switchDir), 1);
    shardCounts.set(key, counts);
  }
  return counts;
}

/** Counts this process's own add or remove in its cached counts (not yet read: the records will tell, as they are now). */
function countOwn(runDir: string, shard: number, switchDir: string, delta: 1 | -1): void {
  const counts = shardCounts.get(resolve(runDir));
  if (counts !== undefined) countPort(counts, shard, switchKey(switchDir), delta);
}

/**
 * The pool as its records and pidfiles show it now, for a dry run: read only (no forwarder is
 * asked, started or changed; the counts are this process's, which forwarderMoves copies before
 * it counts). ports are the plan's forwarder ports (id and switch folder), resolved as the apply
 * step resolves them.
 */
export function observePool(runDir: string, benito: string, ports: readonly { readonly port: string; readonly switchDir: string }[]): PoolView {
  const counts = countsOf(runDir);
  const recorded = ports.flatMap(({ port }) => {
    const record = readPortRecord(runDir, port);
    return record === undefined ? [] : [[port, recordedAt(record)] as const];
  });
  return {
    size: shardCount(),
    counts,
    ports: new Map(recorded),
    running: Array.from({ length: maxShards }, (_, shard) => forwarderState(runDir, benito, shard).alive),
    switchKeys: new Map(ports.map(({ switchDir }) => [switchDir, switchKey(switchDir)])),
  };
}

/** What adding port `id` on switchDir would do now (the decision {@link addForwarderPort} makes; nothing is changed). */
export function portPlacement(runDir: string, id: string, switchDir: string): PortPlacement {
  const recorded = readPortRecord(runDir, id);
  return placePort(countsOf(runDir), shardCount(), recorded === undefined ? undefined : recordedAt(recorded), switchKey(switchDir));
}

/** AddedPort interface: the port's state once the forwarder opened it, and where it was placed (a move: where from). */
export interface AddedPort {
  readonly status?: PortStatus;
  readonly placement: PortPlacement;
}

/**
 * Records a port (on the pool member holding its switch's other ports, else the least loaded one,
 * unless the record names one), makes sure that forwarder runs, and has it open the port; throws
 * when the port does not open. A port recorded already stays where it is, unless it now names
 * another switch or its switch's ports are held by another member (a topology edit moved it to
 * another LAN, or an older benito split the LAN): it is then closed and opened again on the
 * right member, so a re-run of boot regroups every LAN. Where it goes is {@link placePort}'s
 * decision, the one `boot --dry-run` prints.
 */
export async function addForwarderPort(runDir: string, benito: string, wanted: PortRecord): Promise<AddedPort> {
  const existing = readPortRecord(runDir, wanted.id);
  // Read before a move's removal counts it out, so a first count from the records does not see the new record twice.
  const counts = countsOf(runDir);
  let placement: PortPlacement =
    wanted.shard !== undefined
      ? { kind: existing === undefined ? "add" : "keep", shard: wanted.shard }
      : placePort(counts, shardCount(), existing === undefined ? undefined : recordedAt(existing), switchKey(wanted.switchDir));
  if (placement.kind === "move") {
    await removeForwarderPort(runDir, benito, wanted.id);
    // Where it goes is decided again after the removal's wait and counted at once: boot runs its
    // children in parallel in one process, and another child's port of the same new switch may
    // have been placed meanwhile (decided before the wait, the two could split the new LAN).
    const now = placePort(countsOf(runDir), shardCount(), undefined, switchKey(wanted.switchDir));
    placement = { ...placement, to: now.kind === "move" ? now.to : now.shard };
  }
  const shard = placement.kind === "move" ? placement.to : placement.shard;
  const record = { ...wanted, shard };
  writePortRecord(runDir, record);
  if (placement.kind !== "keep") countOwn(runDir, shard, record.switchDir, 1);
  await ensureForwarder(runDir, benito, shard);
  const answer = await forwarderRequest(runDir, { op: "add", id: record.id }, shard);
  if (!answer.ok) {
    const cause = answer.error ?? "the forwarder refused the port";
    throw new BenitoError("plugging the TAP into its switch", `${record.tap}${record.netns === undefined ? "" : ` in ${record.netns}`}`, placement.kind !== "move" ? cause : `${cause} (${movedNote(placement.from, shard)}; boot again retries)`);
  }
  return { status: answer.ports?.[0], placement };
}

/** What a failed add says of the move before it: the port is no longer where it was. */
function movedNote(from: number, to: number): string {
  return from === to ? "it was unplugged first, to move to its new switch" : `it was unplugged from forwarder ${from} first, to join its switch's ports on forwarder ${to}`;
}

/**
 * Has the forwarder (when it runs) close a port, and removes its record. The last port's removal
 * stops the forwarder and removes its folder: a `vm stop` of the last vnode leaves nothing. A
 * port without a record is left alone (records are written before a port opens).
 *
 * All of it runs under the run dir's lock (the caller's, when it holds it: boot, vm stop), and
 * whether the forwarder is now empty comes from the forwarder's own count and the records, not
 * from this process's cached counts: two processes removing the last two ports at once each
 * cached "one left" before, and neither stopped the forwarder.
 */
export async function removeForwarderPort(runDir: string, benito: string, id: string): Promise<void> {
  await withRunLock(runDir, defaultLockWaitSeconds, async () => {
    // Never recorded (a kernel datapath NIC's stop unports too): no forwarder can hold it, and none is
    // asked — a stop of another vnode at the same moment may be stopping the forwarder.
    const recorded = readPortRecord(runDir, id);
    if (recorded === undefined) return;
    const shard = recorded.shard ?? 0;
    let left: number | undefined;
    if (forwarderState(runDir, benito, shard).alive) {
      const answer = await forwarderRequest(runDir, { op: "remove", id }, shard);
      if (!answer.ok) throw new BenitoError("unplugging the port", id, answer.error ?? "the forwarder refused");
      left = answer.left;
    }
    removePortRecord(runDir, id);
    countOwn(runDir, shard, recorded.switchDir, -1);
    // The forwarder still holds other ports (each recorded): nothing to stop, no records to read.
    if (left !== undefined && left > 0) return;
    // It says it is empty, or is not running, or is older and did not say: the records decide.
    const records = readPortRecords(runDir);
    if (records.length === 0) await stopForwarder(runDir, benito);
    else if (!records.some((record) => (record.shard ?? 0) === shard)) {
      await stopShard(runDir, benito, shard);
      forgetForwarder(runDir, shard);
    }
  });
}

/** Every port the running forwarders hold (undefined when none runs). */
export async function forwarderPorts(runDir: string, benito: string): Promise<readonly PortStatus[] | undefined> {
  const alive = knownShards(runDir).filter((shard) => forwarderState(runDir, benito, shard).alive);
  if (alive.length === 0) return undefined;
  const lists = await Promise.all(alive.map(async (shard) => (await forwarderRequest(runDir, { op: "list" }, shard)).ports ?? []));
  return lists.flat().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Has running forwarder `shard` re-read its records (open new and failed ports, close unrecorded ones). */
export async function syncForwarder(runDir: string, shard = 0): Promise<readonly PortStatus[]> {
  return (await forwarderRequest(runDir, { op: "sync" }, shard)).ports ?? [];
}

/**
 * Stops runDir's forwarders (SIGTERM, SIGKILL after the grace) and removes their folder: sockets,
 * logs, and the records of any ports still recorded (their owners are gone by now).
 * @returns whether one was running.
 */
export async function stopForwarder(runDir: string, benito: string): Promise<boolean> {
  shardCounts.delete(resolve(runDir));
  const paths = forwarderPaths(runDir);
  let wasAlive = false;
  for (let shard = 0; shard < maxShards; shard += 1) {
    const own = forwarderPaths(runDir, shard);
    wasAlive = forwarderState(runDir, benito, shard).alive || wasAlive;
    await stopShard(runDir, benito, shard);
    forgetForwarder(runDir, shard);
    removeIfPresent(own.socket);
    removeIfPresent(own.log);
    removeIfPresent(`${own.log}.1`);
    removeIfPresent(`${own.log}.start`);
  }
  if (existsSync(paths.ports)) {
    for (const name of readdirSync(paths.ports)) if (name.endsWith(".json")) removePortRecord(runDir, name.slice(0, -".json".length));
    tryRemoveDir(paths.ports);
  }
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
