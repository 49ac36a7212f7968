// Diffs wanted routes against the kernel's table and orders the changes: the plan `benito routes` runs and prints.
import { formatIp4, inSubnet, parseIp4, prefixMask } from "../model/ip4";
import { routeKey, type RouteKey, type WantedRoute } from "../model/route-file";
import type { AddressInfo, LinkInfo, Route } from "../model/kernel-state";

/** rtm_scope of a route through a gateway. */
const scopeUniverse = 0;
/** rtm_scope of a directly connected (on-link) route. */
const scopeLink = 253;

/** NetState interface: what the plan needs to know about the kernel, read once. */
export interface NetState {
  readonly links: readonly LinkInfo[];
  readonly addresses: readonly AddressInfo[];
  /** Every route of the target table, whoever installed it. */
  readonly routes: readonly Route[];
}

/** RoutePlanOptions interface: where routes go and how benito's are marked. */
export interface RoutePlanOptions {
  /** Routing table number (254 = main). */
  readonly table: number;
  /** benito's rtm_protocol (the ownership mark). */
  readonly protocol: number;
}

/** RouteChange interface: one route to install (`replace` semantics). */
export interface RouteChange {
  readonly action: "add" | "change";
  readonly wanted: WantedRoute;
  /** What is sent to the kernel. */
  readonly route: Route;
  /** The benito route it replaces, for "change". */
  readonly previous?: Route;
}

/** RouteRemoval interface: a route benito installed earlier that the file no longer asks for. */
export interface RouteRemoval {
  readonly action: "remove";
  readonly route: Route;
}

/** RouteStep type: one change, in the order it must reach the kernel. */
export type RouteStep = RouteChange | RouteRemoval;

/** BlockedRoute interface: a wanted route that cannot be installed as things are. */
export interface BlockedRoute {
  readonly wanted: WantedRoute;
  /** Why, in words (e.g. "gateway 10.9.9.1 is on no local subnet …"). */
  readonly reason: string;
  /** True when it may resolve by itself soon (an interface not up yet, an address not set yet): worth `--wait`. */
  readonly waitable: boolean;
}

/** RoutePlan interface: the ordered changes plus what stays and what cannot be done. */
export interface RoutePlan {
  readonly table: number;
  readonly protocol: number;
  /** On-link routes first (gateways may depend on them), then routes through gateways, then removals. */
  readonly steps: readonly RouteStep[];
  readonly unchanged: readonly { readonly wanted: WantedRoute; readonly route: Route }[];
  readonly blocked: readonly BlockedRoute[];
}

/** An on-link prefix a gateway can sit on: an address's subnet or an on-link route, on link `index`. */
interface OnLink {
  readonly network: number;
  readonly prefixLength: number;
  readonly index: number;
  readonly up: boolean;
}

/**
 * Plans the routes: adds what is missing, changes what differs, removes benito-marked routes
 * that are no longer wanted, leaves every other route alone. A wanted route whose key
 * (destination, prefix, metric) is held by a different route benito did not install is blocked,
 * not replaced.
 *
 * The kernel accepts an IPv4 gateway only on a directly connected subnet (an address's subnet
 * or an on-link route), so on-link routes of the file are ordered before the routes through
 * gateways; a gateway reachable only through another gateway route is reported, as is a gateway
 * on no local subnet at all.
 *
 * @param wanted The routes the configuration asks for (duplicates already dropped).
 * @param state The kernel's links, addresses and the table's routes.
 * @param options Table and ownership mark.
 */
