// MessageWriter: encodes netlink messages and (nested) attributes in place into one reusable buffer.
import { NLMSG_HDRLEN, RTA_HDRLEN } from "./constants";

/** Rounds a length up to the 4-byte netlink alignment (NLMSG_ALIGN / RTA_ALIGN). */
export function align4(length: number): number {
  return (length + 3) & ~3;
}

/**
 * MessageWriter class: an append-only netlink message buffer.
 *
 * One writer is reused for every request of a socket, so encoding a batch of routes allocates
 * nothing per route: `begin` writes the nlmsghdr, the caller appends the family header and
 * attributes, `end` fixes up nlmsg_len. Multi-byte fields are host byte order (netlink's), the
 * address attributes network order. The buffer grows by doubling when a message does not fit.
 */
export class MessageWriter {
  /** The bytes written so far are `buffer[0, length)`. */
  buffer: Uint8Array;
  /** A DataView over `buffer` (replaced when the buffer grows). */
  view: DataView;
  /** Bytes written. */
  length = 0;

  constructor(capacity = 65536) {
    this.buffer = new Uint8Array(capacity);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Forgets every message written, keeping the buffer. */
  reset(): void {
    this.length = 0;
  }

  /** Makes room for `bytes` more bytes, growing the buffer if needed. */
  reserve(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  /**
   * Starts a message: writes a struct nlmsghdr whose length `end` fills in.
   *
   * @returns The offset of the message, to pass to `end`.
   */
  begin(type: number, flags: number, seq: number, portId = 0): number {
    this.reserve(256);
    const start = this.length;
    const view = this.view;
    view.setUint32(start, 0, true);
    view.setUint16(start + 4, type, true);
    view.setUint16(start + 6, flags, true);
    view.setUint32(start + 8, seq >>> 0, true);
    view.setUint32(start + 12, portId >>> 0, true);
    this.length = start + NLMSG_HDRLEN;
    return start;
  }

  /** Ends the message started at `start`: sets nlmsg_len (padding is not counted, then added). */
  end(start: number): void {
    this.view.setUint32(start, this.length - start, true);
    this.pad();
  }

  /** Appends `count` zero bytes (a family header is usually written this way, then its fields set). */
  zeros(count: number): number {
    this.reserve(count);
    const at = this.length;
    this.buffer.fill(0, at, at + count);
    this.length = at + count;
    return at;
  }

  /** Pads with zero bytes to the 4-byte alignment. */
  pad(): void {
    const aligned = align4(this.length);
    if (aligned !== this.length) {
      this.reserve(aligned - this.length);
      this.buffer.fill(0, this.length, aligned);
      this.length = aligned;
    }
  }

  /** Appends a u8 field. */
  u8(value: number): void {
    this.reserve(1);
    this.buffer[this.length] = value;
    this.length += 1;
  }

  /** Appends a host-order u16 field. */
  u16(value: number): void {
    this.reserve(2);
    this.view.setUint16(this.length, value, true);
    this.length += 2;
  }

  /** Appends a host-order u32 field. */
  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.length, value >>> 0, true);
    this.length += 4;
  }

  /** Appends a host-order i32 field. */
  i32(value: number): void {
    this.reserve(4);
    this.view.setInt32(this.length, value, true);
    this.length += 4;
  }

  /** Appends an attribute holding a host-order u32. */
  attrU32(type: number, value: number): void {
    this.reserve(8);
    const view = this.view;
    view.setUint16(this.length, 8, true);
    view.setUint16(this.length + 2, type, true);
    view.setUint32(this.length + 4, value >>> 0, true);
    this.length += 8;
  }

  /** Appends an attribute holding a u8 (padded). */
  attrU8(type: number, value: number): void {
    this.reserve(8);
    const view = this.view;
    view.setUint16(this.length, RTA_HDRLEN + 1, true);
    view.setUint16(this.length + 2, type, true);
    view.setUint32(this.length + 4, value & 255, true);
    this.length += 8;
  }

  /** Appends an attribute holding an IPv4 address (a 32-bit value, written in network order). */
  attrIPv4(type: number, address: number): void {
    this.reserve(8);
    const view = this.view;
    view.setUint16(this.length, 8, true);
    view.setUint16(this.length + 2, type, true);
    view.setUint32(this.length + 4, address >>> 0, false);
    this.length += 8;
  }

  /** Appends an attribute holding raw bytes (padded). */
  attrBytes(type: number, bytes: Uint8Array): void {
    this.reserve(RTA_HDRLEN + bytes.length + 3);
    this.view.setUint16(this.length, RTA_HDRLEN + bytes.length, true);
    this.view.setUint16(this.length + 2, type, true);
    this.buffer.set(bytes, this.length + RTA_HDRLEN);
    this.length += RTA_HDRLEN + bytes.length;
    this.pad();
  }

  /** Appends an attribute holding a NUL-terminated string (padded). */
  attrString(type: number, text: string): void {
    const bytes = new TextEncoder().encode(text);
    this.reserve(RTA_HDRLEN + bytes.length + 4);
    this.view.setUint16(this.length, RTA_HDRLEN + bytes.length + 1, true);
    this.view.setUint16(this.length + 2, type, true);
    this.buffer.set(bytes, this.length + RTA_HDRLEN);
    this.buffer[this.length + RTA_HDRLEN + bytes.length] = 0;
    this.length += RTA_HDRLEN + bytes.length + 1;
    this.pad();
  }

  /** Starts a nested attribute; returns its offset for `endNest`. */
  beginNest(type: number): number {
    this.reserve(RTA_HDRLEN);
    const start = this.length;
    this.view.setUint16(start, 0, true);
    this.view.setUint16(start + 2, type, true);
    this.length += RTA_HDRLEN;
    return start;
  }

  /** Ends the nested attribute started at `start`: sets its length to everything written since. */
  endNest(start: number): void {
    this.view.setUint16(start, this.length - start, true);
  }
}
