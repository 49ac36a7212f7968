// struct sockaddr_un as bytes: what the VDE control protocol carries and what AF_UNIX calls take.

import { AF_UNIX } from "../libc-constants";

export { AF_UNIX };
/** sizeof(struct sockaddr_un) on Linux: 2-byte family + 108-byte path. */
export const sockaddrUnSize = 110;
/** The longest path sun_path holds (one byte stays for the terminating NUL). */
export const maxSocketPathBytes = 107;

/**
 * Encodes a filesystem path as a zero-padded sockaddr_un.
 *
 * @throws RangeError when the path does not fit sun_path.
 */
export function encodeSockaddrUn(path: string): Uint8Array {
  const bytes = Buffer.from(path, "utf8");
  if (bytes.length > maxSocketPathBytes) throw new RangeError(`socket path ${path} is ${bytes.length} bytes; a unix socket path holds at most ${maxSocketPathBytes}`);
  const address = new Uint8Array(sockaddrUnSize);
  new DataView(address.buffer).setUint16(0, AF_UNIX, true);
  address.set(bytes, 2);
  return address;
}

/** Decodes a sockaddr_un's path (up to the first NUL), or undefined when the family is not AF_UNIX. */
export function decodeSockaddrUn(address: Uint8Array): string | undefined {
  if (address.length < 3 || new DataView(address.buffer, address.byteOffset, address.byteLength).getUint16(0, true) !== AF_UNIX) return undefined;
  const path = address.subarray(2);
  const end = path.indexOf(0);
  return Buffer.from(end < 0 ? path : path.subarray(0, end)).toString("utf8");
}
