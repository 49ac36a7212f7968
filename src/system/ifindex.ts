// An interface's index by name, in the caller's network namespace or a named one (SIOCGIFINDEX on a socket made there).
import { libc } from "./libc";
import { AF_UNIX, SOCK_CLOEXEC, SOCK_DGRAM } from "./libc-constants";
import { socketInNamespace, type NamespaceRef } from "./netns-open";

/** <linux/sockios.h>: the index of the interface named in the ifreq, in the socket's namespace. */
const SIOCGIFINDEX = 0x8933;
/** sizeof(struct ifreq); the index is the int at offset 16. */
const ifreqSize = 40;

/**
 * The index of the interface NAME in the caller's namespace, or in `netns` (asked through a
 * socket made there: an interface ioctl answers for the socket's namespace, whichever thread asks,
 * so the calling thread is in the namespace only for the socket() call, see netns-open.ts).
 * 0 when there is none (any refusal counts as none, as with if_nametoindex).
 */
export function interfaceIndex(name: string, netns?: NamespaceRef): number {
  const bytes = Buffer.from(name, "utf8");
  // At most 15 bytes (IFNAMSIZ - 1) and no NUL: no other name can exist.
  if (bytes.length === 0 || bytes.length > 15 || bytes.includes(0)) return 0;
  const request = new Uint8Array(ifreqSize);
  request.set(bytes);
  const socket = socketInNamespace(netns, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, "socket(AF_UNIX)");
  try {
    if (libc.ioctl(socket, SIOCGIFINDEX, request) !== 0) return 0;
    return new DataView(request.buffer).getInt32(16, true);
  } finally {
    libc.close(socket);
  }
}
