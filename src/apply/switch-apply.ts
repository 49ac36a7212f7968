// Runs `switch up|down|status` against the machine: daemons started and stopped by pidfile, records in the run dir.
import { join } from "node:path";
import { BenitoError, messageOf } from "../errors";
import { fingerprint, stateFolder, type DaemonSpec, type Observed, type SwitchAction } from "../plan/switch-plan";
import { isSameProcess, pidfileState, ProcessIndex, processStartTime, removeIfPresent, startSelfDaemonizing, stopByPidfile, writePidfile } from "../system/processes";
import { mgmtCommand, parsePortPrint, type PortInUse } from "../system/vde/mgmt";
import { Ledger, type LedgerData } from "../system/ledger";
import { exists, makeDir, removeEmptyDir, writeWholeFile } from "../system/paths";
import { clearSwitchFolder, makeSwitchFolder } from "../system/switch-folder";
import { socketAnswers } from "../system/unix-socket";

/** How long a started switch may take to create its control socket. */
const socketTimeoutMs = 5000;

/** DaemonRecord type: what the ledger remembers about a daemon benito started (intent before the start, pid and start time after). */
export type DaemonRecord = LedgerData<"daemon"> & { readonly id: string; readonly phase: "intent" | "done" };

/** ActionOutcome interface: what happened to one action. */
export interface ActionOutcome {
  /** `repair` (tunnels only): put right in place, nothing restarted. */
  readonly action: SwitchAction["action"] | "repair";
  readonly id: string;
  readonly summary: string;
  readonly reason: string;
  /** False when it failed (see error) or was skipped because a switch it joins failed. */
  readonly ok: boolean;
  readonly pid?: number;
  readonly error?: string;
}

/** Reads every daemon record in the run dir's ledger (a record that cannot be read is an error naming its file). */
export function readRecords(runDir: string): DaemonRecord[] {
  return Ledger.at(runDir)
    .list("daemon")
    .map((record) => ({ ...record.data, id: record.id, phase: record.phase }));
}

/** The daemon's state: the pidfile's process, when it runs the program (and is the very process recorded, pid and start time). */
function daemonState(record: DaemonRecord): { pid?: number; alive: boolean } {
  const state = pidfileState(record.pidfile, record.program);
  const same = state.alive && (record.pid === undefined || state.pid !== record.pid || isSameProcess(record.pid, record.startTime));
  return { pid: state.pid, alive: same };
}

/** What each record's daemon is doing now. */
export function observe(records: readonly DaemonRecord[]): Observed[] {
  return records.map((record) => {
    const state = daemonState(record);
    const socketThere = record.sockDir === undefined || exists(join(record.sockDir, "ctl"));
    return { id: record.id, program: record.program, fingerprint: record.fingerprint, pid: state.pid, alive: state.alive && socketThere, role: record.role, summary: record.summary };
  });
}

function recordOf(spec: DaemonSpec): LedgerData<"daemon"> {
  return {
    role: spec.role,
    program: spec.program,
    summary: spec.summary,
    fingerprint: fingerprint(spec),
    argv: [...spec.argv],
    pidfile: spec.pidfile,
    mgmt: spec.mgmt,
    log: spec.log,
    sockDir: spec.sockDir,
    rcPath: spec.rc?.path,
    joins: [...spec.joins],
  };
}

/** Confirms a daemon in the ledger with the pid and start time of the process that runs it. */
function confirmDaemon(runDir: string, spec: DaemonSpec, pid: number): void {
  Ledger.at(runDir).confirm("daemon", spec.id, { ...recordOf(spec), pid, startTime: processStartTime(pid) });
}

/**
 * Starts a daemon: its intent goes to the ledger first, so a crash at any point after leaves a
 * record `down` and the next `up` act on. A daemon of the same argv that runs already (started
 * by a run whose record or pidfile was lost) is adopted, not refused.
 */
async function startDaemon(spec: DaemonSpec, runDir: string, processes: ProcessIndex): Promise<{ pid: number; adopted: boolean }> {
  const orphan = processes.withArgv(spec.argv)[0];
  if (orphan !== undefined && (spec.sockDir === undefined || (await socketAnswers(join(spec.sockDir, "ctl"))))) {
    Ledger.at(runDir).intend("daemon", spec.id, recordOf(spec));
    writePidfile(spec.pidfile, orphan);
    confirmDaemon(runDir, spec, orphan);
    return { pid: orphan, adopted: true };
  }
  // A record from before this run vouches for its switch folder even when a crash left it unmarked.
  const recorded = spec.sockDir !== undefined && Ledger.at(runDir).get("daemon", spec.id)?.data.sockDir === spec.sockDir;
  Ledger.at(runDir).intend("daemon", spec.id, recordOf(spec));
  makeDir(join(runDir, stateFolder));
  if (spec.sockDir !== undefined) {
    if (exists(join(spec.sockDir, "ctl")) && (await socketAnswers(join(spec.sockDir, "ctl")))) {
      throw new BenitoError("starting the switch", spec.sockDir, "a switch that benito did not start (its command line differs) already listens there; stop it first");
    }
    // A dead switch's sockets go; a folder benito did not make is refused, never taken over.
    clearSwitchFolder(spec.sockDir, recorded);
    makeSwitchFolder(spec.sockDir, spec.id, recorded);
  }
  removeIfPresent(spec.mgmt);
  if (spec.rc !== undefined) writeWholeFile(spec.rc.path, spec.rc.content);
  const pid = await startSelfDaemonizing(spec.argv, spec.pidfile, spec.program, spec.log);
  if (spec.sockDir !== undefined) {
    const control = join(spec.sockDir, "ctl");
    const deadline = performance.now() + socketTimeoutMs;
    while (!exists(control)) {
      if (performance.now() > deadline) throw new BenitoError("starting the switch", spec.sockDir, `no control socket ${control} after ${socketTimeoutMs} ms`);
      await Bun.sleep(20);
    }
  }
  confirmDaemon(runDir, spec, pid);
  return { pid, adopted: false };
}

