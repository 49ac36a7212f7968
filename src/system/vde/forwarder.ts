// The frame pump for any number of TAP ↔ switch-port pairs over one epoll set: batched TAP reads, recvmmsg/sendmmsg, shared buffers.
import { ptr } from "bun:ffi";
import { errno, libc } from "../libc";
import type { VdeConnection } from "./connect";
import { EAGAIN, EINTR, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, MSG_DONTWAIT } from "../libc-constants";
import { Epoll } from "./epoll";
import type { LatencyGovernor, Traffic } from "./latency-governor";

/** sizeof(struct mmsghdr): a 56-byte msghdr + msg_len + padding. */
const mmsghdrSize = 64;
const iovecSize = 16;
/** Frames moved per system call on the datagram side, and per wake-up from one TAP. */
const batch = 64;
/**
 * The largest frame vde_switch carries: 14-byte header + 1,504 bytes of data including a VLAN tag
 * (vde2's struct packet). Larger frames (a TAP whose MTU was raised) are dropped and counted here:
 * the switch cannot carry them.
 */
export const maxFrameBytes = 1518;
/**
 * Every slot's size, whatever the TAP's MTU (which can change after the port is added): a read
 * that fills the slot was cut short, so the frame was larger than {@link maxFrameBytes}.
 */
const slotBytes = 1536;
/** Deliveries without looking for an immediate answer after a look found none. */
const answerLookBackoff = 64;
/** How long frames wait for a full switch to take them before they are dropped. */
const pendingLimitMs = 100;
/** Longest synchronous stretch before the event loop gets a turn (signals are noticed there). */
const sliceMs = 20;
/** Longest wait in epoll when idle: bounds how long a signal waits to be noticed. */
const idleWaitMs = 100;
/**
 * After a wake-up that moved frames, how long to keep looking for more (epoll_wait without a
 * timeout) before sleeping, when the governor allows it. A frame sent to the switch usually
 * comes back (to another port, or as the answer) within tens of microseconds; catching it
 * awake saves the sleep and the wake-up, which on an idle CPU is most of a hop's cost.
 */
const spinMs = 0.05;
/** Spins that found nothing before spinning pauses; one in {@link spinProbeEvery} busy wake-ups tries again. */
const spinCredit = 4;
const spinProbeEvery = 32;
/** Which fd of a port an epoll tag names (tag = slot × 4 + role). */
const roleTap = 0;
const roleData = 1;
const roleControl = 2;
/** Tags of fds watched for someone else ({@link Forwarder.watch}): role 3. */
const roleOther = 3;

/** DirectionStats interface: one direction's counters. */
export interface DirectionStats {
  frames: number;
  bytes: number;
  drops: number;
}

/** ForwardStats interface: both directions' counters. */
export interface ForwardStats {
  /** Frames read from the TAP and sent to the switch. */
  readonly tapToSwitch: DirectionStats;
  /** Frames received from the switch and written to the TAP. */
  readonly switchToTap: DirectionStats;
}

/** Why a port left the forwarding loop by itself. */
export type PortEnd = "switch-closed" | "tap-gone";

/** Creates zeroed counters for both directions. */
export function emptyStats(): ForwardStats {
  return { tapToSwitch: { frames: 0, bytes: 0, drops: 0 }, switchToTap: { frames: 0, bytes: 0, drops: 0 } };
}

/** Adds part's counters to total. */
export function addStats(total: ForwardStats, part: ForwardStats): void {
  for (const direction of ["tapToSwitch", "switchToTap"] as const) {
    total[direction].frames += part[direction].frames;
    total[direction].bytes += part[direction].bytes;
    total[direction].drops += part[direction].drops;
  }
}

/** One set of {@link slotBytes}-byte frame slots with their iovec and mmsghdr arrays, and the raw addresses of each. */
class SlotRing {
  readonly slotSize = slotBytes;
  readonly frames: Uint8Array;
  readonly headers: Uint8Array;
  readonly iovecs: Uint8Array;
  /** u32 view over the mmsghdr array (msg_len at word 14 of each 16-word entry). */
  readonly headerWords: Uint32Array;
  /** u32 view over the iovec array (iov_len's low word at word 2 of each 4-word entry). */
  readonly iovecWords: Uint32Array;
  readonly framesAddress: number;
  readonly headersAddress: number;

