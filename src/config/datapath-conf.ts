// Reads the site.conf keys that choose a LAN's datapath: `datapath = vde | kernel` and `netem = yes | no`.
import { InputError } from "../errors";
import { formatProblem } from "../topdl/problems";
import type { Problem } from "../topdl/types";
import type { SiteConf } from "./site-conf";

/** DatapathSettings interface: the experiment-wide datapath choice (every pnode reads the same site.conf). */
export interface DatapathSettings {
  /** `datapath` (default "vde", the original's contract): what a LAN uses unless its `benito:datapath` says otherwise. */
  readonly datapath: "vde" | "kernel";
  /**
   * `netem` (default no): the operator vouches that every pnode's kernel has `sch_netem`, so a LAN
   * with latency or loss may use the kernel datapath; without it such a LAN stays on VDE + wirefilter.
   */
  readonly netem: boolean;
}

/** The datapath settings of a site.conf; absent keys take their defaults. @throws InputError listing every bad value with its line. */
export function datapathSettings(site: SiteConf): DatapathSettings {
  const { settings, problems } = checkDatapathSettings(site);
  if (problems.length > 0) throw new InputError("reading the datapath settings", site.file, `${problems.length} bad value${problems.length === 1 ? "" : "s"}`, problems.map(formatProblem));
  return settings;
}

/** Like {@link datapathSettings}, but returns the problems (with line and key) instead of throwing: for the validator. */
export function checkDatapathSettings(site: SiteConf): { settings: DatapathSettings; problems: Problem[] } {
  const problems: Problem[] = [];
  const value = (key: string) => {
    const found = site.values.get(key);
    return found === undefined || found.value === "" ? undefined : { text: found.value.trim().toLowerCase(), line: found.line };
  };
  const datapath = value("datapath");
  if (datapath !== undefined && datapath.text !== "vde" && datapath.text !== "kernel") problems.push({ file: site.file, line: datapath.line, path: "datapath", message: `"${datapath.text}" is neither "vde" nor "kernel"` });
  const netem = value("netem");
  const yes = ["yes", "true", "1", "on"];
  const no = ["no", "false", "0", "off"];
  if (netem !== undefined && !yes.includes(netem.text) && !no.includes(netem.text)) problems.push({ file: site.file, line: netem.line, path: "netem", message: `"${netem.text}" is neither yes nor no` });
  return { settings: { datapath: datapath?.text === "kernel" ? "kernel" : "vde", netem: netem !== undefined && yes.includes(netem.text) }, problems };
}
