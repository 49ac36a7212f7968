// The per-pnode forwarder daemon: every recorded port in one frame loop, ports added and removed live over a control socket.
import { ptr } from "bun:ffi";
import { BenitoError, messageOf } from "../../errors";
import { check, cString, errno, libc, strerror } from "../libc";
import { AF_UNIX, EAGAIN, EINTR, EPOLLOUT, MSG_DONTWAIT, MSG_NOSIGNAL, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM } from "../libc-constants";
import { appendLogLine } from "../state-files";
import { attachTap, describeTapError, interfaceExists } from "../tap";
import { abandonPort, closeConnection, finishPort, requestPort, VdeConnectError, type PendingPort, type VdeConnection } from "./connect";
import { addStats, emptyStats, Forwarder, type ForwardStats, type PortEnd } from "./forwarder";
import { forwarderPaths, isPortId, readPortRecord, readPortRecords, type PortRecord } from "./forwarder-records";
import { encodeSockaddrUn } from "./sockaddr";
import { trimResidentSet } from "./resident";
import { LatencyGovernor } from "./latency-governor";

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
/** How long an add or sync may wait for switches' answers (connect.ts gives each switch 5 s). */
const answerWaitMs = 5000;
/**
 * Control connections served at once; more wait in the listen backlog, with the listening socket
 * out of the epoll set meanwhile (it stays readable, and level-triggered epoll would return at
 * once on every pass: a spin until a client leaves).
 */
const maxClients = 64;
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
  /** After a remove: how many ports this forwarder still holds (whoever removed its last one stops it). */
  readonly left?: number;
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
  /** The switch's answer to this port's request, while it is awaited (the loop goes on meanwhile). */
  pending?: PendingPort;
  /** Called once the pending request is settled (opened, or failed): `add` requests waiting to be answered. */
  waiters?: (() => void)[];
  /** Counters of earlier connections of this port. */
  readonly stats: ForwardStats;
}

/** One control connection: its request line as it arrives, then its answer as it leaves. */
interface ControlClient {
  readonly fd: number;
  deadline: number;
  readonly request: Uint8Array;
  received: number;
  answer?: Uint8Array;
  sent: number;
}

/**
 * Opens the record's TAP (in its namespace when it has one), nonblocking; returns the fd. Only the
 * opens of /dev/net/tun and of a socket to look the TAP up run with this thread in the namespace,
 * nothing else (src/system/netns-open.ts): a thread the engine started there would keep the
 * vnode's namespace alive as long as this long-running daemon (test/vde/forwarder-threads.test.ts).
 */
