// The frame pump between a TAP fd and a switch port: batched reads, recvmmsg/sendmmsg, preallocated buffers.
import { ptr } from "bun:ffi";
import { errno, libc } from "../libc";
import type { VdeConnection } from "./connect";
import { EAGAIN, EINTR, POLLERR, POLLHUP, POLLIN, POLLOUT } from "../libc-constants";

const POLLNVAL = 0x20;
const MSG_DONTWAIT = 0x40;
/** sizeof(struct mmsghdr): a 56-byte msghdr + msg_len + padding. */
const mmsghdrSize = 64;
const iovecSize = 16;
/** Frames moved per system call on the datagram side, and per wake-up from the TAP. */
const batch = 64;
/** Ethernet header + one VLAN tag + slack: added to the TAP's MTU for the slot size. */
const headerRoom = 22;
/** The smallest slot: a full-size Ethernet frame with a VLAN tag (what vde_switch carries). */
const minSlot = 1536;
/** Deliveries without looking for an immediate answer after a look found none. */
const answerLookBackoff = 64;
/** How long frames wait for a full switch to take them before they are dropped. */
const pendingLimitMs = 100;
/** Longest synchronous stretch before the event loop gets a turn (signals are noticed there). */
const sliceMs = 20;
/** poll() timeout when idle: bounds how long a signal waits to be noticed. */
const idleWaitMs = 100;

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

/** Why {@link Forwarder.run} returned. */
export type ForwardEnd = "stopped" | "switch-closed";

/** TapGoneError class: the TAP fd reported an error or hang-up (the device was deleted). */
export class TapGoneError extends Error {
  constructor(events: number) {
    super(`the TAP fd reported poll events 0x${events.toString(16)}`);
    this.name = "TapGoneError";
  }
}

/** Creates zeroed counters for both directions. */
export function emptyStats(): ForwardStats {
  return { tapToSwitch: { frames: 0, bytes: 0, drops: 0 }, switchToTap: { frames: 0, bytes: 0, drops: 0 } };
}

/** One set of frame slots with their iovec and mmsghdr arrays, and the raw addresses of each. */
class SlotRing {
  readonly slotSize: number;
  readonly frames: Uint8Array;
  readonly headers: Uint8Array;
  readonly iovecs: Uint8Array;
  /** u32 view over the mmsghdr array (msg_len at word 14 of each 16-word entry). */
  readonly headerWords: Uint32Array;
  /** u32 view over the iovec array (iov_len's low word at word 2 of each 4-word entry). */
  readonly iovecWords: Uint32Array;
  readonly framesAddress: number;
  readonly headersAddress: number;

  constructor(slotSize: number) {
    this.slotSize = slotSize;
    this.frames = new Uint8Array(slotSize * batch);
    this.headers = new Uint8Array(mmsghdrSize * batch);
    this.iovecs = new Uint8Array(iovecSize * batch);
    this.headerWords = new Uint32Array(this.headers.buffer);
    this.iovecWords = new Uint32Array(this.iovecs.buffer);
    this.framesAddress = ptr(this.frames);
    this.headersAddress = ptr(this.headers);
    const iovecsAddress = ptr(this.iovecs);
    const headerView = new DataView(this.headers.buffer);
    const iovecView = new DataView(this.iovecs.buffer);
    for (let slot = 0; slot < batch; slot += 1) {
      iovecView.setBigUint64(slot * iovecSize, BigInt(this.framesAddress + slot * slotSize), true);
      iovecView.setBigUint64(slot * iovecSize + 8, BigInt(slotSize), true);
      // msghdr: msg_name NULL (the socket is connected), msg_iov, msg_iovlen 1, no control data.
      headerView.setBigUint64(slot * mmsghdrSize + 16, BigInt(iovecsAddress + slot * iovecSize), true);
      headerView.setBigUint64(slot * mmsghdrSize + 24, 1n, true);
    }
  }
}

/**
 * Forwarder class: moves frames both ways between an open TAP fd and a switch connection until
 * stopped or until the switch closes the control stream.
 *
 * Per wake-up it reads up to a batch of frames from the TAP and hands them to the switch in
 * one sendmmsg, and drains the data socket with recvmmsg. Sends never block: when the switch's
 * queue is full the frames wait (the TAP is not read meanwhile, so the kernel's TAP queue
 * pushes back on the senders) and are dropped and counted if the switch stays full for
 * {@link pendingLimitMs}. Frames the TAP refuses are dropped and counted too.
 */
