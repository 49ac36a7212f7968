// One line per frame for `capture` without -w: time, MACs, and for IPv4 the addresses and protocol (ICMP echo named).

function mac(bytes: Uint8Array, at: number): string {
  return [...bytes.subarray(at, at + 6)].map((byte) => byte.toString(16).padStart(2, "0")).join(":");
}

function ip4(bytes: Uint8Array, at: number): string {
  return [...bytes.subarray(at, at + 4)].join(".");
}

const icmpTypes: Readonly<Record<number, string>> = { 0: "echo reply", 3: "unreachable", 8: "echo request", 11: "time exceeded" };
const protocols: Readonly<Record<number, string>> = { 1: "ICMP", 6: "TCP", 17: "UDP" };

/** "HH:MM:SS.uuuuuu" in UTC. */
function clock(seconds: number, microseconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(11, 19)}.${String(microseconds).padStart(6, "0")}`;
}

/**
 * A one-line description of an Ethernet frame, e.g.
 * `12:00:01.000123 02:be:00:00:00:01 > 02:be:00:00:00:02 IPv4 10.0.1.1 > 10.0.1.2 ICMP echo request, 98 bytes`.
 */
export function describeFrame(bytes: Uint8Array, length: number, seconds: number, microseconds: number): string {
  const head = clock(seconds, microseconds);
  if (bytes.length < 14) return `${head} runt frame, ${length} bytes`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(12);
  const macs = `${mac(bytes, 6)} > ${mac(bytes, 0)}`;
  if (type === 0x0806 && bytes.length >= 42) {
    const op = view.getUint16(20) === 1 ? `who-has ${ip4(bytes, 38)} tell ${ip4(bytes, 28)}` : `${ip4(bytes, 28)} is-at ${mac(bytes, 22)}`;
    return `${head} ${macs} ARP ${op}, ${length} bytes`;
  }
  if (type === 0x0800 && bytes.length >= 34) {
    const headerLength = (view.getUint8(14) & 0x0f) * 4;
    const protocol = view.getUint8(23);
    let detail = protocols[protocol] ?? `protocol ${protocol}`;
    if (protocol === 1 && bytes.length > 14 + headerLength) detail += ` ${icmpTypes[view.getUint8(14 + headerLength)] ?? `type ${view.getUint8(14 + headerLength)}`}`;
    return `${head} ${macs} IPv4 ${ip4(bytes, 26)} > ${ip4(bytes, 30)} ${detail}, ${length} bytes`;
  }
  return `${head} ${macs} ethertype 0x${type.toString(16).padStart(4, "0")}, ${length} bytes`;
}
