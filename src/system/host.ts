// Facts about the machine benito runs on: its hostname and whether it runs as root.

/**
 * The kernel's hostname (uname nodename), as set at boot. node:os is loaded here, on first use:
 * importing it costs every start about half a millisecond, and most runs name their host.
 */
export function kernelHostName(): string {
  const os: typeof import("node:os") = require("node:os");
  return os.hostname();
}

/** True when running as root (uid 0). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}
