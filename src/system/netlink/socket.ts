// NetlinkSocket: one AF_NETLINK/NETLINK_ROUTE socket through libc (open, options, send, bounded receive, close).
import { check, errno, libc, SystemCallError } from "../libc";
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

const EINTR = 4;
const EAGAIN = 11;
const POLLIN = 1;

/** Buffer sizes asked for: big enough for thousands of in-flight ACKs (the kernel doubles them). */
const WANTED_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Receive buffer size: the kernel never puts more than 32 KiB in one dump message, so 64 KiB
 * always holds one message whole (MSG_TRUNC still guards against surprises).
 */
const RECEIVE_BUFFER_BYTES = 64 * 1024;

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
  /** True when the kernel filters dumps on the request's fields (NETLINK_GET_STRICT_CHK accepted). */
  readonly strictDumps: boolean;
  readonly #bytes = new Uint8Array(RECEIVE_BUFFER_BYTES);
  readonly #view = new DataView(this.#bytes.buffer);
  readonly #pollfd = new Uint8Array(8);
  readonly #option = new Int32Array(2);

  private constructor(fd: number) {
    this.#fd = fd;
    try {
      // Extended ACKs carry the kernel's message; capped ACKs echo only the request header.
      this.#setOption(SOL_NETLINK, NETLINK_EXT_ACK, 1, "setsockopt(NETLINK_EXT_ACK)");
      this.#setOption(SOL_NETLINK, NETLINK_CAP_ACK, 1, "setsockopt(NETLINK_CAP_ACK)");
      this.strictDumps = this.#trySetOption(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
      this.sendBufferBytes = this.#growBuffer(SO_SNDBUFFORCE, SO_SNDBUF);
      this.receiveBufferBytes = this.#growBuffer(SO_RCVBUFFORCE, SO_RCVBUF);
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

  /** Opens a NETLINK_ROUTE socket (close-on-exec, so spawned programs never inherit it). */
  static open(): NetlinkSocket {
    const fd = check("socket(AF_NETLINK, NETLINK_ROUTE)", libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    return new NetlinkSocket(fd);
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
  #growBuffer(forced: number, plain: number): number {
    if (!this.#trySetOption(SOL_SOCKET, forced, WANTED_BUFFER_BYTES)) this.#trySetOption(SOL_SOCKET, plain, WANTED_BUFFER_BYTES);
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
        if (Number(sent) !== length) throw new Error(`send(netlink): sent ${sent} of ${length} bytes`);
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
        if (received > bytes.length) throw new Error(`recv(netlink): a ${received}-byte message does not fit the ${bytes.length}-byte buffer`);
        return { bytes, view: this.#view, length: received };
      }
      const code = errno();
      if (code === EINTR) continue;
      if (code !== EAGAIN) throw new SystemCallError("recv(netlink)", code);
      this.#waitReadable(timeoutMs);
    }
  }

  #waitReadable(timeoutMs: number): void {
    const pollfd = new DataView(this.#pollfd.buffer);
    pollfd.setInt32(0, this.#fd, true);
    pollfd.setInt16(4, POLLIN, true);
    pollfd.setInt16(6, 0, true);
    for (;;) {
      const ready = libc.poll(this.#pollfd, 1, timeoutMs);
      if (ready > 0) return;
      if (ready === 0) throw new Error(`recv(netlink): no answer from the kernel within ${timeoutMs} ms`);
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