export class Forwarder {
  readonly stats: ForwardStats = emptyStats();
  readonly #tapFd: number;
  readonly #connection: VdeConnection;
  readonly #toSwitch: SlotRing;
  readonly #toTap: SlotRing;
  readonly #pollfds = new Int32Array(6);
  readonly #pollEvents: Int16Array;
  readonly #pollAddress: number;
  readonly #scratch = new Uint8Array(256);
  #stopRequested = false;
  /** Frames read from the TAP and not yet accepted by the switch: slots [pendingFrom, pendingTo). */
  #pendingFrom = 0;
  #pendingTo = 0;
  /** When the switch first refused the waiting frames (0 = nothing waits). */
  #pendingSince = 0;
  /** Deliveries to the TAP left before looking for an immediate answer again. */
  #skipAnswerLooks = 0;

  /**
   * @param tapFd A nonblocking fd attached to the TAP.
   * @param connection The open switch port.
   * @param mtu The TAP's MTU (slots hold MTU + headers).
   */
  constructor(tapFd: number, connection: VdeConnection, mtu: number) {
    this.#tapFd = tapFd;
    this.#connection = connection;
    const slotSize = Math.ceil(Math.max(minSlot, mtu + headerRoom) / 64) * 64;
    this.#toSwitch = new SlotRing(slotSize);
    this.#toTap = new SlotRing(slotSize);
    this.#pollEvents = new Int16Array(this.#pollfds.buffer);
    this.#pollfds[0] = tapFd;
    this.#pollfds[2] = connection.dataFd;
    this.#pollfds[4] = connection.controlFd;
    this.#pollEvents[10] = POLLIN;
    this.#pollAddress = ptr(this.#pollfds);
  }

  /** Asks {@link run} to return at its next turn (called from a signal handler). */
  stop(): void {
    this.#stopRequested = true;
  }