  constructor(slots: number) {
    const slotSize = this.slotSize;
    this.frames = new Uint8Array(slotSize * slots);
    this.headers = new Uint8Array(mmsghdrSize * slots);
    this.iovecs = new Uint8Array(iovecSize * slots);
    this.headerWords = new Uint32Array(this.headers.buffer);
    this.iovecWords = new Uint32Array(this.iovecs.buffer);
    this.framesAddress = ptr(this.frames);
    this.headersAddress = ptr(this.headers);
    const iovecsAddress = ptr(this.iovecs);
    const headerView = new DataView(this.headers.buffer);
    const iovecView = new DataView(this.iovecs.buffer);
    for (let slot = 0; slot < slots; slot += 1) {
      iovecView.setBigUint64(slot * iovecSize, BigInt(this.framesAddress + slot * slotSize), true);
      iovecView.setBigUint64(slot * iovecSize + 8, BigInt(slotSize), true);
      // msghdr: msg_name NULL (the socket is connected), msg_iov, msg_iovlen 1, no control data.
      headerView.setBigUint64(slot * mmsghdrSize + 16, BigInt(iovecsAddress + slot * iovecSize), true);
      headerView.setBigUint64(slot * mmsghdrSize + 24, 1n, true);
    }
  }
}

/**
 * One TAP ↔ switch-port pair inside the loop. Frames are read into the loop's shared rings and
 * sent at once; only frames the switch refuses (its queue is full) are copied into the port's
 * own ring, made on first need, so an idle port costs a few hundred bytes.
 */
class Port<Key> {
  readonly key: Key;
  readonly slot: number;
  readonly tapFd: number;
  readonly connection: VdeConnection;
  /** Which use of the slot this is: epoll tags carry it, so a stale event for an earlier port in the slot is ignored. */
  readonly generation: number;
  readonly stats: ForwardStats = emptyStats();
  /** Frames refused by the switch, waiting: slots [pendingFrom, pendingTo) of {@link waiting}. */
  waiting: SlotRing | undefined;
  pendingFrom = 0;
  pendingTo = 0;
  /** When the switch first refused the waiting frames (0 = nothing waits). */
  pendingSince = 0;
  /** Deliveries to the TAP left before looking for an immediate answer again. */
  skipAnswerLooks = 0;
  /** Whether epoll currently watches the TAP (not while frames wait for the switch). */
  tapWatched = true;
  /** Frames each way when the governor last looked (its window's traffic is the difference). */
  sentBefore = 0;
  deliveredBefore = 0;

  constructor(key: Key, slot: number, generation: number, tapFd: number, connection: VdeConnection) {
    this.key = key;
    this.slot = slot;
    this.generation = generation;
    this.tapFd = tapFd;
    this.connection = connection;
  }

  get pending(): boolean {
    return this.pendingTo > this.pendingFrom;
  }
}

/** ForwarderHooks interface: what the loop tells its owner. */
export interface ForwarderHooks<Key> {
  /** A port left the loop by itself (its fds are no longer watched; the owner closes them). */
  ended(key: Key, end: PortEnd, stats: ForwardStats): void;
  /** Called once per wake-up; returns how long the loop may wait before calling it again (ms). */
  tick?(): number;
}

/**
 * Forwarder class: moves frames both ways for every port it holds, until stopped.
 *
 * Per wake-up a TAP is read for up to a batch of frames, which go to the switch in one sendmmsg;
 * a data socket is drained with recvmmsg. Sends never block: when the switch's queue is full the
 * frames wait (the TAP is not read meanwhile, so the kernel's TAP queue pushes back on the
 * senders) and are dropped and counted if the switch stays full for {@link pendingLimitMs}.
 * Frames the TAP refuses are dropped and counted too. A port whose TAP or switch goes away
 * leaves the loop alone ({@link ForwarderHooks.ended}); the others go on.
 */
