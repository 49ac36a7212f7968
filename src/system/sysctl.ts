// Per-interface IPv4 sysctls benito sets (through /proc/sys, which follows the caller's network namespace).
import { writeFileSync } from "node:fs";
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
