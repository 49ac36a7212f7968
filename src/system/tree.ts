// Reads a folder tree into archive entries and writes entries back under a folder, never following links out of it.
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BenitoError, ExitCode } from "../errors";
import { isSafeMemberName, type ArchiveEntry } from "../guest/ustar";

/**
 * Every folder and regular file under dir (relative paths, sorted, so the same folder gives
 * the same archive). Symbolic links and special files are skipped: a link could point outside.
 *
 * @param maxBytes Refuses trees whose files add up to more than this.
 */
export function readTree(dir: string, maxBytes = 64 * 1024 * 1024): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  let total = 0;
  const walk = (relative: string) => {
    let names: string[];
    try {
      names = readdirSync(join(dir, relative)).sort();
    } catch (error) {
      throw new BenitoError("reading the config folder", join(dir, relative), (error as Error).message, ExitCode.input);
    }
    for (const name of names) {
      const path = relative === "" ? name : `${relative}/${name}`;
      const stat = lstatSync(join(dir, path));
      if (stat.isDirectory()) {
        entries.push({ kind: "dir", name: path });
        walk(path);
      } else if (stat.isFile()) {
        total += stat.size;
        if (total > maxBytes) throw new BenitoError("reading the config folder", dir, `its files add up to more than ${maxBytes} bytes`, ExitCode.input);
        entries.push({ kind: "file", name: path, data: readFileSync(join(dir, path)) });
      }
    }
  };
  walk("");
  return entries;
}

/** Writes entries under dir (made if absent); a member name that would leave dir is refused. */
export function writeTree(dir: string, entries: readonly ArchiveEntry[]): void {
  mkdirSync(dir, { recursive: true });
  for (const entry of entries) {
    if (!isSafeMemberName(entry.name)) throw new BenitoError("writing the config folder", dir, `refusing the member "${entry.name}": not a safe relative path`, ExitCode.input);
    const path = join(dir, entry.name);
    if (entry.kind === "dir") mkdirSync(path, { recursive: true });
    else {
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, entry.data, { mode: 0o644 });
    }
  }
}
