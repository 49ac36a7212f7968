// A folder of JSON records, one per thing benito started (switch daemons, tunnels): read, written atomically, removed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { removeEmptyDir } from "./paths";
import { writeFileAtomic } from "./state-files";

/**
 * Reads every `ID.json` record in a folder, in name order. A file that does not parse, or that
 * `isRecord` rejects (its `id` must also match its file name), is not benito's and is ignored.
 */
export function readRecordFolder<T extends { readonly id: string }>(dir: string, isRecord: (value: T) => boolean): T[] {
  if (!existsSync(dir)) return [];
  const records: T[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith(".json")) continue;
    try {
      const record = JSON.parse(readFileSync(join(dir, name), "utf8")) as T;
      if (typeof record.id === "string" && `${record.id}.json` === name && isRecord(record)) records.push(record);
    } catch {
      // A half-written or foreign file: not a record.
    }
  }
  return records;
}

/** Writes one record as `dir/ID.json`, atomically (a reader never sees half of it). */
export function writeRecordFile(dir: string, record: { readonly id: string }): void {
  writeFileAtomic(join(dir, `${record.id}.json`), `${JSON.stringify(record, null, 2)}\n`);
}

/** Removes the record folder once nothing is left in it (a folder still holding files stays). */
export function removeRecordFolder(dir: string): void {
  try {
    removeEmptyDir(dir);
  } catch {
    // Not empty: what is left is reported by the caller's outcomes, not here.
  }
}
