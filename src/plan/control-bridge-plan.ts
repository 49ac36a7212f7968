// Plans the control bridge: which NIC carries the control network, and what moves onto the bridge (pure).
import type { AddressInfo, LinkInfo, Route } from "../model/kernel-state";
import { RT_TABLE_MAIN, RTPROT_KERNEL } from "../model/kernel-state";
import { quoteWord } from "./step";

/** NetSnapshot interface: the parts of the kernel's state the control bridge touches. */
export interface NetSnapshot {
  readonly links: readonly LinkInfo[];
  readonly addresses: readonly AddressInfo[];
  readonly routes: readonly Route[];
}

/** ControlBridgeWanted interface: what site.conf and topo.xml ask for. */
export interface ControlBridgeWanted {
  /** The bridge's name (`control_bridge`, default br-ctl). */
  readonly bridge: string;
  /** `control_iface`, when site.conf names the NIC. */
  readonly nicName?: string;
  /** This pnode's address on the control_net substrate, when topo.xml gives it. */
  readonly controlAddress?: string;
  /** One control TAP per child VM (deterministic names). */
  readonly taps: readonly string[];
}

/** ControlBridgeMove interface: the whole change, computed before anything is touched. */
export interface ControlBridgeMove {
  readonly bridge: string;
  /** The control NIC as it is now. */
  readonly nic: LinkInfo;
  /** How the NIC was chosen, for the report. */
  readonly chosenBy: string;
  /** Its IPv4 addresses, in kernel order (the first is the primary): they move to the bridge. */
  readonly addresses: readonly AddressInfo[];
  /** Every non-kernel route through the NIC, any table: they move to the bridge, metrics and sources kept. */
  readonly routes: readonly Route[];
  /** The gateway of the default route through the NIC: proven to answer after the move. */
  readonly gateway?: string;
  /** Control TAPs to create and attach. */
  readonly taps: readonly string[];
}

/** The outcome of planning: a move, "already bridged" (only TAPs to converge), or why not. */
export type ControlBridgePlan =
  | { readonly state: "move"; readonly move: ControlBridgeMove }
  | { readonly state: "bridged"; readonly bridge: LinkInfo; readonly nic: LinkInfo; readonly missingTaps: readonly string[] }
  | { readonly state: "refused"; readonly reason: string };

/** Chooses the control NIC: control_iface, else the default route's interface, else the one holding the control address. */
function chooseNic(snapshot: NetSnapshot, wanted: ControlBridgeWanted, bridge: LinkInfo | undefined): { nic: LinkInfo; chosenBy: string } | string {
  const byIndex = (index: number | undefined) => snapshot.links.find((link) => link.index === index);
  if (wanted.nicName !== undefined) {
    const nic = snapshot.links.find((link) => link.name === wanted.nicName);
    return nic === undefined ? `control_iface "${wanted.nicName}" names no interface here` : { nic, chosenBy: "site.conf control_iface" };
  }
  const defaults = snapshot.routes.filter((route) => route.table === RT_TABLE_MAIN && route.prefixLength === 0 && route.oif !== undefined);
  const best = [...defaults].sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0))[0];
  const viaDefault = byIndex(best?.oif);
  // When the default route already runs over our bridge, the NIC is the bridge's port.
  if (viaDefault !== undefined && bridge !== undefined && viaDefault.index === bridge.index) {
    const port = snapshot.links.find((link) => link.master === bridge.index && link.kind !== "tun");
    if (port !== undefined) return { nic: port, chosenBy: "the port of the existing control bridge" };
  }
  if (viaDefault !== undefined) return { nic: viaDefault, chosenBy: "the interface of the default route" };
  if (wanted.controlAddress !== undefined) {
    const holder = byIndex(snapshot.addresses.find((address) => address.address === wanted.controlAddress)?.index);
    if (holder !== undefined) return { nic: holder, chosenBy: `the interface holding the control_net address ${wanted.controlAddress}` };
  }
  return "no control_iface in site.conf, no default route, and no interface holds this host's control_net address";
}

/**
 * Plans the control bridge from a snapshot of the kernel's state.
 *
 * Refuses (never guesses) when the NIC is a bridge, is enslaved elsewhere, or the bridge name is
 * taken by something that is not a bridge: a wrong guess here cuts the pnode off.
 */