export function planRoutes(wanted: readonly WantedRoute[], state: NetState, options: RoutePlanOptions): RoutePlan {
  const linksByName = new Map(state.links.map((link) => [link.name, link]));
  const linksByIndex = new Map(state.links.map((link) => [link.index, link]));
  const ours = new Map<RouteKey, Route>();
  const foreign = new Map<RouteKey, Route>();
  for (const route of state.routes) {
    if (route.table !== options.table) continue;
    (route.protocol === options.protocol ? ours : foreign).set(routeKey(route), route);
  }

  // Where gateways can be: the subnets of local addresses, foreign on-link routes, and the file's own on-link routes.
  const connected: OnLink[] = [];
  for (const address of state.addresses) {
    const network = parseIp4(address.address);
    const link = linksByIndex.get(address.index);
    if (network !== undefined && link !== undefined) connected.push({ network, prefixLength: address.prefixLength, index: address.index, up: link.up });
  }
  for (const route of foreign.values()) {
    if (route.gateway !== undefined || route.oif === undefined || route.scope !== scopeLink) continue;
    const network = parseIp4(route.dst);
    const link = linksByIndex.get(route.oif);
    if (network !== undefined && link !== undefined) connected.push({ network, prefixLength: route.prefixLength, index: route.oif, up: link.up });
  }
  const localAddresses = new Set(state.addresses.filter((address) => linksByIndex.get(address.index)?.up).map((address) => address.address));

  const blocked: BlockedRoute[] = [];
  const changes: RouteChange[] = [];
  const unchanged: { wanted: WantedRoute; route: Route }[] = [];
  const stillBlocked: BlockedRoute[] = [];
  // Each resolved route is diffed at once (no list of resolved routes in between: route files have thousands).
  const diff = (route: WantedRoute, kernel: Route): void => {
    const theirs = foreign.size === 0 ? undefined : foreign.get(route.key);
    if (theirs !== undefined) {
      if (sameRoute(theirs, kernel, false)) unchanged.push({ wanted: route, route: theirs });
      else stillBlocked.push({ wanted: route, waitable: false, reason: `a route to ${route.dst}/${route.prefixLength} metric ${route.metric} that benito did not install (protocol ${theirs.protocol}) is already there; benito leaves it alone` });
      return;
    }
    const previous = ours.size === 0 ? undefined : ours.get(route.key);
    if (previous === undefined) changes.push({ action: "add", wanted: route, route: kernel });
    else if (sameRoute(previous, kernel, true)) unchanged.push({ wanted: route, route: previous });
    else changes.push({ action: "change", wanted: route, route: kernel, previous });
  };
  const fileOnLink: OnLink[] = [];
  // Pass 1: on-link routes (they only need their device); pass 2: routes through gateways.
  const gatewayRoutes: WantedRoute[] = [];
  for (const route of wanted) {
    if (route.gateway !== undefined) {
      gatewayRoutes.push(route);
      continue;
    }
    const device = resolveDevice(route, linksByName);
    if ("reason" in device) {
      blocked.push({ wanted: route, ...device });
      continue;
    }
    const source = checkSource(route, localAddresses);
    if (source !== undefined) {
      blocked.push({ wanted: route, ...source });
      continue;
    }
    fileOnLink.push({ network: parseIp4(route.dst) ?? 0, prefixLength: route.prefixLength, index: device.index, up: true });
    diff(route, kernelRoute(route, device.index, scopeLink, options));
  }
  // Route files send thousands of routes through a handful of gateways: check each gateway once.
  const reachable = new Set<string>();
  for (const route of gatewayRoutes) {
    let oif: number | undefined;
    if (route.dev !== undefined) {
      const device = resolveDevice(route, linksByName);
      if ("reason" in device) {
        blocked.push({ wanted: route, ...device });
        continue;
      }
      oif = device.index;
    }
    const gatewayKey = oif === undefined ? (route.gateway ?? "") : `${route.gateway} ${oif}`;
    let reach: { reason: string; waitable: boolean } | undefined;
    if (!reachable.has(gatewayKey)) {
      reach = reachGateway(route, oif, connected, fileOnLink, gatewayRoutes, linksByIndex);
      if (reach === undefined) reachable.add(gatewayKey);
    }
    reach ??= checkSource(route, localAddresses);
    if (reach !== undefined) {
      blocked.push({ wanted: route, ...reach });
      continue;
    }
    diff(route, kernelRoute(route, oif, scopeUniverse, options));
  }

  // Routes the configuration still names are never removed, even when they are blocked right now.
  const removals: RouteRemoval[] = [];
  if (ours.size > 0) {
    const wantedKeys = new Set<RouteKey>();
    for (const route of wanted) wantedKeys.add(route.key);
    for (const [key, route] of ours) {
      if (!wantedKeys.has(key)) removals.push({ action: "remove", route });
    }
  }
  // Gateway routes go after the on-link routes they may depend on (pass 1 diffed them first); removals last (make before break).
  return { table: options.table, protocol: options.protocol, steps: removals.length === 0 ? changes : [...changes, ...removals], unchanged, blocked: stillBlocked.length === 0 ? blocked : [...blocked, ...stillBlocked] };
}

