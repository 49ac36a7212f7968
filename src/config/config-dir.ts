// Finds the per-experiment config folder and the files in it.
import { join } from "node:path";
import { BenitoError } from "../errors";
import { pathExists, readOptionalText } from "../system/files";
import { kernelHostName } from "../system/host";
import { normalizeHostName } from "./host-identity";
import { checkSiteConf, emptySiteConf, parseSiteConf, type SiteConf, type SiteConfCheck } from "./site-conf";

/** Where the config folder is when none is given (domain notes §2). */
export const defaultConfigDir = "/var/benito/config";
/** The Containers-era location, tried when the default is absent. */
export const legacyConfigDir = "/var/containers/config";

/**
 * Resolves the config folder: the argument when given, else /var/benito/config, else
 * /var/containers/config.
 */
export async function resolveConfigDir(argument: string | undefined): Promise<string> {
  if (argument !== undefined) {
    if (!(await pathExists(argument))) throw new BenitoError("finding the config folder", argument, "no such folder");
    return argument;
  }
  if (await pathExists(defaultConfigDir)) return defaultConfigDir;
  if (await pathExists(legacyConfigDir)) return legacyConfigDir;
  throw new BenitoError("finding the config folder", defaultConfigDir, `neither ${defaultConfigDir} nor ${legacyConfigDir} exists; pass CONFIG_DIR`);
}

/** The host name to act as: the argument when given, else the kernel hostname cut at the first dot. */
export function resolveHostName(argument: string | undefined): string {
  if (argument !== undefined) return normalizeHostName(argument, "the HOSTNAME argument");
  return normalizeHostName(kernelHostName(), "the kernel hostname");
}

/** Reads CONFIG_DIR/site.conf, or an empty configuration when the file is absent. */
export async function loadSiteConf(configDir: string): Promise<SiteConf> {
  const path = join(configDir, "site.conf");
  const text = await readOptionalText(path, "reading the site configuration");
  return text === undefined ? emptySiteConf() : parseSiteConf(text, path);
}

/** Reads and checks CONFIG_DIR/site.conf (errors and warnings listed, nothing thrown for content), or undefined when absent. */
export async function checkSiteConfFile(configDir: string): Promise<SiteConfCheck | undefined> {
  const path = join(configDir, "site.conf");
  const text = await readOptionalText(path, "reading the site configuration");
  return text === undefined ? undefined : checkSiteConf(text, path);
}

/** Reads CONFIG_DIR/route/HOSTNAME, else routes/HOSTNAME (the older spelling); a missing file is an error (exit 1). */
export async function readRouteFile(configDir: string, host: string): Promise<{ file: string; text: string }> {
  const candidates = [join(configDir, "route", host), join(configDir, "routes", host)];
  for (const file of candidates) {
    const text = await readOptionalText(file, "reading the routes");
    if (text !== undefined) return { file, text };
  }
  // A missing file is an I/O failure (exit 1), as everywhere; only a file's content is input (exit 3).
  throw new BenitoError("reading the routes", candidates[0] ?? configDir, `no route file for host ${host} (neither ${candidates.join(" nor ")} exists)`);
}

/** The path of the topology in a config folder. */
export function topologyPath(configDir: string): string {
  return join(configDir, "topo.xml");
}
