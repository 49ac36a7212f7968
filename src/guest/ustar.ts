// A minimal ustar archive writer and reader: the guest config disk's format, readable without any filesystem driver.
import { InputError } from "../errors";

/** One archive member: a folder or a regular file, by relative path. */
export type ArchiveEntry = { readonly kind: "dir"; readonly name: string } | { readonly kind: "file"; readonly name: string; readonly data: Uint8Array };

const block = 512;

/** A problem with an archive's content or a member's name (exit 3): the archive is input. */
function archiveError(reason: string): InputError {
  return new InputError("reading or writing the config archive (ustar)", "the config disk", reason);
}
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** True when a member name is a safe relative path (no "/" at the start, no "." or ".." part, no NUL). */
export function isSafeMemberName(name: string): boolean {
  if (name === "" || name.startsWith("/") || name.includes("\0")) return false;
  return name.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

function putString(header: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw archiveError(`"${text}" is longer than ${length} bytes`);
  header.set(bytes, offset);
}

function putOctal(header: Uint8Array, offset: number, length: number, value: number): void {
  putString(header, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}

/** Splits a long name into ustar's prefix (155) and name (100) fields at a "/". */
function splitName(name: string): [string, string] {
  if (encoder.encode(name).length <= 100) return ["", name];
  for (let cut = name.lastIndexOf("/"); cut > 0; cut = name.lastIndexOf("/", cut - 1)) {
    const prefix = name.slice(0, cut);
    const rest = name.slice(cut + 1);
    if (encoder.encode(prefix).length <= 155 && encoder.encode(rest).length <= 100) return [prefix, rest];
  }
  throw archiveError(`the path "${name}" is too long for a ustar archive`);
}

/** Writes entries as a ustar archive (512-byte blocks, two zero blocks at the end): a whole number of disk sectors. */
export function writeUstar(entries: readonly ArchiveEntry[]): Uint8Array {
  let total = 2 * block;
  for (const entry of entries) total += block + (entry.kind === "file" ? Math.ceil(entry.data.length / block) * block : 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const entry of entries) {
    if (!isSafeMemberName(entry.name)) throw archiveError(`"${entry.name}" is not a safe relative path`);
    const header = out.subarray(offset, offset + block);
    const [prefix, name] = splitName(entry.kind === "dir" ? `${entry.name}/` : entry.name);
    putString(header, 0, 100, name);
    putOctal(header, 100, 8, entry.kind === "dir" ? 0o755 : 0o644);
    putOctal(header, 108, 8, 0);
    putOctal(header, 116, 8, 0);
    putOctal(header, 124, 12, entry.kind === "file" ? entry.data.length : 0);
    putOctal(header, 136, 12, 0);
    header.fill(0x20, 148, 156);
    header[156] = entry.kind === "dir" ? 0x35 : 0x30;
    putString(header, 257, 6, "ustar\0");
    putString(header, 263, 2, "00");
    putString(header, 345, 155, prefix);
    const sum = header.reduce((acc, byte) => acc + byte, 0);
    putString(header, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    offset += block;
    if (entry.kind === "file") {
      out.set(entry.data, offset);
      offset += Math.ceil(entry.data.length / block) * block;
    }
  }
  return out;
}

function getString(header: Uint8Array, offset: number, length: number): string {
  const field = header.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

function getOctal(header: Uint8Array, offset: number, length: number): number {
  const text = getString(header, offset, length).trim();
  if (!/^[0-7]*$/.test(text)) throw archiveError(`bad number field "${text}"`);
  return text === "" ? 0 : Number.parseInt(text, 8);
}

/**
 * Reads a ustar archive (trailing bytes after the end blocks, e.g. disk padding, are ignored).
 * Throws on a bad checksum, an unsafe member name, or a member type other than file/folder.
 */
export function readUstar(bytes: Uint8Array): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  for (let offset = 0; offset + block <= bytes.length; ) {
    const header = bytes.subarray(offset, offset + block);
    if (header.every((byte) => byte === 0)) break;
    if (getString(header, 257, 6) !== "ustar") throw archiveError(`no ustar header at byte ${offset}`);
    const stored = getOctal(header, 148, 8);
    let sum = 0;
    for (let i = 0; i < block; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    if (sum !== stored) throw archiveError(`bad header checksum at byte ${offset}`);
    const prefix = getString(header, 345, 155);
    const name = (prefix === "" ? "" : `${prefix}/`) + getString(header, 0, 100);
    const type = String.fromCharCode(header[156] ?? 0);
    const size = getOctal(header, 124, 12);
    offset += block;
    const clean = name.replace(/\/+$/, "");
    if (!isSafeMemberName(clean)) throw archiveError(`unsafe member name "${name}"`);
    if (type === "5") entries.push({ kind: "dir", name: clean });
    else if (type === "0" || type === "\0") {
      if (offset + size > bytes.length) throw archiveError(`member "${name}" is cut short`);
      entries.push({ kind: "file", name: clean, data: bytes.slice(offset, offset + size) });
    } else throw archiveError(`member "${name}" has type "${type}": only files and folders are read`);
    offset += Math.ceil(size / block) * block;
  }
  return entries;
}