export class Forwarder<Key> {
  readonly #epoll = new Epoll(256);
  readonly #hooks: ForwarderHooks<Key>;
  readonly #ports: (Port<Key> | undefined)[] = [];
  readonly #bySlotFree: number[] = [];
  readonly #byKey = new Map<Key, Port<Key>>();
  /** Uses of each slot so far: the next port in slot s is generation #generations[s] + 1. */
  readonly #generations: number[] = [];
  readonly #others = new Map<number, { readonly generation: number; readonly onReady: (events: number) => void }>();
  #otherGeneration = 0;
  readonly #toSwitch = new SlotRing(batch);
  readonly #toTap = new SlotRing(batch);
  readonly #scratch = new Uint8Array(256);
  /** Ports whose frames wait for their switch (their deadlines bound the epoll wait). */
  readonly #waiting = new Set<Port<Key>>();
  #stopRequested = false;
  readonly #governor: LatencyGovernor | undefined;
  /** Whether the last wake-up moved frames, and how much credit spinning has left. */
  #lastBusy = false;
  #spinLeft = spinCredit;
  #busyWakes = 0;

  /**
   * @param governor When given, the loop spins before sleeping while it allows (see
   * latency-governor.ts); without one it always sleeps at once.
   */
  constructor(hooks: ForwarderHooks<Key>, governor?: LatencyGovernor) {
    this.#hooks = hooks;
    this.#governor = governor;
  }