/** Stops a recorded daemon by its pidfile and removes everything benito made for it. */
async function stopDaemon(record: DaemonRecord, runDir: string): Promise<void> {
  // Only the process recorded (same pid and start time) is signalled; a stranger in a reused pid is not.
  if (daemonState(record).alive) await stopByPidfile(record.pidfile, record.program);
  removeIfPresent(record.mgmt);
  if (record.sockDir !== undefined) clearSwitchFolder(record.sockDir, true);
  if (record.rcPath !== undefined) removeIfPresent(record.rcPath);
  removeIfPresent(record.log);
  removeIfPresent(record.pidfile);
  Ledger.at(runDir).remove("daemon", record.id);
}

/**
 * Carries out `switch up`'s actions in order. A failure is reported and the rest goes on, except
 * that a wirefilter whose switch failed is skipped.
 */
export async function applySwitchActions(actions: readonly SwitchAction[], runDir: string): Promise<ActionOutcome[]> {
  const records = new Map(readRecords(runDir).map((record) => [record.id, record]));
  // One /proc scan for every daemon started here (orphans of a lost record are adopted).
  const processes = new ProcessIndex();
  const failed = new Set<string>();
  const outcomes: ActionOutcome[] = [];
  for (const step of actions) {
    const base = { action: step.action, id: step.id, summary: step.summary, reason: step.reason };
    const blocker = step.spec?.joins.find((id) => failed.has(id));
    if (blocker !== undefined) {
      failed.add(step.id);
      outcomes.push({ ...base, ok: false, error: `skipped: switch ${blocker} failed` });
      continue;
    }
    try {
      const record = records.get(step.id);
      if ((step.action === "stop" || step.action === "restart") && record !== undefined) await stopDaemon(record, runDir);
      if (step.action === "keep") {
        const pid = pidfileState(step.spec?.pidfile ?? "").pid;
        // Started by a run that crashed before confirming it: adopted now, with its pid and start time.
        if (record?.phase === "intent" && step.spec !== undefined && pid !== undefined) confirmDaemon(runDir, step.spec, pid);
        outcomes.push({ ...base, ok: true, pid });
        continue;
      }
      if (step.action === "stop") {
        outcomes.push({ ...base, ok: true });
        continue;
      }
      if (step.spec === undefined) throw new Error(`no configuration for ${step.id}`);
      // A dead daemon's leftovers (sockets, stale pidfile) go before it starts again.
      if (step.action === "start" && record !== undefined) await stopDaemon(record, runDir);
      const started = await startDaemon(step.spec, runDir, processes);
      outcomes.push({ ...base, ok: true, pid: started.pid, ...(started.adopted && { reason: `${step.reason}; adopted the running one of the same command line` }) });
    } catch (error) {
      failed.add(step.id);
      outcomes.push({ ...base, ok: false, error: error instanceof BenitoError ? `${error.reason}` : messageOf(error) });
    }
  }
  return outcomes;
}

/** Stops every daemon recorded in the run dir (wirefilters, then switches, then core switches). */
export async function switchDown(runDir: string): Promise<ActionOutcome[]> {
  const order: Record<DaemonSpec["role"], number> = { wirefilter: 0, switch: 1, core: 2 };
  const records = readRecords(runDir).sort((a, b) => order[a.role] - order[b.role] || a.id.localeCompare(b.id));
  const outcomes: ActionOutcome[] = [];
  for (const record of records) {
    const state = daemonState(record);
    const base = { action: "stop" as const, id: record.id, summary: record.summary, reason: state.alive ? "was running" : "was not running (cleaned up)" };
    try {
      await stopDaemon(record, runDir);
      outcomes.push({ ...base, ok: true, pid: state.pid });
    } catch (error) {
      outcomes.push({ ...base, ok: false, error: messageOf(error) });
    }
  }
  Ledger.at(runDir).removeIfEmpty();
  try {
    removeEmptyDir(join(runDir, stateFolder));
  } catch {
    // Absent, or holding files that are not benito's: left alone.
  }
  return outcomes;
}

/** StatusEntry interface: one daemon as `switch status` shows it. */
export interface StatusEntry {
  readonly id: string;
  readonly role: DaemonSpec["role"];
  readonly program: string;
  readonly summary: string;
  /** The socket folder (switches). */
  readonly switch?: string;
  readonly pid?: number;
  readonly alive: boolean;
  /** Active ports (switches that answered on their management socket). */
  readonly ports?: readonly PortInUse[];
  /** Why the ports are unknown, when they are. */
  readonly portsError?: string;
}

/** Reports every recorded daemon: pid, alive, and for live switches the ports in use. */
export async function switchStatus(runDir: string): Promise<StatusEntry[]> {
  const entries: StatusEntry[] = [];
  for (const record of readRecords(runDir)) {
    const state = daemonState(record);
    const entry = { id: record.id, role: record.role, program: record.program, summary: record.summary, switch: record.sockDir, pid: state.pid, alive: state.alive };
    if (record.sockDir === undefined || !state.alive) {
      entries.push(entry);
      continue;
    }
    try {
      entries.push({ ...entry, ports: parsePortPrint(await mgmtCommand(record.mgmt, "port/print")) });
    } catch (error) {
      entries.push({ ...entry, portsError: messageOf(error) });
    }
  }
  return entries;
}
