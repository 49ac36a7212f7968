// IPv4 sysctls benito sets (per interface, and forwarding) (through /proc/sys, whose net files belong to the namespace that opened them).
import { closeSync, readFileSync, writeFileSync } from "node:fs";
import { BenitoError, ExitCode, messageOf } from "../errors";
import { O_CLOEXEC, O_RDONLY, O_WRONLY } from "./libc-constants";
import { openInNamespace, type NamespaceRef } from "./netns-open";

/**
 * Reads or writes a /proc/sys file of the caller's namespace, or of `netns`: the file is opened
 * there (a /proc/sys/net file answers for the namespace of whoever opened it), and read or
 * written from the caller's own namespace (see netns-open.ts for why nothing else runs inside).
 */
function withSysctl<T>(netns: NamespaceRef | undefined, path: string, flags: number, work: (fd: number) => T): T {
  const fd = openInNamespace(netns, path, flags | O_CLOEXEC);
  try {
    return work(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Sets net.ipv4.conf.IF.promote_secondaries = 1: when a primary address is deleted, the kernel
 * then promotes a secondary address of the same subnet instead of deleting them all. benito sets it
 * before removing its own address from a NIC that also carries others' addresses in that subnet.
 */
export function enablePromoteSecondaries(ifname: string, netns?: NamespaceRef): void {
  // Kernel interface names never contain "/" (and "."/".." are refused), so the path stays in /proc/sys.
  if (ifname === "" || ifname.includes("/") || ifname === "." || ifname === "..") throw new BenitoError("setting promote_secondaries", ifname, "not an interface name", ExitCode.failed);
  try {
    withSysctl(netns, `/proc/sys/net/ipv4/conf/${ifname}/promote_secondaries`, O_WRONLY, (fd) => writeFileSync(fd, "1\n"));
  } catch (error) {
    throw new BenitoError("setting promote_secondaries", ifname, messageOf(error), ExitCode.failed);
  }
}

/** The namespace's IPv4 forwarding switch (/proc/sys follows the caller's network namespace). */
const forwardingPath = "/proc/sys/net/ipv4/ip_forward";

/** True when IPv4 forwarding (net.ipv4.ip_forward) is on in this network namespace, or in `netns`. */
export function ipForwarding(netns?: NamespaceRef): boolean {
  try {
    return withSysctl(netns, forwardingPath, O_RDONLY, (fd) => readFileSync(fd, "utf8")).trim() === "1";
  } catch (error) {
    throw new BenitoError("reading net.ipv4.ip_forward", forwardingPath, messageOf(error), ExitCode.failed);
  }
}

/** Turns IPv4 forwarding on in this network namespace, or in `netns` (a node that routes between its LANs). */
export function enableIpForwarding(netns?: NamespaceRef): void {
  try {
    withSysctl(netns, forwardingPath, O_WRONLY, (fd) => writeFileSync(fd, "1\n"));
  } catch (error) {
    throw new BenitoError("turning on net.ipv4.ip_forward", forwardingPath, messageOf(error), ExitCode.failed);
  }
}