function openTap(record: PortRecord): number {
  try {
    // The TAP is made (with its MAC) by whoever recorded the port; one missing is an error, not made here.
    if (!interfaceExists(record.tap, record.netns)) throw new BenitoError("opening the TAP device", tapWhere(record), "no such interface");
    return attachTap(record.tap, true, record.netns);
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
  /** Spinning and real-time priority for the forwarding thread, while the machine and its own load allow them. */
  readonly #governor: LatencyGovernor;
  #listenFd = -1;
  /** Whether the listening socket is in the loop's epoll set (not while maxClients are served). */
  #accepting = false;
  /** Set once the loop ended: dropped clients no longer bring the listening socket back. */
  #stopping = false;
  readonly #clients = new Map<number, ControlClient>();
  /** Ports whose switch has not answered yet. */
  readonly #handshaking = new Set<Live>();
  /** Called once no port's switch answer is awaited (sync requests, the start-up's ready). */
  #whenSettled: (() => void)[] = [];

  /** @param shard Which forwarder of the pool this is: it holds the records that name it. */
  constructor(runDir: string, shard = 0) {
    this.#runDir = runDir;
    this.#shard = shard;
    this.#paths = forwarderPaths(runDir, shard);
    this.#governor = new LatencyGovernor((line) => this.#log(line));
    this.#loop = new Forwarder<string>(
      {
        ended: (id, end, stats) => this.#ended(id, end, stats),
        tick: () => Math.min(this.#retryDue(), this.#handshakesDue(), this.#clientsDue()),
      },
      this.#governor,
    );
  }

  /** Listens, opens every recorded port, and forwards until SIGTERM/SIGINT/SIGHUP. */
  async run(events: ForwarderDaemonEvents): Promise<void> {
    this.#listen();
    const onSignal = () => this.#loop.stop();
    for (const signal of stopSignals) process.on(signal, onSignal);
    try {
      this.#sync();
      this.#log(`started: ${this.#live.size} port(s) recorded`);
      // Ready once every recorded port was tried: its switch answered, refused, or did not in time.
      this.#afterSettling(() => {
        events.ready(this.#live.size);
        trimResidentSet();
        this.#governor.start();
      });
      await this.#loop.run();
    } finally {
      for (const signal of stopSignals) process.off(signal, onSignal);
      this.#stopping = true;
      for (const client of [...this.#clients.values()]) this.#drop(client);
      for (const id of [...this.#live.keys()]) this.#close(id);
      this.#loop.close();
      this.#governor.close();
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
    this.#resumeAccepting();
  }

  /** Puts the listening socket back in the loop's epoll set (a client slot is free). */
  #resumeAccepting(): void {
    if (this.#accepting || this.#listenFd < 0) return;
    this.#accepting = true;
    this.#loop.watch(this.#listenFd, () => this.#accept());
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
    // Full: connections wait in the backlog, unwatched, until #drop frees a slot.
    this.#accepting = false;
    this.#loop.unwatch(this.#listenFd);
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
        // An add or sync may wait for switches' answers (each at most 5 s): the client waits with it.
        client.deadline = performance.now() + clientTimeoutMs + answerWaitMs;
        this.#answerSafely(Buffer.from(client.request.subarray(0, newline)).toString("utf8"), (answer) => this.#reply(client, answer));
        return;
      }
      if (client.received === maxRequestBytes) {
        this.#reply(client, { ok: false, error: `the request line is longer than ${maxRequestBytes} bytes` });
        return;
      }
    }
  }

  #answerSafely(line: string, reply: (answer: ControlAnswer) => void): void {
    try {
      this.#answer(line, reply);
    } catch (error) {
      this.#log(`control request failed: ${messageOf(error)}`);
      reply({ ok: false, error: messageOf(error) });
    }
  }

  #reply(client: ControlClient, answer: ControlAnswer): void {
    // Already answered (its deadline passed while a switch was awaited) or gone.
    if (client.answer !== undefined || this.#clients.get(client.fd) !== client) return;
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
    if (!this.#stopping) this.#resumeAccepting();
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

  /** Answers one request line through reply: at once, or (add, sync) once the switches concerned have answered. */
  #answer(line: string, reply: (answer: ControlAnswer) => void): void {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      reply({ ok: false, error: "the request is not JSON" });
      return;
    }
    if (typeof request !== "object" || request === null || !("op" in request)) {
      reply({ ok: false, error: "the request has no op" });
      return;
    }
    const op = request.op;
    const id = "id" in request && typeof request.id === "string" ? request.id : undefined;
    if (op === "list") {
      reply({ ok: true, ports: this.#statuses() });
      return;
    }
    if (op === "sync") {
      this.#sync();
      this.#afterSettling(() => reply({ ok: true, ports: this.#statuses() }));
      return;
    }
    if ((op !== "add" && op !== "remove") || id === undefined || !isPortId(id)) {
      reply({ ok: false, error: "expected op add|remove with a port id, list or sync" });
      return;
    }
    if (op === "remove") {
      const known = this.#live.has(id);
      this.#close(id);
      if (known) this.#log(`port ${id} removed`);
      reply({ ok: true, left: this.#live.size });
      return;
    }
    const record = readPortRecord(this.#runDir, id);
    if (record === undefined) {
      reply({ ok: false, error: `no valid record for port ${id} in ${this.#paths.ports}` });
      return;
    }
    if ((record.shard ?? 0) !== this.#shard) {
      reply({ ok: false, error: `port ${id} is forwarder ${record.shard ?? 0}'s, not ${this.#shard}'s` });
      return;
    }
    this.#open(record);
    const answer = () => {
      const status = this.#status(id);
      if (status === undefined) reply({ ok: false, error: "the port was removed before its switch answered", ports: [] });
      else reply({ ok: status.state === "open", error: status.error, ports: [status] });
    };
    const live = this.#live.get(id);
    if (live?.pending === undefined) answer();
    else (live.waiters ??= []).push(answer);
  }

  /** Runs then once no switch answer is awaited (at once when none is). */
  #afterSettling(then: () => void): void {
    if (this.#handshaking.size === 0) then();
    else this.#whenSettled.push(then);
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
    // Open, or its switch's answer awaited: the same record needs nothing more.
    if (existing !== undefined && (existing.state === "open" || existing.pending !== undefined) && JSON.stringify(existing.record) === JSON.stringify(record)) return;
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

  /** Asks the port's switch for a port; the answer is read by the loop when it comes ({@link #handshake}). */
  #connect(live: Live): void {
    const record = live.record;
    this.#retrying.delete(live);
    try {
      const pending = requestPort(record.switchDir, record.port, `benito forwarder tap=${record.tap}${record.netns === undefined ? "" : ` ns=${record.netns}`} pid=${libc.getpid()}`);
      live.pending = pending;
      this.#handshaking.add(live);
      this.#loop.watch(pending.controlFd, () => this.#handshake(live));
    } catch (error) {
      this.#connectFailed(live, error);
    }
  }

  /** Reads the switch's answer (or notices it is overdue); once settled, the port opens or fails, and whoever waited is answered. */
  #handshake(live: Live): void {
    const pending = live.pending;
    if (pending === undefined) return;
    let connection: VdeConnection | undefined;
    try {
      connection = finishPort(pending);
      if (connection === undefined) return;
    } catch (error) {
      this.#unpend(live);
      this.#connectFailed(live, error);
      this.#settled(live);
      return;
    }
    this.#unpend(live);
    const record = live.record;
    try {
      this.#loop.add(record.id, live.tapFd, connection);
    } catch (error) {
      closeConnection(connection);
      this.#connectFailed(live, error);
      this.#settled(live);
      return;
    }
    live.connection = connection;
    live.state = "open";
    live.error = undefined;
    live.backoff = firstBackoffMs;
    this.#log(`port ${record.id}: ${tapWhere(record)} on ${record.switchDir} port ${connection.port}`);
    this.#settled(live);
  }

  /** Stops watching a port's pending request (its sockets are the connection's now, or closed). */
  #unpend(live: Live): void {
    if (live.pending !== undefined) this.#loop.unwatch(live.pending.controlFd);
    live.pending = undefined;
    this.#handshaking.delete(live);
  }

  /** Answers whoever waited for this port, then whoever waited for every port. */
  #settled(live: Live): void {
    const waiters = live.waiters ?? [];
    live.waiters = undefined;
    for (const waiter of waiters) waiter();
    if (this.#handshaking.size > 0) return;
    const settled = this.#whenSettled;
    this.#whenSettled = [];
    for (const then of settled) then();
  }

  #connectFailed(live: Live, error: unknown): void {
    const record = live.record;
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

  /** Overdue switch answers: their ports fail or wait to retry; returns how long until the next is due. */
  #handshakesDue(): number {
    if (this.#handshaking.size === 0) return Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const live of [...this.#handshaking]) {
      const deadline = live.pending?.deadline ?? now;
      if (deadline <= now) this.#handshake(live);
      else next = Math.min(next, deadline - now);
    }
    return next;
  }

  /** Reconnects ports whose wait is over; returns how long until the next one is due. */
  #retryDue(): number {
    if (this.#retrying.size === 0) return Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    const now = performance.now();
    for (const live of [...this.#retrying]) {
      if (live.retryAt <= now) this.#connect(live);
      // Still waiting to retry (not asking its switch now, not failed): when its next try is due.
      if (this.#retrying.has(live)) next = Math.min(next, live.retryAt - now);
    }
    return Math.max(0, next);
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
    const pending = live.pending;
    this.#unpend(live);
    if (pending !== undefined) abandonPort(pending);
    if (live.tapFd >= 0) libc.close(live.tapFd);
    this.#live.delete(id);
    this.#retrying.delete(live);
    if (live.waiters !== undefined) {
      live.state = "failed";
      live.error = "removed before its switch answered";
      this.#settled(live);
    } else if (pending !== undefined) this.#settled(live);
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
