// IPv4 sysctls benito sets (per interface, and forwarding) (through /proc/sys, which follows the caller's network namespace).
import { readFileSync, writeFileSync } from "node:fs";
import { BenitoError, ExitCode, messageOf } from "../errors";

/**
 * Sets net.ipv4.conf.IF.promote_secondaries = 1: when a primary address is deleted, the kernel
 * then promotes a secondary address of the same subnet instead of deleting them all. benito sets it
 * before removing its own address from a NIC that also carries others' addresses in that subnet.
 */
export function enablePromoteSecondaries(ifname: string): void {
  // Kernel interface names never contain "/" (and "."/".." are refused), so the path stays in /proc/sys.
  if (ifname === "" || ifname.includes("/") || ifname === "." || ifname === "..") throw new BenitoError("setting promote_secondaries", ifname, "not an interface name", ExitCode.failed);
  try {
    writeFileSync(`/proc/sys/net/ipv4/conf/${ifname}/promote_secondaries`, "1\n");
  } catch (error) {
    throw new BenitoError("setting promote_secondaries", ifname, messageOf(error), ExitCode.failed);
  }
}

/** The namespace's IPv4 forwarding switch (/proc/sys follows the caller's network namespace). */
const forwardingPath = "/proc/sys/net/ipv4/ip_forward";

/** True when IPv4 forwarding (net.ipv4.ip_forward) is on in this network namespace. */
export function ipForwarding(): boolean {
  try {
    return readFileSync(forwardingPath, "utf8").trim() === "1";
  } catch (error) {
    throw new BenitoError("reading net.ipv4.ip_forward", forwardingPath, messageOf(error), ExitCode.failed);
  }
}

/** Turns IPv4 forwarding on in this network namespace (a node that routes between its LANs). */
export function enableIpForwarding(): void {
  try {
    writeFileSync(forwardingPath, "1\n");
  } catch (error) {
    throw new BenitoError("turning on net.ipv4.ip_forward", forwardingPath, messageOf(error), ExitCode.failed);
  }
}
