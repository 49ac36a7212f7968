// The guest config disk: CONFIG_DIR plus the guest's own hostname, as one ustar archive on a read-only virtio disk.
import { readUstar, writeUstar, type ArchiveEntry } from "./ustar";
import { InputError } from "../errors";

/**
 * The member that names the guest (its hostname, one line). The pnode writes it; the guest
 * reads it instead of guessing from DHCP or the kernel command line.
 */
export const hostnameMember = ".benito/hostname";

/** The disk serial the guest finds the config disk by (/sys/block/vdX/serial). */
export const configDiskSerial = "benito-config";

/** What a guest hostname may look like (the pnode refuses other element names for VMs). */
export const hostNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** GuestConfig interface: what the config disk holds. */
export interface GuestConfig {
  /** The guest's hostname (the TopDL element's name). */
  readonly hostname: string;
  /** The config folder's files and folders, relative paths. */
  readonly entries: readonly ArchiveEntry[];
}

/** Builds the disk image bytes (a whole number of 512-byte sectors). */
export function buildConfigDisk(config: GuestConfig): Uint8Array {
  const own = config.entries.filter((entry) => !entry.name.startsWith(".benito"));
  return writeUstar([{ kind: "dir", name: ".benito" }, { kind: "file", name: hostnameMember, data: new TextEncoder().encode(`${config.hostname}\n`) }, ...own]);
}

/** Reads a config disk's bytes back; throws when it holds no hostname. */
export function readConfigDisk(bytes: Uint8Array): GuestConfig {
  const all = readUstar(bytes);
  const named = all.find((entry) => entry.kind === "file" && entry.name === hostnameMember);
  if (named === undefined || named.kind !== "file") throw new InputError("reading the config disk", "its archive", `the archive has no ${hostnameMember}`);
  const hostname = new TextDecoder().decode(named.data).trim();
  if (!hostNamePattern.test(hostname)) throw new InputError("reading the config disk", hostnameMember, `it holds "${hostname}", not a host name`);
  return { hostname, entries: all.filter((entry) => entry.name !== ".benito" && !entry.name.startsWith(".benito/")) };
}
