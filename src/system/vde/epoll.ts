// One epoll set through libc: register fds with a 32-bit tag and a 32-bit generation, wait, read back (tag, generation, events) without allocating.
import { ptr } from "bun:ffi";
import { check, errno, libc, SystemCallError } from "../libc";
import { EINTR, EPOLL_CLOEXEC, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD } from "../libc-constants";

/**
 * struct epoll_event is packed on x86-64 (12 bytes, data at 4) and naturally aligned elsewhere
 * (16 bytes, data at 8): the kernel's EPOLL_PACKED is defined for x86-64 only.
 */
const eventSize = process.arch === "x64" ? 12 : 16;
const dataOffset = process.arch === "x64" ? 4 : 8;

/** Epoll class: an epoll fd and a preallocated event array. */
export class Epoll {
  readonly fd: number;
  readonly #events: DataView;
  readonly #eventsAddress: number;
  readonly #capacity: number;
  readonly #request = new DataView(new ArrayBuffer(16));
  readonly #requestAddress: number;

  /** @param capacity The most events one {@link wait} returns. */
  constructor(capacity = 256) {
    this.fd = check("epoll_create1", libc.epoll_create1(EPOLL_CLOEXEC));
    this.#capacity = capacity;
    const buffer = new Uint8Array(capacity * eventSize);
    this.#events = new DataView(buffer.buffer);
    this.#eventsAddress = ptr(buffer);
    this.#requestAddress = ptr(this.#request);
  }

  #control(operation: number, fd: number, events: number, tag: number, generation: number): void {
    this.#request.setUint32(0, events, true);
    this.#request.setUint32(dataOffset, tag >>> 0, true);
    this.#request.setUint32(dataOffset + 4, generation >>> 0, true);
    check("epoll_ctl", libc.epoll_ctl(this.fd, operation, fd, this.#requestAddress));
  }

  /**
   * Watches fd for events (level-triggered); tag and generation come back with every event. The
   * generation tells an event for an fd registered earlier under the same tag (and already removed,
   * but still in the batch {@link wait} returned) from one for the fd registered now.
   */
  add(fd: number, events: number, tag: number, generation = 0): void {
    this.#control(EPOLL_CTL_ADD, fd, events, tag, generation);
  }

  /** Changes what fd is watched for. */
  modify(fd: number, events: number, tag: number, generation = 0): void {
    this.#control(EPOLL_CTL_MOD, fd, events, tag, generation);
  }

  /** Stops watching fd (an fd closed already is fine: the kernel dropped it). */
  remove(fd: number): void {
    libc.epoll_ctl(this.fd, EPOLL_CTL_DEL, fd, this.#requestAddress);
  }

  /** Waits up to timeoutMs (-1: forever); returns how many events are ready (0 on timeout or signal). */
  wait(timeoutMs: number): number {
    const ready = libc.epoll_wait(this.fd, this.#eventsAddress, this.#capacity, timeoutMs);
    if (ready >= 0) return ready;
    if (errno() === EINTR) return 0;
    throw new SystemCallError("epoll_wait", errno());
  }

  /** The tag of the index-th ready event. */
  tag(index: number): number {
    return this.#events.getUint32(index * eventSize + dataOffset, true);
  }

  /** The generation of the index-th ready event. */
  generation(index: number): number {
    return this.#events.getUint32(index * eventSize + dataOffset + 4, true);
  }

  /** The events of the index-th ready event. */
  events(index: number): number {
    return this.#events.getUint32(index * eventSize, true);
  }

  /** Closes the epoll fd. */
  close(): void {
    libc.close(this.fd);
  }
}
