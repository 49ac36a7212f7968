// benito's record of the addresses it set (so a re-run replaces its own and leaves others alone), one file per network namespace.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { BenitoError, ExitCode, messageOf } from "../errors";
import { defaultRunDir } from "../model/run-dir";
import { writeFileAtomic } from "./state-files";

/** Where the records live by default: /run is emptied at boot, as the addresses are. */
export const defaultStateDir = defaultRunDir;

/** AddressRecord interface: one address benito set, on the NIC with this MAC. */
export interface AddressRecord {
  readonly mac: string;
  readonly address: string;
  readonly prefixLength: number;
}

/**
 * The state file for the current network namespace: `ifaces-net<INODE>.json`. /run is shared by
 * every namespace of a machine, so each namespace (a process vnode, a test) keeps its own record.
 */
export function ifacesStatePath(stateDir: string): string {
  let inode: number | bigint = 0;
  try {
    inode = statSync("/proc/self/ns/net").ino;
  } catch {
    // No /proc/self/ns (very old kernels, odd containers): one record for the machine.
  }
  return join(stateDir, `ifaces-net${inode}.json`);
}

/** Reads the records (none when the file is absent). */
export function readAddressRecords(path: string): AddressRecord[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return [];
    throw new BenitoError("reading benito's address records", path, messageOf(error), ExitCode.failed);
  }
  try {
    const parsed = JSON.parse(text) as { addresses?: unknown };
    if (!Array.isArray(parsed.addresses)) throw new Error("no addresses list");
    return parsed.addresses.filter(
      (entry): entry is AddressRecord => typeof entry?.mac === "string" && typeof entry?.address === "string" && typeof entry?.prefixLength === "number",
    );
  } catch (error) {
    throw new BenitoError("reading benito's address records", path, `not a benito record (${messageOf(error)}); delete it to start afresh`, ExitCode.failed);
  }
}

/** Writes the records atomically. */
export function writeAddressRecords(path: string, records: readonly AddressRecord[]): void {
  try {
    writeFileAtomic(path, `${JSON.stringify({ version: 1, addresses: records }, null, 1)}\n`);
  } catch (error) {
    throw new BenitoError("writing benito's address records", path, messageOf(error), ExitCode.failed);
  }
}
