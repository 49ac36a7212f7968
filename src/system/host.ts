// Facts about the machine benito runs on: its hostname and whether it runs as root.
import { hostname } from "node:os";

/** The kernel's hostname (uname nodename), as set at boot. */
export function kernelHostName(): string {
  return hostname();
}

/** True when running as root (uid 0). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
