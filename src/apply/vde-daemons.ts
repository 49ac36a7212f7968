// The work behind `benito vde forwarder`, `vde plug` and `vde ports`: pidfiles, detaching, running the forwarder or one plug until it stops.
import { basename } from "node:path";
import { BenitoError } from "../errors";
import { optimizeFromNow } from "../system/jit";
import { announceReadyAndDetach, pidfileState, removePidfile, spawnDetachedSelf, takeDaemonChildMark, writePidfile, type DetachedChild } from "../system/processes";
import type { VdeConnection, VdeConnectError } from "../system/vde/connect";
import { forwarderPorts, forwarderState, knownShards } from "../system/vde/forwarder-control";
import { ForwarderDaemon, type PortStatus } from "../system/vde/forwarder-daemon";
import { forwarderPaths } from "../system/vde/forwarder-records";
import { runPlug, type PlugOptions, type PlugOutcome } from "../system/vde/plug";

/** How a daemon command is to run: in the foreground, or detached (re-spawned with `selfArgs`). */
export interface DaemonMode {
  /** --daemon was given. */
  readonly daemon: boolean;
  /** The arguments that re-run this command in the detached child (the command's own argv). */
  readonly selfArgs: readonly string[];
  /** The child's environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** How a daemon command ended: `detached` when it started a background child and returned at once. */
export type DaemonRun<T> = { readonly kind: "detached"; readonly child: DetachedChild } | { readonly kind: "ran"; readonly result: T };

/** True when this process is the detached child that `mode` asks for (the mark is consumed). */
function isDetachedChild(mode: DaemonMode): boolean {
  return takeDaemonChildMark() && mode.daemon;
}

/**
 * Runs forwarder `shard` of `runDir` until it is stopped, or starts it detached and returns once
 * it is ready. Its pidfile is written when it is ready and removed when it ends.
 *
 * @throws BenitoError when a forwarder already runs for this shard, or it cannot start.
 */
export async function runForwarder(runDir: string, shard: number, mode: DaemonMode): Promise<DaemonRun<undefined>> {
  // A daemon: its frame loop is optimized at once (benito's short runs are not, see optimizeFromNow).
  optimizeFromNow();
  const paths = forwarderPaths(runDir, shard);
  const detachedChild = isDetachedChild(mode);
  // Only a process of this program counts: a stale pidfile whose pid was reused by another is no reason to refuse.
  const state = pidfileState(paths.pidfile, basename(process.execPath));
  if (state.alive && state.pid !== process.pid) throw new BenitoError("starting the forwarder", paths.pidfile, `a forwarder already runs (pid ${state.pid})`);
  if (mode.daemon && !detachedChild) return { kind: "detached", child: await spawnDetachedSelf(mode.selfArgs, mode.env) };
  let pidWritten = false;
  try {
    await new ForwarderDaemon(runDir, shard).run({
      ready(portCount) {
        writePidfile(paths.pidfile, process.pid);
        pidWritten = true;
        if (detachedChild) announceReadyAndDetach(`running with ${portCount} port(s)`);
      },
    });
    return { kind: "ran", result: undefined };
  } finally {
    if (pidWritten) removePidfile(paths.pidfile, process.pid);
  }
}

/** ForwarderPortsReport interface: the running forwarders of a run dir and their ports. */
export interface ForwarderPortsReport {
  /** True when a forwarder answered. */
  readonly running: boolean;
  /** The pids of the pool's running forwarders. */
  readonly pids: readonly number[];
  readonly ports: readonly PortStatus[];
}

/** Asks the run dir's forwarders for their ports (`benito` is the executable they run as). */
export async function forwarderPortsReport(runDir: string, benito: string): Promise<ForwarderPortsReport> {
  const list = await forwarderPorts(runDir, benito);
  const pids = knownShards(runDir).flatMap((shard) => {
    const state = forwarderState(runDir, benito, shard);
    return state.alive && state.pid !== undefined ? [state.pid] : [];
  });
  return { running: list !== undefined, pids, ports: list ?? [] };
}

/** PlugReports interface: what the plug tells its caller to print while it runs. */
export interface PlugReports {
  /** It reconnected to the switch (not called for the first connection). */
  reconnected(connection: VdeConnection): void;
  /** The switch closed the port; a new attempt follows after delayMs. */
  disconnected(delayMs: number): void;
  /** A reconnection attempt failed; the next follows after delayMs. */
  retryFailed(error: VdeConnectError, delayMs: number): void;
}

/**
 * Runs one plug (a TAP on a switch port) until it is stopped, or starts it detached and returns
 * once its port is open. `pidfile`, when given, names the plug while it runs.
 *
 * @throws BenitoError when the pidfile names a running process or the first connection fails.
 */
export async function runPlugDaemon(options: PlugOptions, pidfile: string | undefined, mode: DaemonMode, reports: PlugReports): Promise<DaemonRun<PlugOutcome>> {
  // A daemon: its frame loop is optimized at once (benito's short runs are not, see optimizeFromNow).
  optimizeFromNow();
  const detachedChild = isDetachedChild(mode);
  if (pidfile !== undefined) {
    const state = pidfileState(pidfile, basename(process.execPath));
    if (state.alive && state.pid !== process.pid) throw new BenitoError("starting the plug", pidfile, `the pidfile names a running process (pid ${state.pid})`);
  }
  if (mode.daemon && !detachedChild) return { kind: "detached", child: await spawnDetachedSelf(mode.selfArgs, mode.env) };
  let pidWritten = false;
  try {
    const outcome = await runPlug(options, {
      connected(connection, first) {
        if (!first) {
          reports.reconnected(connection);
          return;
        }
        if (pidfile !== undefined) {
          writePidfile(pidfile, process.pid);
          pidWritten = true;
        }
        if (detachedChild) announceReadyAndDetach(`port ${connection.port}`);
      },
      disconnected(delayMs) {
        if (delayMs !== undefined) reports.disconnected(delayMs);
      },
      retryFailed: (error, delayMs) => reports.retryFailed(error, delayMs),
    });
    return { kind: "ran", result: outcome };
  } finally {
    if (pidWritten && pidfile !== undefined) removePidfile(pidfile, process.pid);
  }
}
