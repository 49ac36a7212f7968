// TAP devices through ioctl on /dev/net/tun: persistent create/delete (like vde_tunctl) and attaching for a plug.
import { BenitoError, ExitCode, InputError } from "../errors";
import { interfaceNameProblems } from "../model/names";
import { check, libc, SystemCallError } from "./libc";
import { interfaceIndex } from "./ifindex";
import { O_CLOEXEC, O_NONBLOCK, O_RDWR } from "./libc-constants";
import { openInNamespace, type NamespaceRef } from "./netns-open";


// <linux/if_tun.h> and <linux/sockios.h> values (identical on x86-64 and arm64).
const TUNSETIFF = 0x400454ca;
const TUNSETPERSIST = 0x400454cb;
const TUNSETOWNER = 0x400454cc;
const TUNSETGROUP = 0x400454ce;
const SIOCSIFHWADDR = 0x8924;
const IFF_TAP = 0x0002;
const IFF_NO_PI = 0x1000;
const ARPHRD_ETHER = 1;
/** sizeof(struct ifreq). */
const ifreqSize = 40;

/** TapOptions interface: what `benito tap create` may set besides the name. */
export interface TapOptions {
  /** Numeric user allowed to attach to the TAP without privileges (TUNSETOWNER). */
  readonly owner?: number;
  /** Numeric group allowed to attach (TUNSETGROUP). */
  readonly group?: number;
  /** MAC address, six bytes. */
  readonly mac?: Uint8Array;
  /**
   * Work done while a new TAP exists only through this call's fd, before it is made persistent
   * (e.g. marking it as benito's): a crash in between leaves no TAP, never an unmarked one.
   */
  readonly beforePersist?: () => void;
  /** The network namespace the TAP is in (the caller's own when undefined). */
  readonly netns?: NamespaceRef;
}

/** Throws an InputError (exit 3) unless the name is a valid interface name. */
export function validateInterfaceName(name: string): void {
  const problems = interfaceNameProblems(name);
  if (problems.length > 0) throw new InputError("checking the interface name", JSON.stringify(name), problems.join("; "));
}

/**
 * Parses a MAC address written as six colon- (or dash-) separated hex bytes.
 *
 * @throws InputError when the text is not a unicast MAC address.
 */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((part) => !/^[0-9a-fA-F]{1,2}$/.test(part))) {
    throw new InputError("reading the MAC address", JSON.stringify(text), "expected six hex bytes like 02:00:0a:01:01:02");
  }
  const bytes = Uint8Array.from(parts, (part) => Number.parseInt(part, 16));
  if (((bytes[0] ?? 0) & 1) === 1) throw new InputError("reading the MAC address", text, "the address is a multicast address (lowest bit of the first byte set)");
  return bytes;
}

function ifreq(name: string): Uint8Array {
  const request = new Uint8Array(ifreqSize);
  request.set(Buffer.from(name, "utf8"));
  return request;
}

/** Words for a failed TAP system call (busy, not a TAP, no /dev/net/tun …), naming the device. */
export function describeTapError(error: unknown, name: string): string {
  if (!(error instanceof SystemCallError)) return String(error);
  if (error.call === "ioctl(TUNSETIFF)" && error.errno === 22) return `${name} exists and is not a TAP device (or is a TUN device)`;
  if (error.call === "ioctl(TUNSETIFF)" && error.errno === 16) return `${name} is in use by another process`;
  if (error.call === "open(/dev/net/tun)" && error.errno === 2) return "/dev/net/tun is missing (load the tun module)";
  return error.message;
}

/**
 * Opens /dev/net/tun and binds the fd to TAP NAME (created if absent, non-persistent then), in
 * `netns` when given: the tun file takes the namespace of whoever opens it (drivers/net/tun.c,
 * tun_chr_open), and TUNSETIFF looks the name up and makes the TAP in that namespace, so only the
 * open runs inside it (netns-open.ts), the ioctls from the caller's own namespace.
 * The fd is close-on-exec; nonblocking when asked (the plug wants that).
 *
 * @returns The open file descriptor; the caller closes it.
 */
export function attachTap(name: string, nonblocking = false, netns?: NamespaceRef): number {
  validateInterfaceName(name);
  const fd = openInNamespace(netns, "/dev/net/tun", O_RDWR | O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0));
  try {
    const request = ifreq(name);
    new DataView(request.buffer).setUint16(16, IFF_TAP | IFF_NO_PI, true);
    check("ioctl(TUNSETIFF)", libc.ioctl(fd, TUNSETIFF, request));
    return fd;
  } catch (error) {
    libc.close(fd);
    throw error;
  }
}

/** True when an interface of that name exists in the current network namespace, or in `netns`. */
export function interfaceExists(name: string, netns?: NamespaceRef): boolean {
  return interfaceIndex(name, netns) !== 0;
}

/**
 * Creates (or updates) a persistent TAP device, like `vde_tunctl [-u UID] [-g GID] -t NAME`.
 *
 * @returns "created" or "updated" (the TAP existed already and its settings were applied again).
 */
export function createTap(name: string, options: TapOptions = {}): "created" | "updated" {
  validateInterfaceName(name);
  const existed = interfaceExists(name, options.netns);
  let fd = -1;
  try {
    fd = attachTap(name, false, options.netns);
    if (options.owner !== undefined) check("ioctl(TUNSETOWNER)", libc.ioctl(fd, TUNSETOWNER, options.owner));
    if (options.group !== undefined) check("ioctl(TUNSETGROUP)", libc.ioctl(fd, TUNSETGROUP, options.group));
    if (options.mac !== undefined) {
      const request = ifreq(name);
      const view = new DataView(request.buffer);
      view.setUint16(16, ARPHRD_ETHER, true);
      request.set(options.mac, 18);
      check("ioctl(SIOCSIFHWADDR)", libc.ioctl(fd, SIOCSIFHWADDR, request));
    }
    options.beforePersist?.();
    check("ioctl(TUNSETPERSIST)", libc.ioctl(fd, TUNSETPERSIST, 1));
    return existed ? "updated" : "created";
  } catch (error) {
    // A TAP this call created must not survive a failed setting half-configured.
    if (fd >= 0 && !existed) libc.ioctl(fd, TUNSETPERSIST, 0);
    throw new BenitoError("creating the TAP device", name, describeTapError(error, name), ExitCode.failed, [], { cause: error });
  } finally {
    if (fd >= 0) libc.close(fd);
  }
}

/** Deletes a persistent TAP device (clears TUNSETPERSIST; the kernel removes it when the fd closes), in `netns` when given. */
export function deleteTap(name: string, netns?: NamespaceRef): void {
  validateInterfaceName(name);
  if (!interfaceExists(name, netns)) throw new BenitoError("deleting the TAP device", name, "no such interface");
  let fd = -1;
  try {
    fd = attachTap(name, false, netns);
    check("ioctl(TUNSETPERSIST)", libc.ioctl(fd, TUNSETPERSIST, 0));
  } catch (error) {
    throw new BenitoError("deleting the TAP device", name, describeTapError(error, name), ExitCode.failed, [], { cause: error });
  } finally {
    if (fd >= 0) libc.close(fd);
  }
}