/** Looks up a route's `dev`: it must exist and be up. */
function resolveDevice(route: WantedRoute, linksByName: ReadonlyMap<string, LinkInfo>): { index: number } | { reason: string; waitable: boolean } {
  const link = linksByName.get(route.dev ?? "");
  if (link === undefined) return { reason: `device ${route.dev} does not exist`, waitable: true };
  if (!link.up) return { reason: `device ${route.dev} is not up`, waitable: true };
  return { index: link.index };
}

/** Checks a route's preferred source: the kernel wants one of this host's addresses, on an interface that is up. */
function checkSource(route: WantedRoute, localAddresses: ReadonlySet<string>): { reason: string; waitable: boolean } | undefined {
  if (route.src === undefined || localAddresses.has(route.src)) return undefined;
  return { reason: `src ${route.src} is not an address of this host on an interface that is up`, waitable: true };
}

/**
 * Checks that a gateway sits on a directly connected subnet (through the route's device when it
 * names one). Returns undefined when it does, else why not.
 */
function reachGateway(
  route: WantedRoute,
  oif: number | undefined,
  connected: readonly OnLink[],
  fileOnLink: readonly OnLink[],
  gatewayRoutes: readonly WantedRoute[],
  linksByIndex: ReadonlyMap<number, LinkInfo>,
): { reason: string; waitable: boolean } | undefined {
  const gateway = parseIp4(route.gateway ?? "") ?? 0;
  const candidates = [...connected, ...fileOnLink].filter((entry) => inSubnet(gateway, entry.network, entry.prefixLength) && (oif === undefined || entry.index === oif));
  if (candidates.some((entry) => entry.up)) return undefined;
  const down = candidates[0];
  if (down !== undefined) {
    return { reason: `gateway ${route.gateway} is on ${formatNet(down)}, whose interface ${linksByIndex.get(down.index)?.name ?? down.index} is not up`, waitable: true };
  }
  // The default route "covers" every gateway; only a more specific route makes a useful hint.
  const through = gatewayRoutes.find((other) => other !== route && other.prefixLength > 0 && inSubnet(gateway, parseIp4(other.dst) ?? 0, other.prefixLength));
  const hint = through === undefined ? "" : ` (the route at ${through.origin.file}:${through.origin.line} reaches it through gateway ${through.gateway}, but the kernel needs a gateway on a directly connected subnet)`;
  const where = oif === undefined ? "on no local subnet and on no on-link route of the file" : `not on a subnet of device ${route.dev}`;
  return { reason: `gateway ${route.gateway} is ${where}${hint}`, waitable: true };
}

function formatNet(entry: OnLink): string {
  return `${formatIp4((entry.network & prefixMask(entry.prefixLength)) >>> 0)}/${entry.prefixLength}`;
}

/** The kernel route for a wanted route. */
function kernelRoute(route: WantedRoute, oif: number | undefined, scope: number, options: RoutePlanOptions): Route {
  const result: { -readonly [K in keyof Route]: Route[K] } = { dst: route.dst, prefixLength: route.prefixLength, metric: route.metric, protocol: options.protocol, table: options.table, scope };
  if (route.gateway !== undefined) result.gateway = route.gateway;
  if (oif !== undefined) result.oif = oif;
  if (route.src !== undefined) result.src = route.src;
  return result;
}

/**
 * True when a present route already does what the wanted one asks. The device is compared only
 * when the wanted route names one: without `dev` the kernel picks it from the gateway. The
 * preferred source is compared strictly for benito's own routes (a `src` dropped from the file is
 * a change) and only when asked for on others' (the kernel's own subnet route carries one).
 */
function sameRoute(present: Route, wanted: Route, strictSource: boolean): boolean {
  return (
    present.gateway === wanted.gateway &&
    (present.metric ?? 0) === (wanted.metric ?? 0) &&
    (present.src === wanted.src || (!strictSource && wanted.src === undefined)) &&
    present.scope === wanted.scope &&
    (wanted.oif === undefined || present.oif === wanted.oif)
  );
}
