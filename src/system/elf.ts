// Reads the few ELF header facts `benito install` checks: the machine a file is built for, and whether Bun's code section survived.
import { closeSync, openSync, readSync } from "node:fs";

/** The architectures benito is built for, by ELF e_machine. */
export type ElfArch = "x86-64" | "aarch64" | "other";

/** ElfFacts interface: what the header and section table say. */
export interface ElfFacts {
  /** The machine the file is built for. */
  readonly arch: ElfArch;
  /** The raw e_machine number (for messages about other machines). */
  readonly machine: number;
  /** The section names (empty when the file has no section table). */
  readonly sections: readonly string[];
}

const machines: Readonly<Record<number, ElfArch>> = { 62: "x86-64", 183: "aarch64" };

/** Maps `uname -m` / process.arch names onto ElfArch. */
export function archOfNodeArch(arch: string): ElfArch {
  if (arch === "x64" || arch === "x86_64") return "x86-64";
  if (arch === "arm64" || arch === "aarch64") return "aarch64";
  return "other";
}

/**
 * Parses an ELF file's header and section names from its bytes (64-bit little-endian only,
 * which is all benito targets); undefined when the bytes are not such a file.
 *
 * @param read Reads length bytes at offset (short reads at the end are fine).
 */
function parseElf(read: (offset: number, length: number) => Uint8Array): ElfFacts | undefined {
  const header = read(0, 64);
  if (header.length < 64 || header[0] !== 0x7f || header[1] !== 0x45 || header[2] !== 0x4c || header[3] !== 0x46) return undefined;
  // EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian.
  if (header[4] !== 2 || header[5] !== 1) return { arch: "other", machine: -1, sections: [] };
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const machine = view.getUint16(18, true);
  const arch = machines[machine] ?? "other";
  const shoff = Number(view.getBigUint64(40, true));
  const shentsize = view.getUint16(58, true);
  const shnum = view.getUint16(60, true);
  const shstrndx = view.getUint16(62, true);
  if (shoff === 0 || shentsize < 64 || shnum === 0 || shnum > 4096 || shstrndx >= shnum) return { arch, machine, sections: [] };
  const table = read(shoff, shentsize * shnum);
  if (table.length < shentsize * shnum) return { arch, machine, sections: [] };
  const tableView = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const entry = (index: number) => ({ name: tableView.getUint32(index * shentsize, true), offset: Number(tableView.getBigUint64(index * shentsize + 24, true)), size: Number(tableView.getBigUint64(index * shentsize + 32, true)) });
  const strings = entry(shstrndx);
  const names = read(strings.offset, Math.min(strings.size, 1 << 20));
  const sections: string[] = [];
  for (let index = 0; index < shnum; index++) {
    const start = entry(index).name;
    let end = start;
    while (end < names.length && names[end] !== 0) end++;
    sections.push(new TextDecoder().decode(names.subarray(start, end)));
  }
  return { arch, machine, sections };
}

/** Reads the ELF facts of a file; undefined when it is not a 64-bit ELF file or cannot be read. */
export function readElfFacts(path: string): ElfFacts | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    return parseElf((offset, length) => {
      const buffer = new Uint8Array(length);
      const got = readSync(fd, buffer, 0, length, offset);
      return buffer.subarray(0, got);
    });
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
