// The per-pnode forwarder daemon: every recorded port in one frame loop, ports added and removed live over a control socket.
import { ptr } from "bun:ffi";
import { BenitoError, messageOf } from "../../errors";
import { check, cString, errno, libc, strerror } from "../libc";
import { AF_UNIX, EAGAIN, EINTR, POLLIN, PRIO_PROCESS, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM } from "../libc-constants";
import { withinNamespace } from "../netns";
import { appendLogLine } from "../state-files";
import { attachTap, describeTapError, interfaceExists, interfaceMtu } from "../tap";
import { closeConnection, connectSwitch, VdeConnectError, type VdeConnection } from "./connect";
import { addStats, emptyStats, Forwarder, type ForwardStats, type PortEnd } from "./forwarder";
import { forwarderPaths, isPortId, readPortRecord, readPortRecords, type PortRecord } from "./forwarder-records";
import { encodeSockaddrUn } from "./sockaddr";
import { trimResidentSet } from "./resident";

/** First and longest wait between reconnection attempts of one port. */
const firstBackoffMs = 100;
const maxBackoffMs = 5000;
/** How long a client may take to send its one-line request. */
const requestTimeoutMs = 1000;
const maxRequestBytes = 4096;
/**
 * The forwarding thread's nice value. The forwarder does the work of every port's plug in one
 * thread, so the scheduler sees one task using as much CPU as all of them and, under load,
 * wakes it later than it would wake each small plug (docs/datapath.md, "Latency"); a nice of
 * -5 gives it about the weight of three ordinary tasks back.
 */
const forwarderNice = -5;
/** Signals that stop the forwarder cleanly. */
const stopSignals = ["SIGTERM", "SIGINT", "SIGHUP"] as const;

/** PortStatus interface: one port as the forwarder reports it. */
export interface PortStatus {
  readonly id: string;
  readonly tap: string;
  readonly netns?: string;
  readonly switchDir: string;
  readonly owner?: string;
  /** "open": forwarding; "connecting": waiting to reconnect to its switch; "failed": closed (see error). */
  readonly state: "open" | "connecting" | "failed";
  /** The switch port granted (while open). */
  readonly port?: number;
  /** Why it is not open. */
  readonly error?: string;
  readonly stats: ForwardStats;
}

/** ControlRequest type: what a client asks (one JSON line per connection). */
export type ControlRequest = { readonly op: "add" | "remove"; readonly id: string } | { readonly op: "list" | "sync" };

/** ControlAnswer interface: the forwarder's one-line answer. */
export interface ControlAnswer {
  readonly ok: boolean;
  readonly error?: string;
  readonly ports?: readonly PortStatus[];
}

/** One port's live state in the daemon. */
interface Live {
  record: PortRecord;
  tapFd: number;
  connection?: VdeConnection;
  state: PortStatus["state"];
  error?: string;
  retryAt: number;
  backoff: number;
  /** Counters of earlier connections of this port. */
  readonly stats: ForwardStats;
}

/** Opens the record's TAP (inside its namespace when it has one), nonblocking; returns the fd and the MTU. */
function openTap(record: PortRecord): { fd: number; mtu: number } {
  const open = () => {
    // The TAP is made (with its MAC) by whoever recorded the port; one missing is an error, not made here.
    if (!interfaceExists(record.tap)) throw new BenitoError("opening the TAP device", tapWhere(record), "no such interface");
    const fd = attachTap(record.tap, true);
    try {
      return { fd, mtu: interfaceMtu(record.tap) };
    } catch (error) {
      libc.close(fd);
      throw error;
    }
  };
  try {
    return record.netns === undefined ? open() : withinNamespace(record.netns, open);
  } catch (error) {
    if (error instanceof BenitoError) throw error;
    throw new BenitoError("opening the TAP device", tapWhere(record), describeTapError(error, record.tap));
  }
}

function tapWhere(record: PortRecord): string {
  return record.netns === undefined ? record.tap : `${record.tap} in ${record.netns}`;
}

