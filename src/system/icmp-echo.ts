// ICMP echo ("ping") through a raw socket, with a hard time bound: used to prove a gateway still answers.
import { ptr } from "bun:ffi";
import { check, libc, SystemCallError } from "./libc";
import { parseIPv4 } from "./netlink/address";
import { AF_INET, IPPROTO_ICMP, POLLIN, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_RAW } from "./libc-constants";

/** The internet checksum (RFC 1071) over a buffer. */
function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  if (bytes.length % 2 === 1) sum += (bytes[bytes.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Sends ICMP echo requests to an IPv4 address until one is answered or the time is up.
 *
 * @param address The IPv4 address to ping.
 * @param timeoutMs The whole budget; a request goes out every 200 ms within it.
 * @returns true when an echo reply from that address arrived in time.
 */
export function icmpEcho(address: string, timeoutMs: number): boolean {
  const target = parseIPv4(address);
  if (target < 0) throw new SystemCallError(`icmp echo to ${address}`, 22);
  const fd = check("socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)", libc.socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP));
  try {
    const sockaddr = new Uint8Array(16);
    const view = new DataView(sockaddr.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint32(4, target, false);
    const identifier = process.pid & 0xffff;
    const request = new Uint8Array(16);
    const reply = new Uint8Array(1500);
    const from = new Uint8Array(16);
    const fromLength = new Uint32Array([16]);
    const pollfd = new Int32Array([fd, POLLIN]);
    const deadline = performance.now() + timeoutMs;
    for (let sequence = 1; performance.now() < deadline; sequence++) {
      request.fill(0);
      request[0] = 8; // echo request
      new DataView(request.buffer).setUint16(4, identifier, false);
      new DataView(request.buffer).setUint16(6, sequence, false);
      new DataView(request.buffer).setUint16(2, checksum(request), false);
      libc.sendto(fd, ptr(request), request.length, 0, ptr(sockaddr), sockaddr.length);
      const roundEnd = Math.min(deadline, performance.now() + 200);
      while (performance.now() < roundEnd) {
        pollfd[1] = POLLIN;
        const ready = libc.poll(ptr(pollfd), 1, Math.max(1, Math.ceil(roundEnd - performance.now())));
        if (ready <= 0) continue;
        fromLength[0] = 16;
        const length = Number(libc.recvfrom(fd, ptr(reply), reply.length, 0, ptr(from), ptr(fromLength)));
        if (length < 28) continue;
        // A raw socket hands us the IP header too: skip it by its length field.
        const headerLength = ((reply[0] ?? 0) & 0x0f) * 4;
        const replyView = new DataView(reply.buffer);
        const source = replyView.getUint32(12, false);
        if (source === target && reply[headerLength] === 0 && replyView.getUint16(headerLength + 4, false) === identifier) return true;
      }
    }
    return false;
  } finally {
    libc.close(fd);
  }
}