  /** How many ports are in the loop. */
  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Adds a port: a nonblocking TAP fd and an open switch connection (the owner keeps both and
   * closes them after removing the port).
   */
  add(key: Key, tapFd: number, connection: VdeConnection): void {
    if (this.#byKey.has(key)) throw new Error(`port ${String(key)} is in the loop already`);
    const slot = this.#bySlotFree.pop() ?? this.#ports.length;
    const generation = ((this.#generations[slot] ?? 0) + 1) >>> 0;
    this.#generations[slot] = generation;
    const port = new Port(key, slot, generation, tapFd, connection);
    this.#epoll.add(tapFd, EPOLLIN, slot * 4 + roleTap, generation);
    this.#epoll.add(connection.dataFd, EPOLLIN, slot * 4 + roleData, generation);
    this.#epoll.add(connection.controlFd, EPOLLIN, slot * 4 + roleControl, generation);
    this.#ports[slot] = port;
    this.#byKey.set(key, port);
  }

  /** Takes a port out of the loop (frames still waiting are dropped and counted); returns its counters. */
  remove(key: Key): ForwardStats | undefined {
    const port = this.#byKey.get(key);
    if (port === undefined) return undefined;
    this.#detach(port);
    return port.stats;
  }

  /** The counters of a port in the loop. */
  stats(key: Key): ForwardStats | undefined {
    return this.#byKey.get(key)?.stats;
  }

  /**
   * Watches another fd (e.g. a control socket) for `events` (default: input); onReady runs with
   * the events seen. It must not block: it runs inside the forwarding loop.
   */
  watch(fd: number, onReady: (events: number) => void, events = EPOLLIN): void {
    this.#otherGeneration = (this.#otherGeneration + 1) >>> 0;
    this.#others.set(fd, { generation: this.#otherGeneration, onReady });
    this.#epoll.add(fd, events, fd * 4 + roleOther, this.#otherGeneration);
  }

  /** Changes the events watched on an fd given to {@link watch}. */
  rewatch(fd: number, events: number): void {
    const other = this.#others.get(fd);
    if (other !== undefined) this.#epoll.modify(fd, events, fd * 4 + roleOther, other.generation);
  }

  /** Stops watching an fd given to {@link watch}. */
  unwatch(fd: number): void {
    if (this.#others.delete(fd)) this.#epoll.remove(fd);
  }

  /** Asks {@link run} to return at its next turn (called from a signal handler). */
  stop(): void {
    this.#stopRequested = true;
  }

  /** Forwards until {@link stop} is called. */
  async run(): Promise<void> {
    while (!this.#stopRequested) {
      const sliceEnd = performance.now() + sliceMs;
      for (;;) {
        if (!this.#wake() || performance.now() >= sliceEnd || this.#stopRequested) break;
      }
      // Let the event loop run: signal handlers (SIGTERM → stop()) fire only there.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Closes the epoll set (ports must have been removed; their fds are the owner's). */
  close(): void {
    for (const port of [...this.#byKey.values()]) this.#detach(port);
    this.#epoll.close();
  }

  #detach(port: Port<Key>): void {
    this.#dropPending(port);
    this.#epoll.remove(port.tapFd);
    this.#epoll.remove(port.connection.dataFd);
    this.#epoll.remove(port.connection.controlFd);
    this.#ports[port.slot] = undefined;
    this.#bySlotFree.push(port.slot);
    this.#byKey.delete(port.key);
  }

  #end(port: Port<Key>, end: PortEnd): void {
    if (this.#ports[port.slot] !== port) return;
    this.#detach(port);
    this.#hooks.ended(port.key, end, port.stats);
  }

  /** One epoll_wait and the work it reports; false when idle. */
  #wake(): boolean {
    let wait = this.#hooks.tick?.() ?? idleWaitMs;
    wait = Math.max(0, Math.min(wait, idleWaitMs));
    if (this.#waiting.size > 0) {
      const now = performance.now();
      for (const port of this.#waiting) {
        // Frames the switch has refused for too long are dropped even while other traffic flows.
        const left = port.pendingSince + pendingLimitMs - now;
        if (left <= 0) this.#dropPending(port);
        else wait = Math.min(wait, Math.ceil(left));
      }
    }
    // The governor is asked first, on every wake-up, so its windows are judged even while the loop never sleeps.
    const governor = this.#governor;
    let ready = 0;
    if (governor !== undefined && governor.spin(performance.now(), this.#traffic) && this.#lastBusy && wait > 0) ready = this.#spin(governor);
    if (ready === 0) ready = this.#epoll.wait(wait);
    this.#lastBusy = ready > 0;
    for (let index = 0; index < ready; index += 1) {
      const tag = this.#epoll.tag(index);
      const events = this.#epoll.events(index);
      const generation = this.#epoll.generation(index);
      const role = tag & 3;
      if (role === roleOther) {
        // An fd closed earlier in this batch may have been reused for another watcher: not its event.
        const other = this.#others.get(tag >>> 2);
        if (other !== undefined && other.generation === generation) other.onReady(events);
        continue;
      }
      const port = this.#ports[tag >>> 2];
      // A port ended earlier in this batch; its slot may even hold a newer port, which must not
      // get the old one's events (a stale hang-up would close it).
      if (port === undefined || port.generation !== generation) continue;
      if (role === roleControl) {
        if (this.#controlClosed(port)) this.#end(port, "switch-closed");
      } else if (role === roleData) {
        const delivered = (events & (EPOLLIN | EPOLLERR)) !== 0 ? this.#switchToTap(port) : 0;
        if (port.pending && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) !== 0) this.#flush(port);
        if (delivered > 0 && !port.pending) this.#lookForAnswer(port);
      } else {
        // Not while frames wait for the switch: new ones would overtake them, or overwrite the waiting slots.
        if ((events & EPOLLIN) !== 0 && !port.pending) this.#tapToSwitch(port);
        if ((events & (EPOLLERR | EPOLLHUP)) !== 0) {
          this.#end(port, "tap-gone");
          continue;
        }
      }
      if (this.#ports[port.slot] === port) this.#updateInterest(port);
    }
    return ready > 0;
  }

  /** Looks for events without sleeping for up to {@link spinMs}, while that keeps finding some. */
  #spin(governor: LatencyGovernor): number {
    this.#busyWakes += 1;
    if (this.#spinLeft === 0 && this.#busyWakes % spinProbeEvery !== 0) return 0;
    governor.spinStarted();
    const end = performance.now() + spinMs;
    let ready = 0;
    do ready = this.#epoll.wait(0);
    while (ready === 0 && performance.now() < end);
    governor.spinEnded();
    if (ready > 0) this.#spinLeft = spinCredit;
    else if (this.#spinLeft > 0) this.#spinLeft -= 1;
    return ready;
  }

  /**
   * This window's traffic for the governor: frames moved, and how balanced each port's two
   * directions were (Σ min / Σ max of frames sent and delivered per port: 1 when every frame
   * out is answered by one frame in, as in a ping or a request/response exchange; 0 for a
   * one-way stream; ~0.5 for TCP bulk with its ACKs).
   */
  readonly #traffic = (): Traffic => {
    let moved = 0;
    let least = 0;
    let most = 0;
    for (const port of this.#byKey.values()) {
      const sent = port.stats.tapToSwitch.frames - port.sentBefore;
      const delivered = port.stats.switchToTap.frames - port.deliveredBefore;
      port.sentBefore = port.stats.tapToSwitch.frames;
      port.deliveredBefore = port.stats.switchToTap.frames;
      moved += sent + delivered;
      least += Math.min(sent, delivered);
      most += Math.max(sent, delivered);
    }
    return { frames: moved, balance: most === 0 ? 1 : least / most };
  };

  /** While frames wait for the switch, stop reading the TAP and wait for the switch to drain. */
  #updateInterest(port: Port<Key>): void {
    const pending = port.pending;
    if (port.tapWatched !== pending) return;
    port.tapWatched = !pending;
    this.#epoll.modify(port.tapFd, pending ? 0 : EPOLLIN, port.slot * 4 + roleTap, port.generation);
    this.#epoll.modify(port.connection.dataFd, pending ? EPOLLIN | EPOLLOUT : EPOLLIN, port.slot * 4 + roleData, port.generation);
  }

  #dropPending(port: Port<Key>): void {
    port.stats.tapToSwitch.drops += port.pendingTo - port.pendingFrom;
    port.pendingFrom = port.pendingTo = 0;
    port.pendingSince = 0;
    this.#waiting.delete(port);
    if (this.#ports[port.slot] === port) this.#updateInterest(port);
  }

  /** The control stream became readable or hung up: true when the switch closed it. */
  #controlClosed(port: Port<Key>): boolean {
    const count = Number(libc.recv(port.connection.controlFd, ptr(this.#scratch), this.#scratch.length, MSG_DONTWAIT));
    if (count > 0) return false;
    return count === 0 || errno() !== EAGAIN;
  }

  /** Drains the data socket into the TAP; returns how many frames the TAP took. */
  #switchToTap(port: Port<Key>): number {
    const ring = this.#toTap;
    const counters = port.stats.switchToTap;
    const before = counters.frames;
    for (let round = 0; round < 4; round += 1) {
      const received = libc.recvmmsg(port.connection.dataFd, ring.headersAddress, batch, MSG_DONTWAIT, 0);
      if (received <= 0) break;
      for (let slot = 0; slot < received; slot += 1) {
        const length = ring.headerWords[slot * 16 + 14] ?? 0;
        if (libc.write(port.tapFd, ring.framesAddress + slot * ring.slotSize, length) < 0) {
          counters.drops += 1;
        } else {
          counters.frames += 1;
          counters.bytes += length;
        }
      }
      if (received < batch) break;
    }
    return counters.frames - before;
  }

  /**
   * A frame written to the TAP is often answered inside that write() (the kernel handles an
   * ICMP echo or sends a TCP ACK before write returns), so the answer can be read without
   * another epoll_wait. Where that keeps failing (the answer comes from another process,
   * later), the look is skipped for a while, so it costs at most one empty read per 64 deliveries.
   */
  #lookForAnswer(port: Port<Key>): void {
    if (port.skipAnswerLooks > 0) {
      port.skipAnswerLooks -= 1;
      return;
    }
    if (!this.#tapToSwitch(port)) port.skipAnswerLooks = answerLookBackoff;
  }

  /**
   * Reads up to a batch of frames from the TAP and sends them to the switch. The first frame
   * goes out at once (a lone frame does not wait for the read that finds the TAP empty); the
   * rest follow in one sendmmsg. What the switch refuses is kept in the port's own ring.
   * @returns true when at least one frame was read.
   */
  #tapToSwitch(port: Port<Key>): boolean {
    const ring = this.#toSwitch;
    let count = 0;
    let reads = 0;
    while (count < batch && reads < batch) {
      const length = Number(libc.read(port.tapFd, ring.framesAddress + count * ring.slotSize, ring.slotSize));
      if (length <= 0) break;
      reads += 1;
      if (length > maxFrameBytes) {
        port.stats.tapToSwitch.drops += 1;
        continue;
      }
      ring.iovecWords[count * 4 + 2] = length;
      count += 1;
      if (count === 1) {
        const refused = this.#send(port, ring, 0, 1);
        // The switch is full: keep the frame waiting and leave the rest in the TAP's queue.
        if (refused) return true;
      }
    }
    if (count > 1) this.#send(port, ring, 1, count);
    return reads > 0;
  }

  /** Sends slots [from, to) of ring; what the switch refuses is copied to the port's ring to wait. Returns true when something waits. */
  #send(port: Port<Key>, ring: SlotRing, from: number, to: number): boolean {
    const counters = port.stats.tapToSwitch;
    let next = from;
    while (next < to) {
      const sent = libc.sendmmsg(port.connection.dataFd, ring.headersAddress + next * mmsghdrSize, to - next, MSG_DONTWAIT);
      if (sent < 0) {
        const code = errno();
        if (code === EAGAIN) break;
        if (code === EINTR) continue;
        // The switch's data socket is gone (or refuses this frame): drop it and go on.
        counters.drops += 1;
        next += 1;
        continue;
      }
      for (let slot = next; slot < next + sent; slot += 1) counters.bytes += ring.iovecWords[slot * 4 + 2] ?? 0;
      counters.frames += sent;
      next += sent;
    }
    if (next === to) return false;
    this.#keepWaiting(port, ring, next, to);
    return true;
  }

  /** Copies refused frames into the port's own ring and starts the wait for the switch. */
  #keepWaiting(port: Port<Key>, ring: SlotRing, from: number, to: number): void {
    port.waiting ??= new SlotRing(batch);
    const own = port.waiting;
    for (let slot = from; slot < to; slot += 1) {
      const length = ring.iovecWords[slot * 4 + 2] ?? 0;
      const target = slot - from;
      own.frames.set(ring.frames.subarray(slot * ring.slotSize, slot * ring.slotSize + length), target * own.slotSize);
      own.iovecWords[target * 4 + 2] = length;
    }
    port.pendingFrom = 0;
    port.pendingTo = to - from;
    port.pendingSince = performance.now();
    this.#waiting.add(port);
  }

  /** Sends the waiting frames; keeps what the switch cannot take yet. */
  #flush(port: Port<Key>): void {
    const ring = port.waiting;
    if (ring === undefined) return;
    const counters = port.stats.tapToSwitch;
    while (port.pendingFrom < port.pendingTo) {
      const from = port.pendingFrom;
      const sent = libc.sendmmsg(port.connection.dataFd, ring.headersAddress + from * mmsghdrSize, port.pendingTo - from, MSG_DONTWAIT);
      if (sent < 0) {
        const code = errno();
        if (code === EAGAIN) return;
        if (code === EINTR) continue;
        counters.drops += 1;
        port.pendingFrom += 1;
        continue;
      }
      for (let slot = from; slot < from + sent; slot += 1) counters.bytes += ring.iovecWords[slot * 4 + 2] ?? 0;
      counters.frames += sent;
      port.pendingFrom += sent;
      // The switch took some: the wait for the rest starts afresh.
      port.pendingSince = performance.now();
    }
    port.pendingFrom = port.pendingTo = 0;
    port.pendingSince = 0;
    this.#waiting.delete(port);
  }
}
