// Trims a long-running plug's resident set: pages of read-only file mappings that start-up touched are let go.
import { readFileSync } from "node:fs";
import { libc } from "../libc";
import { MADV_DONTNEED } from "../libc-constants";

/** One mapping from /proc/self/smaps. */
interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly perms: string;
  readonly path: string;
  anonymousKb: number;
}

function mappings(smaps: string): Mapping[] {
  const list: Mapping[] = [];
  let current: Mapping | undefined;
  for (const line of smaps.split("\n")) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      current = { start: Number.parseInt(header[1] ?? "0", 16), end: Number.parseInt(header[2] ?? "0", 16), perms: header[3] ?? "", path: header[4] ?? "", anonymousKb: 0 };
      list.push(current);
      continue;
    }
    const anonymous = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anonymous && current) current.anonymousKb = Number(anonymous[1]);
  }
  return list;
}

/**
 * Drops from this process's page tables the pages of its read-only file mappings (the compiled
 * binary's code and constants, shared libraries) that hold no private copy. Such pages are
 * exactly the file's contents and stay in the page cache, so whatever the forwarding loop
 * touches faults straight back in (a minor fault), while the ~30 MB of the binary that only
 * start-up touched no longer count against the plug's resident set.
 *
 * Mappings with any private (copy-on-write) page are left alone: dropping those would lose the
 * changes (e.g. relocated read-only data). Failures are ignored: this changes accounting only.
 */
export function trimResidentSet(): void {
  let smaps: string;
  try {
    smaps = readFileSync("/proc/self/smaps", "utf8");
  } catch {
    return;
  }
  for (const mapping of mappings(smaps)) {
    if (!mapping.path.startsWith("/") || mapping.perms.includes("w") || mapping.anonymousKb !== 0) continue;
    libc.madvise(mapping.start, mapping.end - mapping.start, MADV_DONTNEED);
  }
}
