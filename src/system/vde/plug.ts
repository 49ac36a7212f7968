// The native VDE plug: a TAP attached to a switch port, forwarding until stopped; reconnects when asked.
import { BenitoError, ExitCode } from "../../errors";
import { libc } from "../libc";
import { attachTap, describeTapError } from "../tap";
import { closeConnection, connectSwitch, VdeConnectError, type VdeConnection } from "./connect";
import { addStats, emptyStats, Forwarder, type ForwardStats, type PortEnd } from "./forwarder";
import { trimResidentSet } from "./resident";

/** First and longest wait between reconnection attempts. */
const firstBackoffMs = 100;
const maxBackoffMs = 5000;
/** Signals that stop the plug cleanly. */
const stopSignals = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

/** PlugOptions interface: what `benito vde plug` was asked to do. */
export interface PlugOptions {
  /** The switch's socket folder. */
  readonly switchDir: string;
  /** The port to ask for (0 = any). */
  readonly port: number;
  /** The TAP to attach to (created, non-persistent, when absent). */
  readonly tap: string;
  /** Reconnect (with bounded backoff) when the switch closes the port, instead of exiting. */
  readonly reconnect: boolean;
}

/** PlugEvents interface: what the caller hears about (to report, write a pidfile, detach). */
export interface PlugEvents {
  /** A port was opened; `first` is true the first time. */
  connected(connection: VdeConnection, first: boolean): void;
  /** The switch closed the port; with reconnect, a new attempt follows after delayMs. */
  disconnected(delayMs: number | undefined): void;
  /** A reconnection attempt failed; the next follows after delayMs. */
  retryFailed(error: VdeConnectError, delayMs: number): void;
}

/** PlugOutcome interface: how the plug ended. */
export interface PlugOutcome {
  /** "stopped" by a signal, or "switch-closed" (only without reconnect). */
  readonly end: "stopped" | "switch-closed";
  /** Counters summed over every connection. */
  readonly stats: ForwardStats;
}

/**
 * Runs the plug: attaches the TAP, opens the port (the first attempt must succeed), forwards
 * frames, and on SIGTERM/SIGINT/SIGHUP closes everything and returns.
 *
 * @throws VdeConnectError when the first connection fails; BenitoError when the TAP cannot be attached.
 */
export async function runPlug(options: PlugOptions, events: PlugEvents): Promise<PlugOutcome> {
  let tapFd: number;
  try {
    tapFd = attachTap(options.tap, true);
  } catch (error) {
    if (error instanceof BenitoError) throw error;
    throw new BenitoError("attaching to the TAP device", options.tap, describeTapError(error, options.tap));
  }
  const total = emptyStats();
  let stopped = false;
  let current: Forwarder<number> | undefined;
  let wakeSleeper: (() => void) | undefined;
  const onSignal = (): void => {
    stopped = true;
    current?.stop();
    wakeSleeper?.();
  };
  for (const signal of stopSignals) process.on(signal, onSignal);
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  let connection: VdeConnection | undefined;
  try {
    const description = `benito vde plug tap=${options.tap} pid=${libc.getpid()}`;
    connection = connectSwitch(options.switchDir, options.port, description);
    let first = true;
    let backoff = firstBackoffMs;
    while (!stopped) {
      if (connection === undefined) {
        try {
          connection = connectSwitch(options.switchDir, options.port, description);
        } catch (error) {
          if (!(error instanceof VdeConnectError) || !error.retryable) throw error;
          events.retryFailed(error, backoff);
          await sleep(backoff);
          backoff = Math.min(maxBackoffMs, backoff * 2);
          continue;
        }
      }
      events.connected(connection, first);
      if (first) trimResidentSet();
      first = false;
      backoff = firstBackoffMs;
      const outcome: { end: PortEnd | "stopped" } = { end: "stopped" };
      const loop: Forwarder<number> = new Forwarder<number>({
        ended(_key, reason, stats) {
          outcome.end = reason;
          addStats(total, stats);
          loop.stop();
        },
      });
      current = loop;
      loop.add(0, tapFd, connection);
      try {
        await loop.run();
      } finally {
        const left = loop.remove(0);
        if (left !== undefined) addStats(total, left);
        loop.close();
        current = undefined;
      }
      const end = outcome.end;
      if (end === "tap-gone") throw new BenitoError("forwarding frames", options.tap, "the TAP device went away (deleted, or its namespace is gone)", ExitCode.failed);
      closeConnection(connection);
      connection = undefined;
      if (end === "stopped") break;
      if (!options.reconnect) {
        events.disconnected(undefined);
        return { end: "switch-closed", stats: total };
      }
      events.disconnected(backoff);
      await sleep(backoff);
    }
    return { end: "stopped", stats: total };
  } finally {
    for (const signal of stopSignals) process.off(signal, onSignal);
    if (connection !== undefined) closeConnection(connection);
    libc.close(tapFd);
  }
}
