// An AF_PACKET socket on one network device (optionally inside a named network namespace): every frame in and out, read from a TPACKET_V3 ring, with kernel timestamps and drop counts.
import { ptr, toArrayBuffer, type Pointer } from "bun:ffi";
import { BenitoError } from "../errors";
import { errno, libc, SystemCallError } from "./libc";
import { EINTR, POLLIN, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW } from "./libc-constants";
import { interfaceIndex } from "./ifindex";
import { AF_PACKET } from "./netlink/constants";
import { socketInNamespace } from "./netns-open";

/** Every protocol, in network byte order (htons(ETH_P_ALL)). */
const ETH_P_ALL_BE = 0x0300;
const SOL_PACKET = 263;
const PACKET_RX_RING = 5;
const PACKET_STATISTICS = 6;
const PACKET_VERSION = 10;
const PACKET_ADD_MEMBERSHIP = 1;
const PACKET_MR_PROMISC = 1;
const TPACKET_V3 = 2;
/** A block's status bit: the kernel handed it to user space. */
const TP_STATUS_USER = 1;
const PROT_READ_WRITE = 3;
const MAP_SHARED = 1;

/**
 * The ring: 8 blocks of 512 KiB (4 MiB, about 40,000 small frames of slack while benito writes).
 * A block is handed over when full or after retireMs (20 ms), so a live view (`-w - | wireshark`) lags by
 * at most that much.
 */
const blockSize = 512 * 1024;
const blockCount = 8;
const frameSize = 2048;
export const retireMs = 20;
/** The largest frame kept (the pcap header's snap length): a ring block bounds it anyway. */
export const snapLength = 262_144;

/** Frame interface: one captured frame (the bytes are valid only inside the visit callback). */
export interface Frame {
  readonly bytes: Uint8Array;
  /** The frame's length on the wire (larger than bytes.length when it was cut). */
  readonly length: number;
  readonly seconds: number;
  readonly microseconds: number;
}

/**
 * PacketSocket class: reads every frame a device sends and receives, through a memory-mapped
 * TPACKET_V3 ring (no system call per frame). It sets promiscuous mode only when asked (a
 * bridge), as a membership that ends with the socket (a TAP's frames reach packet sockets
 * whoever they are for), and it is bound to the device before the ring fills, so no frame of
 * another device is ever seen.
 */
export class PacketSocket {
  readonly #fd: number;
  readonly #ring: Pointer;
  readonly #memory: ArrayBuffer;
  readonly #view: DataView;
  readonly #stats = new Uint32Array(3);
  readonly #statsLength = new Uint32Array([12]);
  readonly #pollfd = new Int32Array(2);
  #block = 0;
  #drops = 0;

  private constructor(fd: number, ring: Pointer) {
    this.#fd = fd;
    this.#ring = ring;
    this.#memory = toArrayBuffer(ring, 0, blockSize * blockCount);
    this.#view = new DataView(this.#memory);
    this.#pollfd[0] = fd;
    this.#pollfd[1] = POLLIN;
  }