/** ForwarderDaemonEvents interface: what the command hears (to write the pidfile and detach once ready). */
export interface ForwarderDaemonEvents {
  /** The control socket listens and every recorded port was tried. */
  ready(portCount: number): void;
}

/**
 * ForwarderDaemon class: holds every port recorded under the run dir in one {@link Forwarder}
 * loop, answers the control socket (add, remove, list, sync), reconnects ports whose switch
 * went away (when their record says so), and reports ports whose TAP went away as failed
 * without disturbing the others.
 */
export class ForwarderDaemon {
  readonly #runDir: string;
  readonly #shard: number;
  readonly #paths: ReturnType<typeof forwarderPaths>;
  readonly #live = new Map<string, Live>();
  /** Ports waiting to reconnect (checked on every wake-up, so only these, not every port). */
  readonly #retrying = new Set<Live>();
  readonly #loop: Forwarder<string>;
  #listenFd = -1;
  readonly #request = new Uint8Array(maxRequestBytes);

  /** @param shard Which forwarder of the pool this is: it holds the records that name it. */
  constructor(runDir: string, shard = 0) {
    this.#runDir = runDir;
    this.#shard = shard;
    this.#paths = forwarderPaths(runDir, shard);
    this.#loop = new Forwarder<string>({
      ended: (id, end, stats) => this.#ended(id, end, stats),
      tick: () => this.#retryDue(),
    });
  }

  /** Listens, opens every recorded port, and forwards until SIGTERM/SIGINT/SIGHUP. */
  async run(events: ForwarderDaemonEvents): Promise<void> {
    // On Linux this is the calling thread's priority: the forwarding loop's, not Bun's helpers'.
    if (libc.setpriority(PRIO_PROCESS, 0, forwarderNice) !== 0) this.#log(`could not raise the forwarding thread's priority: ${strerror(errno())}`);
    this.#listen();
    const onSignal = () => this.#loop.stop();
    for (const signal of stopSignals) process.on(signal, onSignal);
    try {
      this.#sync();
      this.#log(`started: ${this.#live.size} port(s) recorded`);
      events.ready(this.#live.size);
      trimResidentSet();
      await this.#loop.run();
    } finally {
      for (const signal of stopSignals) process.off(signal, onSignal);
      for (const id of [...this.#live.keys()]) this.#close(id);
      this.#loop.close();
      if (this.#listenFd >= 0) libc.close(this.#listenFd);
      libc.unlink(cString(this.#paths.socket));
      this.#log("stopped");
    }
  }

  #log(line: string): void {
    appendLogLine(this.#paths.log, `${new Date().toISOString()} ${line}`);
  }

  #listen(): void {
    const fd = check("socket(AF_UNIX, SOCK_STREAM)", libc.socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    try {
      const address = encodeSockaddrUn(this.#paths.socket);
      // A socket file left by a forwarder that was killed: nobody listens (the caller checked), so it goes.
      libc.unlink(cString(this.#paths.socket));
      if (libc.bind(fd, ptr(address), address.length) < 0) throw new BenitoError("listening for control requests", this.#paths.socket, strerror(errno()));
      check("listen", libc.listen(fd, 128));
    } catch (error) {
      libc.close(fd);
      throw error;
    }
    this.#listenFd = fd;
    this.#loop.watch(fd, () => this.#accept());
  }

  /** Answers every waiting client: one request line, one answer line, then the connection closes. */
  #accept(): void {
    for (;;) {
      const client = libc.accept4(this.#listenFd, null, null, SOCK_CLOEXEC);
      if (client < 0) return;
      try {
        const request = this.#readRequest(client);
        const answer = request === undefined ? { ok: false, error: "no request line within 1 s" } : this.#answer(request);
        const bytes = Buffer.from(`${JSON.stringify(answer)}\n`);
        libc.send(client, bytes, bytes.length, 0x4000 /* MSG_NOSIGNAL */);
      } catch (error) {
        this.#log(`control request failed: ${messageOf(error)}`);
      } finally {
        libc.close(client);
      }
    }
  }

  #readRequest(client: number): string | undefined {
    const pollfd = new Int32Array([client, POLLIN]);
    let length = 0;
    const deadline = performance.now() + requestTimeoutMs;
    while (length < maxRequestBytes) {
      const left = Math.ceil(deadline - performance.now());
      if (left <= 0) return undefined;
      if (libc.poll(ptr(pollfd), 1, left) <= 0) continue;
      const count = Number(libc.recv(client, ptr(this.#request, length), maxRequestBytes - length, 0));
      if (count < 0 && (errno() === EINTR || errno() === EAGAIN)) continue;
      if (count <= 0) break;
      length += count;
      const newline = this.#request.subarray(0, length).indexOf(10);
      if (newline >= 0) return Buffer.from(this.#request.subarray(0, newline)).toString("utf8");
    }
    return undefined;
  }

  #answer(line: string): ControlAnswer {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return { ok: false, error: "the request is not JSON" };
    }
    if (typeof request !== "object" || request === null || !("op" in request)) return { ok: false, error: "the request has no op" };
    const op = request.op;
    const id = "id" in request && typeof request.id === "string" ? request.id : undefined;
    if (op === "list") return { ok: true, ports: this.#statuses() };
    if (op === "sync") {
      this.#sync();
      return { ok: true, ports: this.#statuses() };
    }
    if ((op !== "add" && op !== "remove") || id === undefined || !isPortId(id)) return { ok: false, error: "expected op add|remove with a port id, list or sync" };
    if (op === "remove") {
      const known = this.#live.has(id);
      this.#close(id);
      if (known) this.#log(`port ${id} removed`);
      return { ok: true };
    }
    const record = readPortRecord(this.#runDir, id);
    if (record === undefined) return { ok: false, error: `no valid record for port ${id} in ${this.#paths.ports}` };
    if ((record.shard ?? 0) !== this.#shard) return { ok: false, error: `port ${id} is forwarder ${record.shard ?? 0}'s, not ${this.#shard}'s` };
    this.#open(record);
    const status = this.#status(id);
    return { ok: status?.state === "open", error: status?.error, ports: status === undefined ? [] : [status] };
  }

  /** Converges on the records: new ones are opened, failed ones retried, ones no longer recorded closed. */
  #sync(): void {
    const records = readPortRecords(this.#runDir).filter((record) => (record.shard ?? 0) === this.#shard);
    const wanted = new Set(records.map((record) => record.id));
    for (const id of [...this.#live.keys()]) {
      if (!wanted.has(id)) this.#close(id);
    }
    for (const record of records) {
      const live = this.#live.get(record.id);
      if (live !== undefined && live.state !== "failed" && JSON.stringify(live.record) === JSON.stringify(record)) continue;
      this.#open(record);
    }
  }

  /** Opens (or reopens) a port: its TAP, then its switch port; a switch not there yet is retried when the record says reconnect. */
  #open(record: PortRecord): void {
    const existing = this.#live.get(record.id);
    if (existing !== undefined && existing.state === "open" && JSON.stringify(existing.record) === JSON.stringify(record)) return;
    this.#close(record.id);
    let tap;
    try {
      tap = openTap(record);
    } catch (error) {
      const reason = error instanceof BenitoError ? error.reason : messageOf(error);
      this.#live.set(record.id, { record, tapFd: -1, state: "failed", error: reason, retryAt: 0, backoff: firstBackoffMs, stats: emptyStats() });
      this.#log(`port ${record.id}: ${tapWhere(record)}: ${reason}`);
      return;
    }
    const live: Live = { record, tapFd: tap.fd, state: "connecting", retryAt: 0, backoff: firstBackoffMs, stats: emptyStats() };
    this.#live.set(record.id, live);
    this.#connect(live, tap.mtu);
  }

  #connect(live: Live, mtu?: number): void {
    const record = live.record;
    try {
      const connection = connectSwitch(record.switchDir, record.port, `benito forwarder tap=${record.tap}${record.netns === undefined ? "" : ` ns=${record.netns}`} pid=${libc.getpid()}`);
      live.connection = connection;
      this.#loop.add(record.id, live.tapFd, connection, mtu ?? this.#mtuOf(record));
      live.state = "open";
      live.error = undefined;
      live.backoff = firstBackoffMs;
      this.#log(`port ${record.id}: ${tapWhere(record)} on ${record.switchDir} port ${connection.port}`);
    } catch (error) {
      if (live.connection !== undefined) closeConnection(live.connection);
      live.connection = undefined;
      const reason = error instanceof BenitoError ? error.reason : messageOf(error);
      live.error = reason;
      if (record.reconnect && error instanceof VdeConnectError && error.retryable) {
        live.state = "connecting";
        live.retryAt = performance.now() + live.backoff;
        this.#retrying.add(live);
        this.#log(`port ${record.id}: ${reason}; next try in ${live.backoff} ms`);
        live.backoff = Math.min(maxBackoffMs, live.backoff * 2);
      } else {
        live.state = "failed";
        this.#log(`port ${record.id}: ${reason}`);
      }
    }
  }

  #mtuOf(record: PortRecord): number {
    try {
      return record.netns === undefined ? interfaceMtu(record.tap) : withinNamespace(record.netns, () => interfaceMtu(record.tap));
    } catch {
      return 1500;
    }
  }

  /** Reconnects ports whose wait is over; returns how long until the next one is due. */
  #retryDue(): number {
    if (this.#retrying.size === 0) return Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    const now = performance.now();
    for (const live of [...this.#retrying]) {
      if (live.retryAt <= now) this.#connect(live);
      if (live.state === "connecting") next = Math.min(next, live.retryAt - now);
      else this.#retrying.delete(live);
    }
    return next;
  }

  /** A port left the loop: its switch closed it (reconnect or fail) or its TAP went away (fail). */
  #ended(id: string, end: PortEnd, stats: ForwardStats): void {
    const live = this.#live.get(id);
    if (live === undefined) return;
    addStats(live.stats, stats);
    if (live.connection !== undefined) closeConnection(live.connection);
    live.connection = undefined;
    if (end === "tap-gone") {
      libc.close(live.tapFd);
      live.tapFd = -1;
      live.state = "failed";
      live.error = "the TAP device went away (deleted, or its namespace is gone)";
      this.#log(`port ${id}: ${live.error}`);
      return;
    }
    if (!live.record.reconnect) {
      live.state = "failed";
      live.error = "the switch closed the port";
      this.#log(`port ${id}: ${live.error}`);
      return;
    }
    live.state = "connecting";
    live.error = "the switch closed the port; reconnecting";
    live.retryAt = performance.now() + live.backoff;
    this.#retrying.add(live);
    this.#log(`port ${id}: the switch closed the port; reconnecting in ${live.backoff} ms`);
  }

  /** Closes a port and forgets it (its record is the caller's). */
  #close(id: string): void {
    const live = this.#live.get(id);
    if (live === undefined) return;
    const stats = this.#loop.remove(id);
    if (stats !== undefined) addStats(live.stats, stats);
    if (live.connection !== undefined) closeConnection(live.connection);
    if (live.tapFd >= 0) libc.close(live.tapFd);
    this.#live.delete(id);
    this.#retrying.delete(live);
  }

  #status(id: string): PortStatus | undefined {
    const live = this.#live.get(id);
    if (live === undefined) return undefined;
    const stats = emptyStats();
    addStats(stats, live.stats);
    const current = this.#loop.stats(id);
    if (current !== undefined) addStats(stats, current);
    const { record } = live;
    return { id, tap: record.tap, netns: record.netns, switchDir: record.switchDir, owner: record.owner, state: live.state, port: live.connection?.port, error: live.state === "open" ? undefined : live.error, stats };
  }

  #statuses(): PortStatus[] {
    return [...this.#live.keys()].sort().flatMap((id) => {
      const status = this.#status(id);
      return status === undefined ? [] : [status];
    });
  }
}
