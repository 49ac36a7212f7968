// File access for the upper layers: bounded reads with errors that name the file.
import { BenitoError, ExitCode, messageOf } from "../errors";

/** Default upper bound for input files (TopDL, route files): 64 MiB. */
export const defaultMaxBytes = 64 * 1024 * 1024;

/**
 * Reads a whole file as bytes, refusing files larger than maxBytes.
 *
 * @param path The file.
 * @param doing What the read is for, for the error message ("reading the topology").
 * @param maxBytes The size limit.
 */
export async function readFileBytes(path: string, doing: string, maxBytes = defaultMaxBytes): Promise<Uint8Array> {
  const file = Bun.file(path);
  let size: number;
  try {
    size = (await file.stat()).size;
  } catch (error) {
    throw new BenitoError(doing, path, describeFsError(error), ExitCode.input);
  }
  if (size > maxBytes) {
    throw new BenitoError(doing, path, `file is ${size} bytes, larger than the limit of ${maxBytes} (raise it with --max-bytes)`, ExitCode.input);
  }
  try {
    return await file.bytes();
  } catch (error) {
    throw new BenitoError(doing, path, describeFsError(error), ExitCode.input);
  }
}

/** Reads a file as UTF-8 text, or returns undefined when it does not exist. */
export async function readOptionalText(path: string, doing: string, maxBytes = defaultMaxBytes): Promise<string | undefined> {
  if (!(await Bun.file(path).exists())) return undefined;
  return new TextDecoder().decode(await readFileBytes(path, doing, maxBytes));
}

/** True when the path exists (file or directory). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Bun.file(path).stat();
    return true;
  } catch {
    return false;
  }
}

function describeFsError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "is a directory, not a file";
  return messageOf(error);
}
