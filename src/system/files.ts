// File access for the upper layers: bounded reads with errors that name the file.
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { BenitoError, ExitCode, messageOf } from "../errors";
import { optimizeForInput } from "./jit";

/** Default upper bound for input files (TopDL, route files): 64 MiB. */
export const defaultMaxBytes = 64 * 1024 * 1024;

/**
 * Reads a whole file as bytes, refusing files larger than maxBytes. At most maxBytes + 1 bytes
 * are ever read, whatever the file's size claims (/dev/zero and /proc files say 0), and anything
 * that is not a regular file (a FIFO, device, directory or socket) is refused before it is read:
 * it could block or never end. "-" reads standard input, up to the same limit. Exit 1 for a file
 * that cannot be read (missing, unreadable, not a regular file), 3 for one over the limit.
 *
 * @param path The file, or "-" for standard input.
 * @param doing What the read is for, for the error message ("reading the topology").
 * @param maxBytes The size limit.
 */
export async function readFileBytes(path: string, doing: string, maxBytes = defaultMaxBytes): Promise<Uint8Array> {
  const bytes = await readBytes(path, doing, maxBytes);
  optimizeForInput(bytes.length);
  return bytes;
}

async function readBytes(path: string, doing: string, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (size: string): BenitoError =>
    new BenitoError(doing, path, `file is ${size} bytes, larger than the limit of ${maxBytes} (raise it with --max-bytes)`, ExitCode.input);
  if (path === "-") return readStandardInput(maxBytes, () => tooLarge(`more than ${maxBytes}`));
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO without a writer would otherwise wait for one.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    // A socket cannot be opened at all (ENXIO): say what it is instead.
    const stats = (error as { code?: string }).code === "ENXIO" ? statOrUndefined(path) : undefined;
    throw new BenitoError(doing, path, stats !== undefined ? `is ${kindOf(stats)}, not a regular file` : describeFsError(error), ExitCode.failed);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new BenitoError(doing, path, `is ${kindOf(stats)}, not a regular file`, ExitCode.failed);
    if (stats.size > maxBytes) throw tooLarge(String(stats.size));
    // The size is a hint: the file may have grown since, so read on until end of file or the limit.
    let buffer = new Uint8Array(Math.min(stats.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw tooLarge(`more than ${maxBytes}`);
        const grown = new Uint8Array(Math.min(Math.max(buffer.length * 2, 65536), maxBytes + 1));
        grown.set(buffer);
        buffer = grown;
      }
      let got: number;
      try {
        got = readSync(fd, buffer, length, buffer.length - length, null);
      } catch (error) {
        throw new BenitoError(doing, path, describeFsError(error), ExitCode.failed);
      }
      if (got === 0) break;
      length += got;
    }
    if (length > maxBytes) throw tooLarge(`more than ${maxBytes}`);
    return length === buffer.length ? buffer : buffer.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

/** Standard input, up to maxBytes (one byte more is refused with tooLarge()). */
async function readStandardInput(maxBytes: number, tooLarge: () => BenitoError): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = Bun.stdin.stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.length;
      if (length > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** What a non-regular file is, in words ("a FIFO"). */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  return "not a file";
}

/** Reads a file as UTF-8 text, or returns undefined when it does not exist. */
export async function readOptionalText(path: string, doing: string, maxBytes = defaultMaxBytes): Promise<string | undefined> {
  if (!(await Bun.file(path).exists())) return undefined;
  return new TextDecoder().decode(await readFileBytes(path, doing, maxBytes));
}

/**
 * True when the path exists (file or directory). A plain stat(2): Bun's asynchronous stat goes
 * through a worker thread, which on a busy machine cost up to a millisecond per call (a vnode's
 * boot asks about seven times).
 */
export async function pathExists(path: string): Promise<boolean> {
  return statOrUndefined(path) !== undefined;
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory, not a regular file";
  if (code === "ENOTDIR") return "a part of the path is not a directory";
  if (code === "ELOOP") return "too many symbolic links";
  return messageOf(error);
}
