// Parses and checks site.conf: ConfigParser-style INI whose keys may sit before any section, in [DEFAULT], [benito] or [containers].
import { InputError } from "../errors";
import { didYouMean } from "../nearest";
import { formatProblem } from "../topdl/problems";
import type { Problem } from "../topdl/types";
import type { DefaultRouteSetting } from "../model/route-file";

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

/** SiteConfCheck interface: the parsed file and what is wrong with it. */
export interface SiteConfCheck {
  readonly conf: SiteConf;
  /** Lines that are not INI, keys given twice with different values. */
  readonly errors: readonly Problem[];
  /** Unknown keys (each naming the nearest known key); errors under `boot --strict`. */
  readonly warnings: readonly Problem[];
}

/** Every key benito reads from site.conf (docs/config.md, "site.conf keys"). */
export const knownSiteKeys: readonly string[] = [
  "default_router",
  "default_dest",
  "control_bridge",
  "control_iface",
  "control_pool",
  "control_mac_prefix",
  "tunnel_mode",
  "underlay_substrate",
  "tunnel_group",
  "tunnel_port",
  "tunnel_mtu",
  "qemu_binary",
  "qemu_cpu",
  "datapath",
  "netem",
];

/** The sections whose keys benito reads; all are read the same (domain notes §2). */
const readSections = new Set(["", "default", "benito", "containers"]);

/** A control character other than tab, or U+FFFD (what invalid UTF-8 decodes to): the line is not text. */
const notText = /[\u0000-\u0008\u000a-\u001f\u007f\ufffd]/;

/**
 * Checks site.conf text. Keys in other sections are other tools' and are ignored. A key given
 * twice (in one section or two of the sections benito reads) must give the same value;
 * ConfigParser would take the last silently, which hides a mistake.
 */
export function checkSiteConf(text: string, file: string): SiteConfCheck {
  const values = new Map<string, SiteValue>();
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const problem = (line: number, message: string, path = "") => ({ file, line, path, message });
  let section = "";
  text.split(/\r?\n/).forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    if (notText.test(raw)) {
      errors.push(problem(lineNumber, "not text (control characters or invalid UTF-8)"));
      return;
    }
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = (header[1] ?? "").trim().toLowerCase();
      return;
    }
    const pair = /^([^=:\s[\]][^=:]*?)\s*[=:]\s*(.*)$/.exec(line);
    if (!pair) {
      errors.push(problem(lineNumber, `not "key = value" or "[section]": ${JSON.stringify(line)}`));
      return;
    }
    if (!readSections.has(section)) return;
    const key = (pair[1] ?? "").toLowerCase();
    const value = (pair[2] ?? "").trim();
    const path = section === "" ? key : `[${section}] ${key}`;
    const earlier = values.get(key);
    if (earlier !== undefined && earlier.value !== value) {
      errors.push(problem(lineNumber, `${JSON.stringify(value)} disagrees with ${JSON.stringify(earlier.value)} given on line ${earlier.line} (benito reads every section the same)`, path));
      return;
    }
    if (!knownSiteKeys.includes(key)) warnings.push(problem(lineNumber, `unknown key "${key}"${didYouMean(key, knownSiteKeys)}`, path));
    values.set(key, { value, line: lineNumber });
  });
  return { conf: { file, values }, errors, warnings };
}

/**
 * Parses site.conf text, throwing InputError (with file:line) for every error; unknown keys are
 * left to the validator to report as warnings.
 */
export function parseSiteConf(text: string, file: string): SiteConf {
  const { conf, errors } = checkSiteConf(text, file);
  if (errors.length > 0) throw new InputError("reading the site configuration", file, `${errors.length} bad line(s)`, errors.map(formatProblem));
  return conf;
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

/** The default-route keys (`default_router`, `default_dest`) with their lines, for the route planner. */
export function defaultRouteSetting(conf: SiteConf): DefaultRouteSetting {
  const entry = (key: string) => {
    const found = conf.values.get(key);
    return found === undefined || found.value === "" ? undefined : { value: found.value, line: found.line };
  };
  const router = entry("default_router");
  const dest = entry("default_dest");
  return { file: conf.file, ...(router !== undefined && { router }), ...(dest !== undefined && { dest }) };
}
