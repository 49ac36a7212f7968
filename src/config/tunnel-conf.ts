// Reads the site.conf keys that say how a LAN spanning several pnodes is joined: VXLAN over an underlay, or the pnodes' own NICs.
import { InputError } from "../errors";
import { parseIp4 } from "../model/ip4";
import { controlSubstrate } from "../model/resolve";
import { formatProblem } from "../topdl/problems";
import type { Problem } from "../topdl/types";
import type { SiteConf } from "./site-conf";

/** IANA's VXLAN port (RFC 7348), the default `tunnel_port`. */
export const defaultVxlanPort = 4789;
/** The default inner (experiment) MTU: what vnodes' interfaces use unless told otherwise. */
export const defaultInnerMtu = 1500;

/** TunnelSettings interface: how this experiment's spanning LANs are joined (every pnode reads the same site.conf). */
export interface TunnelSettings {
  /**
   * "vxlan" (default): a kernel VXLAN link per LAN over the underlay network; "lan": the pnode's
   * own NIC on that substrate (the testbed gives a real LAN), bridged in.
   */
  readonly mode: "vxlan" | "lan";
  /**
   * `underlay_substrate` (default `control_net`): the TopDL substrate whose pnode interfaces carry
   * the underlay addresses (each pnode's `ip4_address` there is its VXLAN endpoint).
   */
  readonly underlaySubstrate: string;
  /** `tunnel_group`: an IPv4 multicast group for flooded frames instead of head-end replication. */
  readonly group?: string;
  /** `tunnel_port`: the UDP port of VXLAN (default 4789). */
  readonly port: number;
  /** `tunnel_mtu`: the inner MTU the tunnel must carry (default 1500); the underlay needs 50 bytes more. */
  readonly innerMtu: number;
}

/**
 * The tunnel settings of a site.conf (keys `tunnel_mode`, `underlay_substrate`, `tunnel_group`,
 * `tunnel_port`, `tunnel_mtu`); absent keys take their defaults.
 *
 * @throws InputError listing every bad value with its line.
 */
export function tunnelSettings(site: SiteConf): TunnelSettings {
  const { settings, problems } = checkTunnelSettings(site);
  if (problems.length > 0) throw new InputError("reading the tunnel settings", site.file, `${problems.length} bad value${problems.length === 1 ? "" : "s"}`, problems.map(formatProblem));
  return settings;
}

/** Like {@link tunnelSettings}, but returns the problems (with line and key) instead of throwing: for the validator. */
export function checkTunnelSettings(site: SiteConf): { settings: TunnelSettings; problems: Problem[] } {
  const problems: Problem[] = [];
  const entry = (key: string) => {
    const found = site.values.get(key);
    return found === undefined || found.value === "" ? undefined : found;
  };
  const bad = (key: string, message: string) => problems.push({ file: site.file, line: site.values.get(key)?.line ?? 0, path: key, message });
  const number = (key: string, fallback: number, min: number, max: number): number => {
    const found = entry(key);
    if (found === undefined) return fallback;
    if (!/^\d+$/.test(found.value) || Number(found.value) < min || Number(found.value) > max) {
      bad(key, `"${found.value}" is not a whole number between ${min} and ${max}`);
      return fallback;
    }
    return Number(found.value);
  };
  const modeText = entry("tunnel_mode")?.value.toLowerCase() ?? "vxlan";
  if (modeText !== "vxlan" && modeText !== "lan") bad("tunnel_mode", `"${modeText}" is neither "vxlan" nor "lan"`);
  const group = entry("tunnel_group")?.value;
  if (group !== undefined) {
    const value = parseIp4(group);
    if (value === undefined || value >>> 28 !== 0xe) bad("tunnel_group", `"${group}" is not an IPv4 multicast address (224.0.0.0/4)`);
  }
  const settings: TunnelSettings = {
    mode: modeText === "lan" ? "lan" : "vxlan",
    underlaySubstrate: entry("underlay_substrate")?.value ?? controlSubstrate,
    ...(group !== undefined && { group }),
    port: number("tunnel_port", defaultVxlanPort, 1, 65535),
    innerMtu: number("tunnel_mtu", defaultInnerMtu, 576, 65485),
  };
  return { settings, problems };
}