export function planControlBridge(snapshot: NetSnapshot, wanted: ControlBridgeWanted): ControlBridgePlan {
  const bridge = snapshot.links.find((link) => link.name === wanted.bridge);
  if (bridge !== undefined && bridge.kind !== "bridge") return { state: "refused", reason: `"${wanted.bridge}" exists and is a ${bridge.kind || "plain"} device, not a bridge` };
  const chosen = chooseNic(snapshot, wanted, bridge);
  if (typeof chosen === "string") return { state: "refused", reason: chosen };
  const { nic, chosenBy } = chosen;
  const present = new Set(snapshot.links.map((link) => link.name));
  if (bridge !== undefined && nic.master === bridge.index) {
    return { state: "bridged", bridge, nic, missingTaps: wanted.taps.filter((tap) => !present.has(tap) || snapshot.links.find((l) => l.name === tap)?.master !== bridge.index) };
  }
  if (nic.kind === "bridge") return { state: "refused", reason: `the control interface ${nic.name} is itself a bridge` };
  if (nic.master !== 0) return { state: "refused", reason: `the control interface ${nic.name} is already a port of another master (index ${nic.master})` };
  if (bridge !== undefined) return { state: "refused", reason: `bridge "${wanted.bridge}" exists but ${nic.name} is not its port; remove it or name another control_bridge` };
  const addresses = snapshot.addresses.filter((address) => address.index === nic.index);
  const routes = snapshot.routes.filter((route) => route.oif === nic.index && route.protocol !== RTPROT_KERNEL);
  const defaultRoute = routes.filter((route) => route.prefixLength === 0 && route.table === RT_TABLE_MAIN && route.gateway !== undefined).sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0))[0];
  return {
    state: "move",
    move: { bridge: wanted.bridge, nic, chosenBy, addresses, routes, ...(defaultRoute?.gateway !== undefined ? { gateway: defaultRoute.gateway } : {}), taps: wanted.taps },
  };
}

/** Renders a route as the `ip route` words that describe it on a device. */
export function routeWords(route: Route, device: string): string {
  const destination = route.prefixLength === 0 ? "default" : `${route.dst}/${route.prefixLength}`;
  const parts = [destination];
  if (route.gateway !== undefined) parts.push("via", route.gateway);
  parts.push("dev", quoteWord(device));
  if (route.protocol !== 0) parts.push("proto", String(route.protocol));
  if (route.scope !== 0) parts.push("scope", String(route.scope));
  if ((route.metric ?? 0) !== 0) parts.push("metric", String(route.metric));
  if (route.src !== undefined) parts.push("src", route.src);
  if (route.table !== RT_TABLE_MAIN) parts.push("table", String(route.table));
  return parts.join(" ");
}

/** The dry run of a move: the `ip` commands it amounts to, in the order benito runs them. */
export function renderMove(move: ControlBridgeMove): string[] {
  const br = quoteWord(move.bridge);
  const nic = quoteWord(move.nic.name);
  const lines = [
    `# control NIC: ${move.nic.name} (${move.chosenBy})`,
    `ip link add ${br} type bridge`,
    `ip link set ${br} address ${move.nic.mac}`,
    `ip link set ${br} up`,
    ...move.addresses.map((address) => `ip addr add ${address.address}/${address.prefixLength} dev ${br}`),
    `ip link set ${nic} master ${br}`,
    ...move.routes.map((route) => `ip route replace ${routeWords(route, move.bridge)}`),
    ...move.addresses.map((address) => `ip addr del ${address.address}/${address.prefixLength} dev ${nic}`),
    move.gateway !== undefined ? `# verify: ${move.gateway} still answers ICMP echo, else restore everything` : "# verify: no default gateway through the NIC to check",
  ];
  for (const tap of move.taps) lines.push(...renderTap(tap, move.bridge));
  return lines;
}

/** The dry run of one control TAP. */
export function renderTap(tap: string, bridge: string): string[] {
  return [`benito tap create ${quoteWord(tap)}`, `ip link set ${quoteWord(tap)} master ${quoteWord(bridge)}`, `ip link set ${quoteWord(tap)} up`];
}