  /**
   * Opens a packet socket on `device`, inside the named network namespace when `netns` is given
   * (the socket stays in that namespace; this thread comes straight back to its own).
   *
   * @throws BenitoError naming the device when it does not exist or the kernel refuses.
   */
  static open(device: string, netns?: string, promiscuous = false): PacketSocket {
    const what = netns === undefined ? device : `${device} in network namespace ${netns}`;
    // Only the socket is made inside the namespace (netns-open.ts: no thread may be born there);
    // the device is looked up, and the socket bound, from here: both act in the socket's namespace.
    const index = interfaceIndex(device, netns);
    if (index === 0) throw new BenitoError("opening a capture socket", what, "no such network device");
    // Protocol 0 at creation: the socket sees nothing until bind() names the device and ETH_P_ALL.
    let fd: number;
    try {
      fd = socketInNamespace(netns, AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, "socket(AF_PACKET)");
    } catch (error) {
      if (error instanceof BenitoError) throw error;
      throw new BenitoError("opening a capture socket", what, error instanceof Error ? error.message : String(error));
    }
    const fail = (call: string): never => {
      const code = errno();
      libc.close(fd);
      throw new BenitoError("opening a capture socket", what, new SystemCallError(call, code).message);
    };
    if (libc.setsockopt(fd, SOL_PACKET, PACKET_VERSION, ptr(new Int32Array([TPACKET_V3])), 4) !== 0) fail("setsockopt(PACKET_VERSION)");
    // tpacket_req3: block size and count, frame size and count, retire timeout, private size, features.
    const request = new Uint32Array([blockSize, blockCount, frameSize, (blockSize * blockCount) / frameSize, retireMs, 0, 0]);
    if (libc.setsockopt(fd, SOL_PACKET, PACKET_RX_RING, ptr(request), request.byteLength) !== 0) fail("setsockopt(PACKET_RX_RING)");
    const ring = libc.mmap(null, blockSize * blockCount, PROT_READ_WRITE, MAP_SHARED, fd, 0);
    // MAP_FAILED is (void *)-1: far above any user-space address, and above what a double holds exactly.
    if (ring === null || ring > Number.MAX_SAFE_INTEGER) fail("mmap(PACKET_RX_RING)");
    const address = new DataView(new ArrayBuffer(20));
    address.setUint16(0, AF_PACKET, true);
    address.setUint16(2, ETH_P_ALL_BE, true);
    address.setInt32(4, index, true);
    if (libc.bind(fd, ptr(address), 20) !== 0) {
      libc.munmap(ring, blockSize * blockCount);
      fail("bind(AF_PACKET)");
    }
    if (promiscuous) {
      // A membership of this socket, not a flag on the device: the kernel drops it when the socket
      // closes, however benito ends, so no promiscuous mode is ever left behind.
      const request = new DataView(new ArrayBuffer(16));
      request.setInt32(0, index, true);
      request.setUint16(4, PACKET_MR_PROMISC, true);
      if (libc.setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, ptr(request), 16) !== 0) {
        libc.munmap(ring, blockSize * blockCount);
        fail("setsockopt(PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC)");
      }
    }
    return new PacketSocket(fd, ring as Pointer);
  }

  /** Waits up to timeoutMs for a block of frames; true when one is ready. */
  wait(timeoutMs: number): boolean {
    if (this.#ready()) return true;
    const ready = libc.poll(ptr(this.#pollfd), 1, timeoutMs);
    if (ready < 0 && errno() !== EINTR) throw new SystemCallError("poll", errno());
    return this.#ready();
  }

  #ready(): boolean {
    return (this.#view.getUint32(this.#block * blockSize + 8, true) & TP_STATUS_USER) !== 0;
  }

  /**
   * Visits the frames of every block the kernel has handed over, in order, and gives the blocks
   * back. visit returns false to stop (the rest of that block is not wanted). Returns the number
   * of frames visited.
   */
  read(visit: (frame: Frame) => boolean): number {
    let visited = 0;
    let going = true;
    while (going && this.#ready()) {
      const base = this.#block * blockSize;
      const count = this.#view.getUint32(base + 12, true);
      let at = base + this.#view.getUint32(base + 16, true);
      for (let index = 0; index < count && going; index++) {
        const captured = this.#view.getUint32(at + 12, true);
        const start = at + this.#view.getUint16(at + 24, true);
        visited += 1;
        going = visit({
          bytes: new Uint8Array(this.#memory, start, captured),
          length: this.#view.getUint32(at + 16, true),
          seconds: this.#view.getUint32(at + 4, true),
          microseconds: Math.floor(this.#view.getUint32(at + 8, true) / 1000),
        });
        at += this.#view.getUint32(at, true);
      }
      // Back to the kernel (TP_STATUS_KERNEL), then on to the next block of the ring.
      this.#view.setUint32(base + 8, 0, true);
      this.#block = (this.#block + 1) % blockCount;
    }
    return visited;
  }

  /** Frames the kernel dropped (the ring was full) since the socket opened. */
  drops(): number {
    this.#statsLength[0] = 12;
    // Reading the statistics resets them: keep a running total.
    if (libc.getsockopt(this.#fd, SOL_PACKET, PACKET_STATISTICS, ptr(this.#stats), ptr(this.#statsLength)) === 0) this.#drops += this.#stats[1] ?? 0;
    return this.#drops;
  }

  /** Unmaps the ring and closes the socket. */
  close(): void {
    libc.munmap(this.#ring, blockSize * blockCount);
    libc.close(this.#fd);
  }
}
