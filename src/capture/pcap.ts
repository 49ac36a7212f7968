// The classic pcap file format (what tcpdump -r and Wireshark read): the global header and one record per frame.

/** LINKTYPE_ETHERNET: frames start with the Ethernet header. */
export const linktypeEthernet = 1;

/** The 24-byte file header: magic 0xa1b2c3d4 (microsecond timestamps), version 2.4, snap length, link type. */
export function pcapHeader(snapLength: number, linktype = linktypeEthernet): Uint8Array {
  const header = new DataView(new ArrayBuffer(24));
  header.setUint32(0, 0xa1b2c3d4, true);
  header.setUint16(4, 2, true);
  header.setUint16(6, 4, true);
  // thiszone and sigfigs stay 0: timestamps are UTC.
  header.setUint32(16, snapLength, true);
  header.setUint32(20, linktype, true);
  return new Uint8Array(header.buffer);
}

/**
 * PcapBatch class: pcap records appended into one growing buffer, taken out as one block (one
 * write per burst of frames, and no allocation per frame).
 */
export class PcapBatch {
  #buffer = new Uint8Array(1 << 20);
  #view = new DataView(this.#buffer.buffer);
  #length = 0;

  /** Appends one record: 16-byte header (seconds, microseconds, captured and original length) and the captured bytes. */
  append(bytes: Uint8Array, originalLength: number, seconds: number, microseconds: number): void {
    const needed = this.#length + 16 + bytes.length;
    if (needed > this.#buffer.length) {
      const grown = new Uint8Array(Math.max(needed, this.#buffer.length * 2));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#view.setUint32(this.#length, seconds >>> 0, true);
    this.#view.setUint32(this.#length + 4, microseconds, true);
    this.#view.setUint32(this.#length + 8, bytes.length, true);
    this.#view.setUint32(this.#length + 12, originalLength, true);
    this.#buffer.set(bytes, this.#length + 16);
    this.#length = needed;
  }

  /** The records appended since the last take (valid until the next append), and empties the batch. */
  take(): Uint8Array {
    const records = this.#buffer.subarray(0, this.#length);
    this.#length = 0;
    return records;
  }
}
