// An AF_PACKET socket on one network device (optionally inside a named network namespace): every frame in and out, with kernel timestamps and drop counts.
import { ptr } from "bun:ffi";
import { BenitoError } from "../errors";
import { check, cString, errno, libc, SystemCallError } from "./libc";
import { EAGAIN, EINTR, POLLIN, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW } from "./libc-constants";
import { namespaceDir } from "./netns";

const AF_PACKET = 17;
/** Every protocol, in network byte order (htons(ETH_P_ALL)). */
const ETH_P_ALL_BE = 0x0300;
const SOL_PACKET = 263;
const PACKET_STATISTICS = 6;
const MSG_TRUNC = 0x20;
const SIOCGSTAMP = 0x8906;
const CLONE_NEWNET = 0x40000000;
const O_RDONLY = 0;
/** The largest frame kept: a TAP's frames are at most its MTU plus headers; 256 KiB covers GSO too. */
export const snapLength = 262_144;

/** Frame interface: one received frame (the bytes are valid until the next receive). */
export interface Frame {
  readonly bytes: Uint8Array;
  /** The frame's length on the wire (larger than bytes.length when it was cut at the snap length). */
  readonly length: number;
  readonly seconds: number;
  readonly microseconds: number;
}

/**
 * PacketSocket class: reads every frame a device sends and receives. It never sets promiscuous
 * mode (a TAP's frames reach packet sockets whoever they are for), and it is bound to the device
 * before it listens, so no frame of another device is ever seen.
 */
export class PacketSocket {
  readonly #fd: number;
  readonly #buffer = new Uint8Array(snapLength);
  readonly #stamp = new BigInt64Array(2);
  readonly #stats = new Uint32Array(2);
  readonly #statsLength = new Uint32Array([8]);
  readonly #pollfd = new Int32Array(2);
  #drops = 0;

  private constructor(fd: number) {
    this.#fd = fd;
    this.#pollfd[0] = fd;
    this.#pollfd[1] = POLLIN;
  }

  /**
   * Opens a packet socket on `device`, inside the named network namespace when `netns` is given
   * (the socket stays in that namespace; this thread comes straight back to its own).
   *
   * @throws BenitoError naming the device when it does not exist or the kernel refuses.
   */
  static open(device: string, netns?: string): PacketSocket {
    const what = netns === undefined ? device : `${device} in network namespace ${netns}`;
    if (netns === undefined) return PacketSocket.#openHere(device, what);
    const home = check("open(/proc/thread-self/ns/net)", libc.open(cString("/proc/thread-self/ns/net"), O_RDONLY, 0));
    const target = libc.open(cString(`${namespaceDir}/${netns}`), O_RDONLY, 0);
    if (target < 0) {
      const code = errno();
      libc.close(home);
      throw new BenitoError("opening a capture socket", what, new SystemCallError(`open(${namespaceDir}/${netns})`, code).message);
    }
    try {
      check("setns(CLONE_NEWNET)", libc.setns(target, CLONE_NEWNET));
      return PacketSocket.#openHere(device, what);
    } finally {
      // Back home before anything else runs: the rest of benito must never act in the node's namespace.
      const back = libc.setns(home, CLONE_NEWNET);
      libc.close(home);
      libc.close(target);
      if (back !== 0) throw new BenitoError("returning from the network namespace", netns, new SystemCallError("setns", errno()).message);
    }
  }

  static #openHere(device: string, what: string): PacketSocket {
    const index = libc.if_nametoindex(cString(device));
    if (index === 0) throw new BenitoError("opening a capture socket", what, "no such network device");
    // Protocol 0 at creation: the socket sees nothing until bind() names the device and ETH_P_ALL.
    const fd = libc.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new BenitoError("opening a capture socket", what, new SystemCallError("socket(AF_PACKET)", errno()).message);
    const address = new DataView(new ArrayBuffer(20));
    address.setUint16(0, AF_PACKET, true);
    address.setUint16(2, ETH_P_ALL_BE, true);
    address.setInt32(4, index, true);
    if (libc.bind(fd, ptr(address), 20) !== 0) {
      const code = errno();
      libc.close(fd);
      throw new BenitoError("opening a capture socket", what, new SystemCallError("bind(AF_PACKET)", code).message);
    }
    return new PacketSocket(fd);
  }

  /** Waits up to timeoutMs for a frame; true when one can be read. */
  wait(timeoutMs: number): boolean {
    const ready = libc.poll(ptr(this.#pollfd), 1, timeoutMs);
    if (ready < 0 && errno() !== EINTR) throw new SystemCallError("poll", errno());
    return ready > 0;
  }

  /** The next frame, or undefined when none is waiting. */
  receive(): Frame | undefined {
    const length = Number(libc.recv(this.#fd, ptr(this.#buffer), this.#buffer.length, MSG_TRUNC));
    if (length < 0) {
      const code = errno();
      if (code === EAGAIN || code === EINTR) return undefined;
      throw new SystemCallError("recv(AF_PACKET)", code);
    }
    check("ioctl(SIOCGSTAMP)", libc.ioctl(this.#fd, SIOCGSTAMP, ptr(this.#stamp)));
    return {
      bytes: this.#buffer.subarray(0, Math.min(length, this.#buffer.length)),
      length,
      seconds: Number(this.#stamp[0]),
      microseconds: Number(this.#stamp[1]),
    };
  }

  /** Frames the kernel dropped because benito did not read fast enough, since the socket opened. */
  drops(): number {
    this.#statsLength[0] = 8;
    // Reading the statistics resets them: keep a running total.
    if (libc.getsockopt(this.#fd, SOL_PACKET, PACKET_STATISTICS, ptr(this.#stats), ptr(this.#statsLength)) === 0) this.#drops += this.#stats[1] ?? 0;
    return this.#drops;
  }

  /** Closes the socket. */
  close(): void {
    libc.close(this.#fd);
  }
}
