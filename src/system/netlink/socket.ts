// NetlinkSocket: one AF_NETLINK/NETLINK_ROUTE socket through libc (open, options, send, bounded receive, close).
import { ptr } from "bun:ffi";
import { check, errno, libc, SystemCallError } from "../libc";
import { socketInNamespace, type NamespaceRef } from "../netns-open";
import {
  AF_NETLINK,
  MSG_DONTWAIT,
  MSG_TRUNC,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_ROUTE,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
} from "./constants";
import type { Received } from "./decode";
import { EAGAIN, EINTR, ENOBUFS, POLLIN } from "../libc-constants";
import { SystemError } from "../../errors";

/** recv's errno after the kernel dropped a message for want of receive-buffer room. */

/** Buffer sizes asked for by default: big enough for thousands of in-flight ACKs (the kernel doubles them). */
const DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * recvmmsg slots for ACK draining: each ACK is its own datagram, so one recvmmsg call collects up
 * to SLOTS of them instead of one recv each. A capped ACK with an extended-ACK message is well
 * under 300 bytes; a truncated one is detected (MSG_TRUNC) and reported.
 */
const SLOTS = 128;
const SLOT_BYTES = 1024;
/** sizeof(struct mmsghdr) on 64-bit Linux: struct msghdr (56) + unsigned msg_len + padding. */
const MMSGHDR_BYTES = 64;
/** sizeof(struct iovec) on 64-bit Linux. */
const IOVEC_BYTES = 16;

/**
 * Receive buffer size: the kernel never puts more than 32 KiB in one dump message, so 64 KiB
 * always holds one message whole (MSG_TRUNC still guards against surprises).
 */
const RECEIVE_BUFFER_BYTES = 64 * 1024;

/** A Received whose range is updated in place for each datagram. */
interface MutableReceived {
  bytes: Uint8Array;
  view: DataView;
  start: number;
  end: number;
}

/** The recvmmsg vectors. The kernel reads the addresses of `bytes` and `iovecs`, so they stay referenced here. */
interface Slots {
  readonly bytes: Uint8Array;
  readonly iovecs: Uint8Array;
  readonly headers: Uint8Array;
  readonly headerView: DataView;
  readonly received: MutableReceived;
}

/**
 * NetlinkSocket class: a route netlink socket with extended ACKs, capped ACKs and strict dump
 * checking on, large kernel buffers, and one reusable receive buffer.
 */
export class NetlinkSocket {
  #fd: number;
  /** The kernel's send buffer size in bytes (one send must stay below it). */
  readonly sendBufferBytes: number;
  /** The kernel's receive buffer size in bytes (queued answers beyond it are dropped). */
  readonly receiveBufferBytes: number;
  readonly #bytes = new Uint8Array(RECEIVE_BUFFER_BYTES);
  readonly #view = new DataView(this.#bytes.buffer);
  /** What `receive` returns: one object, updated in place. */
  readonly #received: MutableReceived = { bytes: this.#bytes, view: this.#view, start: 0, end: 0 };
  readonly #pollfd = new Uint8Array(8);
  readonly #option = new Int32Array(2);
  /** recvmmsg state, made on first use: slot buffer, iovecs, mmsghdrs (which point into the first two). */
  #many: Slots | undefined;

  private constructor(fd: number, bufferBytes: number) {
    this.#fd = fd;
    try {
      // Extended ACKs carry the kernel's message; capped ACKs echo only the request header.
      this.#setOption(SOL_NETLINK, NETLINK_EXT_ACK, 1, "setsockopt(NETLINK_EXT_ACK)");
      this.#setOption(SOL_NETLINK, NETLINK_CAP_ACK, 1, "setsockopt(NETLINK_CAP_ACK)");
      // Best effort: with strict checking the kernel filters route dumps by table; callers filter
      // again, so kernels without it (before 4.20) give the same results, only more slowly.
      this.#trySetOption(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      this.sendBufferBytes = this.#growBuffer(SO_SNDBUFFORCE, SO_SNDBUF, bufferBytes);
      this.receiveBufferBytes = this.#growBuffer(SO_RCVBUFFORCE, SO_RCVBUF, bufferBytes);
      // sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; u32 nl_pid; u32 nl_groups }: port id 0 lets the kernel pick.
      const address = new Uint8Array(12);
      address[0] = AF_NETLINK;
      check("bind(AF_NETLINK)", libc.bind(fd, address, address.length));
    } catch (error) {
      libc.close(fd);
      this.#fd = -1;
      throw error;
    }
  }

