// The per-pnode forwarder daemon: every recorded port in one frame loop, ports added and removed live over a control socket.
import { ptr } from "bun:ffi";
import { BenitoError, messageOf } from "../../errors";
import { check, cString, errno, libc, strerror } from "../libc";
import { AF_UNIX, EAGAIN, EINTR, EPOLLOUT, MSG_DONTWAIT, MSG_NOSIGNAL, PRIO_PROCESS, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM } from "../libc-constants";
import { withinNamespace } from "../netns";
import { appendLogLine } from "../state-files";
import { attachTap, describeTapError, interfaceExists } from "../tap";
import { closeConnection, connectSwitch, VdeConnectError, type VdeConnection } from "./connect";
import { addStats, emptyStats, Forwarder, type ForwardStats, type PortEnd } from "./forwarder";
import { forwarderPaths, isPortId, readPortRecord, readPortRecords, type PortRecord } from "./forwarder-records";
import { encodeSockaddrUn } from "./sockaddr";
import { trimResidentSet } from "./resident";

/** First and longest wait between reconnection attempts of one port. */
const firstBackoffMs = 100;
const maxBackoffMs = 5000;
/**
 * How long a control client may take to send its one-line request and read the answer. Clients
 * are served without blocking (their sockets are in the loop's epoll set), so a slow one only
 * holds its own connection.
 */
const clientTimeoutMs = 5000;
const maxRequestBytes = 4096;
/** Control connections served at once; more wait in the listen backlog. */
const maxClients = 64;
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

/** One control connection: its request line as it arrives, then its answer as it leaves. */
interface ControlClient {
  readonly fd: number;
  readonly deadline: number;
  readonly request: Uint8Array;
  received: number;
  answer?: Uint8Array;
  sent: number;
}

/** Opens the record's TAP (inside its namespace when it has one), nonblocking; returns the fd. */
function openTap(record: PortRecord): number {
  const open = () => {
    // The TAP is made (with its MAC) by whoever recorded the port; one missing is an error, not made here.
    if (!interfaceExists(record.tap)) throw new BenitoError("opening the TAP device", tapWhere(record), "no such interface");
    return attachTap(record.tap, true);
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
  readonly #clients = new Map<number, ControlClient>();

  /** @param shard Which forwarder of the pool this is: it holds the records that name it. */
  constructor(runDir: string, shard = 0) {
    this.#runDir = runDir;
    this.#shard = shard;
    this.#paths = forwarderPaths(runDir, shard);
    this.#loop = new Forwarder<string>({
      ended: (id, end, stats) => this.#ended(id, end, stats),
      tick: () => Math.min(this.#retryDue(), this.#clientsDue()),
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
      for (const client of [...this.#clients.values()]) this.#drop(client);
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

  /**
   * Takes every waiting client into the loop: one request line in, one answer line out, then the
   * connection closes. Nothing here waits for a client; {@link #serve} runs when its socket is ready.
   */
  #accept(): void {
    while (this.#clients.size < maxClients) {
      const fd = libc.accept4(this.#listenFd, null, null, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      const client: ControlClient = { fd, deadline: performance.now() + clientTimeoutMs, request: new Uint8Array(maxRequestBytes), received: 0, sent: 0 };
      this.#clients.set(fd, client);
      this.#loop.watch(fd, () => this.#serve(client));
    }
  }

  /** Reads what the client sent; once its line is complete, answers it. */
  #serve(client: ControlClient): void {
    if (client.answer !== undefined) {
      this.#sendAnswer(client);
      return;
    }
    for (;;) {
      const count = Number(libc.recv(client.fd, ptr(client.request, client.received), maxRequestBytes - client.received, MSG_DONTWAIT));
      if (count < 0 && errno() === EINTR) continue;
      if (count < 0 && errno() === EAGAIN) return;
      if (count <= 0) {
        this.#drop(client);
        return;
      }
      const newline = client.request.indexOf(10, client.received);
      client.received += count;
      if (newline >= 0) {
        this.#reply(client, this.#answerSafely(Buffer.from(client.request.subarray(0, newline)).toString("utf8")));
        return;
      }
      if (client.received === maxRequestBytes) {
        this.#reply(client, { ok: false, error: `the request line is longer than ${maxRequestBytes} bytes` });
        return;
      }
    }
  }

  #answerSafely(line: string): ControlAnswer {
    try {
      return this.#answer(line);
    } catch (error) {
      this.#log(`control request failed: ${messageOf(error)}`);
      return { ok: false, error: messageOf(error) };
    }
  }

  #reply(client: ControlClient, answer: ControlAnswer): void {
    client.answer = Buffer.from(`${JSON.stringify(answer)}\n`);
    this.#sendAnswer(client);
  }

  /** Sends what is left of the answer; a full socket waits for the loop to say it is writable. */
  #sendAnswer(client: ControlClient): void {
    const answer = client.answer;
    if (answer === undefined) return;
    while (client.sent < answer.length) {
      const count = Number(libc.send(client.fd, ptr(answer, client.sent), answer.length - client.sent, MSG_DONTWAIT | MSG_NOSIGNAL));
      if (count < 0 && errno() === EINTR) continue;
      if (count < 0 && errno() === EAGAIN) {
        this.#loop.rewatch(client.fd, EPOLLOUT);
        return;
      }
      if (count <= 0) break;
      client.sent += count;
    }
    this.#drop(client);
  }

  #drop(client: ControlClient): void {
    this.#loop.unwatch(client.fd);
    libc.close(client.fd);
    this.#clients.delete(client.fd);
  }

  /** Answers clients that sent no request line in time, and drops those that did not read their answer; returns how long until the next deadline. */
  #clientsDue(): number {
    if (this.#clients.size === 0) return Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const client of [...this.#clients.values()]) {
      if (client.deadline > now) next = Math.min(next, client.deadline - now);
      else if (client.answer === undefined) this.#reply(client, { ok: false, error: `no request line within ${clientTimeoutMs} ms` });
      else this.#drop(client);
    }
    return next;
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
    let tapFd;
    try {
      tapFd = openTap(record);
    } catch (error) {
      const reason = error instanceof BenitoError ? error.reason : messageOf(error);
      this.#live.set(record.id, { record, tapFd: -1, state: "failed", error: reason, retryAt: 0, backoff: firstBackoffMs, stats: emptyStats() });
      this.#log(`port ${record.id}: ${tapWhere(record)}: ${reason}`);
      return;
    }
    const live: Live = { record, tapFd, state: "connecting", retryAt: 0, backoff: firstBackoffMs, stats: emptyStats() };
    this.#live.set(record.id, live);
    this.#connect(live);
  }

  #connect(live: Live): void {
    const record = live.record;
    try {
      const connection = connectSwitch(record.switchDir, record.port, `benito forwarder tap=${record.tap}${record.netns === undefined ? "" : ` ns=${record.netns}`} pid=${libc.getpid()}`);
      live.connection = connection;
      this.#loop.add(record.id, live.tapFd, connection);
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
