// Rewrites a system file (e.g. /etc/hosts) whole: atomically by rename when possible, keeping its mode.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { BenitoError, ExitCode, messageOf } from "../errors";
import { writeFileAtomic } from "./state-files";

/** Reads a file's text, or "" when it does not exist. */
export function readTextOrEmpty(path: string, doing: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return "";
    throw new BenitoError(doing, path, messageOf(error), ExitCode.failed);
  }
}

/**
 * Replaces a file's content. Writes a temporary file beside it and renames it over the old one
 * (readers never see half a file), keeping the old mode. When the file is a bind mount (as
 * /etc/hosts is in containers) rename fails with EBUSY; then it is rewritten in place.
 */
export function replaceFile(path: string, content: string, doing: string): void {
  let mode = 0o644;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch {
    // A new file gets 0644.
  }
  try {
    try {
      writeFileAtomic(path, content, { mode, makeFolder: false });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "EBUSY" && code !== "EXDEV") throw error;
      writeFileSync(path, content);
    }
  } catch (error) {
    throw new BenitoError(doing, path, messageOf(error), ExitCode.failed);
  }
}
