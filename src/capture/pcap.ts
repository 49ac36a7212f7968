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

/** One record: 16-byte header (seconds, microseconds, captured and original length) followed by the captured bytes. */
export function pcapRecord(bytes: Uint8Array, originalLength: number, seconds: number, microseconds: number): Uint8Array {
  const record = new Uint8Array(16 + bytes.length);
  const header = new DataView(record.buffer);
  header.setUint32(0, seconds >>> 0, true);
  header.setUint32(4, microseconds, true);
  header.setUint32(8, bytes.length, true);
  header.setUint32(12, originalLength, true);
  record.set(bytes, 16);
  return record;
}