  /** Forwards until {@link stop} is called or the switch closes the control stream. */
  async run(): Promise<ForwardEnd> {
    while (!this.#stopRequested) {
      const sliceEnd = performance.now() + sliceMs;
      for (;;) {
        const outcome = this.#wake();
        if (outcome === "switch-closed") return outcome;
        if (outcome === "idle" || performance.now() >= sliceEnd) break;
      }
      // Let the event loop run: signal handlers (SIGTERM → stop()) fire only there.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return "stopped";
  }

  /** Drops whatever still waits for the switch (on exit or disconnect), counting it. */
  dropPending(): void {
    this.stats.tapToSwitch.drops += this.#pendingTo - this.#pendingFrom;
    this.#pendingFrom = this.#pendingTo = 0;
    this.#pendingSince = 0;
  }

  /** One poll() and the work it reports. */
  #wake(): "busy" | "idle" | "switch-closed" {
    // Frames the switch has refused for too long are dropped even while other traffic flows.
    if (this.#pendingSince !== 0 && performance.now() - this.#pendingSince >= pendingLimitMs) this.dropPending();
    const pending = this.#pendingTo > this.#pendingFrom;
    const events = this.#pollEvents;
    // While frames wait for the switch, stop reading the TAP and wait for the switch to drain.
    events[2] = pending ? 0 : POLLIN;
    events[6] = pending ? POLLIN | POLLOUT : POLLIN;
    const wait = pending ? Math.max(1, Math.ceil(this.#pendingSince + pendingLimitMs - performance.now())) : idleWaitMs;
    const ready = libc.poll(this.#pollAddress, 3, wait);
    if (ready < 0) {
      if (errno() === EINTR) return "busy";
      throw new Error(`poll: errno ${errno()}`);
    }
    if (ready === 0) return "idle";
    if (events[11] !== 0 && this.#controlClosed()) return "switch-closed";
    const dataEvents = events[7] ?? 0;
    const delivered = (dataEvents & (POLLIN | POLLERR)) !== 0 ? this.#switchToTap() : 0;
    if (pending && (dataEvents & (POLLOUT | POLLERR | POLLHUP)) !== 0) this.#flush();
    const tapEvents = events[3] ?? 0;
    if ((tapEvents & POLLIN) !== 0) this.#tapToSwitch();
    else if (delivered > 0 && this.#pendingTo === this.#pendingFrom) this.#lookForAnswer();
    if ((tapEvents & (POLLERR | POLLHUP | POLLNVAL)) !== 0) throw new TapGoneError(tapEvents);
    return "busy";
  }

  /** The control stream became readable or hung up: true when the switch closed it. */
  #controlClosed(): boolean {
    const count = Number(libc.recv(this.#connection.controlFd, ptr(this.#scratch), this.#scratch.length, MSG_DONTWAIT));
    if (count > 0) return false;
    return count === 0 || errno() !== EAGAIN;
  }

  /** Drains the data socket into the TAP; returns how many frames the TAP took. */
  #switchToTap(): number {
    const ring = this.#toTap;
    const counters = this.stats.switchToTap;
    const before = counters.frames;
    for (let round = 0; round < 4; round += 1) {
      const received = libc.recvmmsg(this.#connection.dataFd, ring.headersAddress, batch, MSG_DONTWAIT, 0);
      if (received <= 0) break;
      for (let slot = 0; slot < received; slot += 1) {
        const length = ring.headerWords[slot * 16 + 14] ?? 0;
        if (libc.write(this.#tapFd, ring.framesAddress + slot * ring.slotSize, length) < 0) {
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
   * another poll(). Where that keeps failing (the answer comes from another process, later),
   * the look is skipped for a while, so it costs at most one empty read per 64 deliveries.
   * @returns nothing; frames found are sent like any others.
   */
  #lookForAnswer(): void {
    if (this.#skipAnswerLooks > 0) {
      this.#skipAnswerLooks -= 1;
      return;
    }
    if (!this.#tapToSwitch()) this.#skipAnswerLooks = answerLookBackoff;
  }

  /**
   * Reads up to a batch of frames from the TAP and sends them to the switch. The first frame
   * goes out at once (a lone frame does not wait for the read that finds the TAP empty); the
   * rest follow in one sendmmsg.
   * @returns true when at least one frame was read.
   */
  #tapToSwitch(): boolean {
    const ring = this.#toSwitch;
    let count = 0;
    while (count < batch) {
      const length = Number(libc.read(this.#tapFd, ring.framesAddress + count * ring.slotSize, ring.slotSize));
      if (length <= 0) break;
      ring.iovecWords[count * 4 + 2] = length;
      count += 1;
      if (count === 1) {
        this.#pendingFrom = 0;
        this.#pendingTo = 1;
        this.#flush();
        // The switch is full: keep the frame waiting and leave the rest in the TAP's queue.
        if (this.#pendingTo !== 0) return true;
      }
    }
    if (count <= 1) return count === 1;
    this.#pendingFrom = 1;
    this.#pendingTo = count;
    this.#flush();
    return true;
  }

  /** Sends the waiting frames; keeps what the switch cannot take yet. */
  #flush(): void {
    const ring = this.#toSwitch;
    const counters = this.stats.tapToSwitch;
    while (this.#pendingFrom < this.#pendingTo) {
      const from = this.#pendingFrom;
      const sent = libc.sendmmsg(this.#connection.dataFd, ring.headersAddress + from * mmsghdrSize, this.#pendingTo - from, MSG_DONTWAIT);
      if (sent < 0) {
        const code = errno();
        if (code === EAGAIN) {
          if (this.#pendingSince === 0) this.#pendingSince = performance.now();
          return;
        }
        if (code === EINTR) continue;
        // The switch's data socket is gone (or refuses this frame): drop it and go on.
        counters.drops += 1;
        this.#pendingFrom += 1;
        continue;
      }
      for (let slot = from; slot < from + sent; slot += 1) counters.bytes += ring.iovecWords[slot * 4 + 2] ?? 0;
      counters.frames += sent;
      this.#pendingFrom += sent;
      // The switch took some: the wait for the rest starts afresh.
      this.#pendingSince = 0;
    }
    this.#pendingFrom = this.#pendingTo = 0;
    this.#pendingSince = 0;
  }
}
