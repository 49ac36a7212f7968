// Parses site.conf: ConfigParser-style INI whose keys may sit before any section, in [DEFAULT], [benito] or [containers].
import { InputError } from "../errors";

/** One key's value and where it was written. */
export interface SiteValue {
  /** The value, trimmed. */
  readonly value: string;
  /** 1-based line number in site.conf. */
  readonly line: number;
}

/** SiteConf interface: the keys benito reads from site.conf (lower-cased names). */
export interface SiteConf {
  /** The file it came from (for messages), or "" when absent. */
  readonly file: string;
  /** Every key benito reads, lower-cased. */
  readonly values: ReadonlyMap<string, SiteValue>;
}

/** The sections whose keys benito reads; all are read the same (domain notes §2). */
const readSections = new Set(["", "default", "benito", "containers"]);

/**
 * Parses site.conf text. Keys in other sections are ignored; a later key overrides an earlier
 * one, as ConfigParser does. Lines that are neither comments, sections nor `key = value` (or
 * `key: value`) are input errors naming the line.
 */
export function parseSiteConf(text: string, file: string): SiteConf {
  const values = new Map<string, SiteValue>();
  const problems: string[] = [];
  let section = "";
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = (header[1] ?? "").trim().toLowerCase();
      return;
    }
    const pair = /^([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(line);
    if (!pair) {
      problems.push(`${file}:${index + 1}: not "key = value": ${JSON.stringify(line)}`);
      return;
    }
    if (!readSections.has(section)) return;
    values.set((pair[1] ?? "").toLowerCase(), { value: (pair[2] ?? "").trim(), line: index + 1 });
  });
  if (problems.length > 0) throw new InputError("reading the site configuration", file, `${problems.length} bad line(s)`, problems);
  return { file, values };
}

/** An empty SiteConf, for a config folder without site.conf. */
export function emptySiteConf(): SiteConf {
  return { file: "", values: new Map() };
}

/** Returns a key's value (undefined when absent or empty). */
export function siteValue(conf: SiteConf, key: string): string | undefined {
  const entry = conf.values.get(key.toLowerCase());
  return entry === undefined || entry.value === "" ? undefined : entry.value;
}