  /**
   * Opens a NETLINK_ROUTE socket (close-on-exec, so spawned programs never inherit it).
   *
   * @param bufferBytes Socket buffer size to ask for (the kernel doubles it); tests shrink it to
   *   exercise chunking.
   * @param netns The namespace to make it in (the caller's own when undefined).
   */
  static open(bufferBytes = DEFAULT_BUFFER_BYTES, netns?: NamespaceRef): NetlinkSocket {
    const fd = socketInNamespace(netns, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE, "socket(AF_NETLINK, NETLINK_ROUTE)");
    return new NetlinkSocket(fd, bufferBytes);
  }

  /** The file descriptor (-1 once closed). */
  get fd(): number {
    return this.#fd;
  }

  #setOption(level: number, name: number, value: number, call: string): void {
    if (!this.#trySetOption(level, name, value)) throw new SystemCallError(call, errno());
  }

  #trySetOption(level: number, name: number, value: number): boolean {
    this.#option[0] = value;
    return libc.setsockopt(this.#fd, level, name, this.#option, 4) === 0;
  }

  /**
   * Grows a socket buffer: the FORCE option (needs CAP_NET_ADMIN) ignores net.core.*mem_max; the
   * plain option is the unprivileged fallback. Returns the size the kernel settled on.
   */
  #growBuffer(forced: number, plain: number, bytes: number): number {
    if (!this.#trySetOption(SOL_SOCKET, forced, bytes)) this.#trySetOption(SOL_SOCKET, plain, bytes);
    this.#option[0] = 0;
    this.#option[1] = 4;
    check("getsockopt(SOL_SOCKET)", libc.getsockopt(this.#fd, SOL_SOCKET, plain, this.#option, this.#option.subarray(1)));
    return this.#option[0] as number;
  }

  /** Sends `bytes[0, length)` to the kernel as one datagram (any number of messages). */
  send(bytes: Uint8Array, length: number): void {
    for (;;) {
      const sent = libc.send(this.#fd, bytes, length, 0);
      if (sent >= 0) {
        if (Number(sent) !== length) throw new SystemError("sending to the kernel over netlink", "the rtnetlink socket", `send sent ${sent} of ${length} bytes`);
        return;
      }
      const code = errno();
      if (code !== EINTR) throw new SystemCallError("send(netlink)", code);
    }
  }

  /**
   * Receives one datagram (one or more messages) into the socket's buffer, waiting at most
   * `timeoutMs` for it. The result is valid until the next receive.
   */
  receive(timeoutMs: number): Received {
    const bytes = this.#bytes;
    for (;;) {
      const received = Number(libc.recv(this.#fd, bytes, bytes.length, MSG_DONTWAIT | MSG_TRUNC));
      if (received >= 0) {
        if (received > bytes.length) throw new SystemError("receiving from the kernel over netlink", "the rtnetlink socket", `a ${received}-byte message does not fit the ${bytes.length}-byte buffer`);
        this.#received.end = received;
        return this.#received;
      }
      const code = errno();
      if (code === EINTR) continue;
      if (code !== EAGAIN) throw receiveError("recv(netlink)", code);
      this.#waitReadable(timeoutMs);
    }
  }

  /**
   * Receives every queued datagram, up to 128 per system call (recvmmsg), waiting at most
   * `timeoutMs` for the first, and calls `visit` for each. Returns how many were received (at least 1).
   * The Received passed to `visit` is valid during the call only.
   */
  receiveMany(timeoutMs: number, visit: (received: Received) => void): number {
    const many = this.#many ?? this.#prepareMany();
    for (;;) {
      const count = libc.recvmmsg(this.#fd, many.headers, SLOTS, MSG_DONTWAIT, null);
      if (count > 0) {
        for (let i = 0; i < count; i++) {
          const header = i * MMSGHDR_BYTES;
          if ((many.headerView.getInt32(header + 48, true) & MSG_TRUNC) !== 0) throw new SystemError("receiving from the kernel over netlink", "the rtnetlink socket", `an answer did not fit its ${SLOT_BYTES}-byte slot (recvmmsg)`);
          many.received.start = i * SLOT_BYTES;
          many.received.end = many.received.start + many.headerView.getUint32(header + 56, true);
          visit(many.received);
        }
        return count;
      }
      const code = count === 0 ? EAGAIN : errno();
      if (code === EINTR) continue;
      if (code !== EAGAIN) throw receiveError("recvmmsg(netlink)", code);
      this.#waitReadable(timeoutMs);
    }
  }

  /** Builds the recvmmsg vectors once: slot i's iovec points at its slice of one buffer. */
  #prepareMany(): Slots {
    const bytes = new Uint8Array(SLOTS * SLOT_BYTES);
    const iovecs = new Uint8Array(SLOTS * IOVEC_BYTES);
    const headers = new Uint8Array(SLOTS * MMSGHDR_BYTES);
    const iovecView = new DataView(iovecs.buffer);
    const headerView = new DataView(headers.buffer);
    const bytesAddress = BigInt(ptr(bytes));
    const iovecsAddress = BigInt(ptr(iovecs));
    for (let i = 0; i < SLOTS; i++) {
      // struct iovec { void *iov_base; size_t iov_len; }
      iovecView.setBigUint64(i * IOVEC_BYTES, bytesAddress + BigInt(i * SLOT_BYTES), true);
      iovecView.setBigUint64(i * IOVEC_BYTES + 8, BigInt(SLOT_BYTES), true);
      // struct msghdr: msg_name 0 (NULL), msg_namelen 8, msg_iov 16, msg_iovlen 24, msg_control 32, msg_controllen 40, msg_flags 48.
      headerView.setBigUint64(i * MMSGHDR_BYTES + 16, iovecsAddress + BigInt(i * IOVEC_BYTES), true);
      headerView.setBigUint64(i * MMSGHDR_BYTES + 24, 1n, true);
    }
    const many: Slots = { bytes, iovecs, headers, headerView, received: { bytes, view: new DataView(bytes.buffer), start: 0, end: 0 } };
    this.#many = many;
    return many;
  }

  #waitReadable(timeoutMs: number): void {
    const pollfd = new DataView(this.#pollfd.buffer);
    pollfd.setInt32(0, this.#fd, true);
    pollfd.setInt16(4, POLLIN, true);
    pollfd.setInt16(6, 0, true);
    for (;;) {
      const ready = libc.poll(this.#pollfd, 1, timeoutMs);
      if (ready > 0) return;
      if (ready === 0) throw new SystemError("waiting for the kernel over netlink", "the rtnetlink socket", `no answer within ${timeoutMs} ms`);
      const code = errno();
      if (code !== EINTR) throw new SystemCallError("poll(netlink)", code);
    }
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    if (this.#fd >= 0) libc.close(this.#fd);
    this.#fd = -1;
  }
}

/** A receive failure; ENOBUFS gets its netlink meaning spelled out (answers were lost, so outcomes are unknown). */
function receiveError(call: string, code: number): Error {
  if (code === ENOBUFS) return new Error(`${call}: the kernel dropped answers because the receive buffer overflowed; the outcome of the pending requests is unknown`);
  return new SystemCallError(call, code);
}
