// The forwarder in `switch up|down|status`: restarted with every recorded port when it died, stopped after its ports' owners.
import { messageOf } from "../errors";
import { adoptForwarder, ensureForwarder, forwarderPorts, forwarderRequest, forwarderState, knownShards, stopForwarder, syncForwarder } from "../system/vde/forwarder-control";
import type { PortStatus } from "../system/vde/forwarder-daemon";
import { forwarderPaths, readPortRecords } from "../system/vde/forwarder-records";
import type { ActionOutcome } from "./switch-apply";
import { exists } from "../system/paths";

const id = "forwarder" as const;

function summary(runDir: string, ports: number, shard?: number): string {
  return `benito forwarder${shard === undefined ? "s" : ` ${shard}`} ${forwarderPaths(runDir).dir} (${ports} port${ports === 1 ? "" : "s"})`;
}

function broken(ports: readonly PortStatus[]): string[] {
  return ports.filter((port) => port.state !== "open").map((port) => `port ${port.id} ${port.state}: ${port.error ?? "?"}`);
}

/**
 * Converges the forwarder on its records: when ports are recorded and it does not run, it is
 * started (it opens every recorded port); when it runs, it re-reads the records (failed ports
 * are tried again). Nothing is done when no port is recorded and it does not run. Ports that
 * stay closed are named in the reason; their nodes' own convergence repairs them.
 */
export async function forwarderUp(runDir: string, benito: string): Promise<ActionOutcome[]> {
  const records = readPortRecords(runDir);
  const outcomes: ActionOutcome[] = [];
  for (const shard of knownShards(runDir)) {
    const mine = records.filter((record) => (record.shard ?? 0) === shard);
    const state = forwarderState(runDir, benito, shard);
    if (!state.alive && mine.length === 0) continue;
    const base = { id: shard === 0 ? id : `${id}-${shard}`, summary: summary(runDir, mine.length, shard) };
    try {
      // A port that does not open is its node's to repair (its launch converges): reported, not a failure here.
      if (!state.alive) {
        const pid = await ensureForwarder(runDir, benito, shard);
        const problems = broken((await forwarderRequest(runDir, { op: "list" }, shard)).ports ?? []);
        const reason = state.pid === undefined ? "not running" : `dead (pid ${state.pid} is gone)`;
        outcomes.push({ ...base, action: "start", reason: [`${reason}; every recorded port reopened`, ...problems].join("; "), ok: true, pid });
        continue;
      }
      if (state.pid !== undefined) adoptForwarder(runDir, shard, state.pid);
      const problems = broken(await syncForwarder(runDir, shard));
      outcomes.push({ ...base, action: "keep", reason: ["running", ...(problems.length === 0 ? ["every port open"] : problems)].join("; "), ok: true, pid: state.pid });
    } catch (error) {
      outcomes.push({ ...base, action: state.alive ? "keep" : "start", reason: "could not be brought up", ok: false, error: messageOf(error) });
    }
  }
  return outcomes;
}

/** Stops the forwarder and removes its folder; undefined when there was nothing of it. */
export async function forwarderDown(runDir: string, benito: string): Promise<ActionOutcome | undefined> {
  if (!exists(forwarderPaths(runDir).dir)) return undefined;
  const records = readPortRecords(runDir);
  const alive = knownShards(runDir).some((shard) => forwarderState(runDir, benito, shard).alive);
  const base = { action: "stop" as const, id, summary: summary(runDir, records.length), reason: alive ? "was running" : "was not running (cleaned up)" };
  try {
    await stopForwarder(runDir, benito);
    return { ...base, ok: true };
  } catch (error) {
    return { ...base, ok: false, error: messageOf(error) };
  }
}

/** ForwarderStatus interface: the forwarder as `switch status` shows it. */
export interface ForwarderStatus {
  readonly id: typeof id;
  readonly summary: string;
  /** The pids of the pool's running forwarders. */
  readonly pids: readonly number[];
  /** True when every forwarder with recorded ports runs. */
  readonly alive: boolean;
  /** Each port the running forwarder holds (recorded ports it lacks are listed as missing). */
  readonly ports: readonly PortStatus[];
  /** Recorded ports the running forwarder does not hold (or every recorded port when it does not run). */
  readonly missing: readonly string[];
  readonly error?: string;
}

/** The forwarder and its ports; undefined when nothing of it is recorded. */
export async function forwarderStatus(runDir: string, benito: string): Promise<ForwarderStatus | undefined> {
  const records = readPortRecords(runDir);
  const shards = knownShards(runDir);
  if (shards.length === 0) return undefined;
  const states = shards.map((shard) => forwarderState(runDir, benito, shard));
  const pids = states.flatMap((state) => (state.alive && state.pid !== undefined ? [state.pid] : []));
  const base = { id, summary: summary(runDir, records.length), pids, alive: states.every((state) => state.alive) };
  try {
    const ports = (await forwarderPorts(runDir, benito)) ?? [];
    const held = new Set(ports.map((port) => port.id));
    return { ...base, ports, missing: records.filter((record) => !held.has(record.id)).map((record) => record.id) };
  } catch (error) {
    return { ...base, ports: [], missing: records.map((record) => record.id), error: messageOf(error) };
  }
}
