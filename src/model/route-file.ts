// Parses route/HOSTNAME (three syntaxes, detected per line) and site.conf's default route into wanted routes (pure).
import { siteValue, type SiteConf } from "../config/site-conf";
import { formatIp4, isNetworkAddress, maskToPrefix, parseIp4, prefixMask } from "./ip4";

/** Where a wanted route was written: a route file line, or a site.conf key. */
export interface Origin {
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
}

/** WantedRoute interface: one route as the configuration asks for it (device by name, not yet resolved). */
export interface WantedRoute {
  /** Destination network, normalized dotted quad ("0.0.0.0" for default). */
  readonly dst: string;
  readonly prefixLength: number;
  /** Next hop; absent for a directly connected (on-link) route, which then names a device. */
  readonly gateway?: string;
  /** Output device by name (`dev IF`), when the line gives one. */
  readonly dev?: string;
  /** Metric (`metric N`, tmcd `COST`); 0 when not given, as the kernel does. */
  readonly metric: number;
  /** Preferred source address (`src A`, tmcd `SRC`). */
  readonly src?: string;
  /** Which syntax the line was written in. */
  readonly syntax: "tmcd" | "iproute" | "triplet" | "site.conf";
  readonly origin: Origin;
}

/** LineProblem interface: one bad line, reported as "file:line: message". */
export interface LineProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** RouteFile interface: the good routes of a file and a problem for every bad line. */
export interface RouteFile {
  readonly routes: readonly WantedRoute[];
  readonly problems: readonly LineProblem[];
}

/** Renders a problem the way every benito message names a place: "file:line: message". */
export function formatLineProblem(problem: LineProblem): string {
  return `${problem.file}:${problem.line}: ${problem.message}`;
}

/** The largest metric the kernel accepts (RTA_PRIORITY is a u32). */
const maxMetric = 0xffffffff;

/** Thrown inside the line parsers; caught per line so one bad line never stops the others. */
class BadLine extends Error {}

function bad(message: string): never {
  throw new BadLine(message);
}

/**
 * Parses a route file. Blank lines and `#` comments (whole-line or trailing) are ignored; every
 * other line is one route in one of three syntaxes, detected per line (domain notes §4):
 * `ROUTE KEY=VALUE…` (Emulab tmcd), `PREFIX via GW [dev IF] [metric N] [src A]` (iproute), or
 * `DEST NETMASK GATEWAY` (triplet). A bad line becomes a problem; the other lines still count.
 * Two lines for the same destination and metric (the kernel's identity of a route) keep the
 * first, and the second is a problem unless it is identical.
 *
 * @param text The file's content.
 * @param file The path, for messages.
 */
export function parseRouteFile(text: string, file: string): RouteFile {
  const routes: WantedRoute[] = [];
  const problems: LineProblem[] = [];
  const lines = text.split("\n");
  for (let index = 0; index < lines.length; index += 1) {
    const raw = lines[index] ?? "";
    const hash = raw.indexOf("#");
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (content === "") continue;
    const origin = { file, line: index + 1 };
    try {
      routes.push(parseRouteLine(content, origin));
    } catch (error) {
      if (!(error instanceof BadLine)) throw error;
      problems.push({ file, line: index + 1, message: error.message });
    }
  }
  return { routes, problems };
}

/**
 * Parses one non-blank, comment-free line into a route, detecting its syntax.
 *
 * @throws BadLine (internal) with the reason; {@link parseRouteFile} turns it into a problem.
 */
function parseRouteLine(content: string, origin: Origin): WantedRoute {
  const words = content.split(/\s+/);
  const first = words[0] ?? "";
  if (first.toUpperCase() === "ROUTE") return parseTmcd(words.slice(1), origin);
  if (words.length === 3 && words.every((word) => parseIp4(word) !== undefined)) return parseTriplet(words, origin);
  if (first === "default" || /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(first)) return parseIproute(words, origin);
  return bad(`not a route in any of the three syntaxes ("ROUTE DEST=… NEXTHOP=…", "PREFIX via GW [dev IF] [metric N] [src A]", "DEST NETMASK GATEWAY"): ${JSON.stringify(content)}`);
}

/** Emulab tmcd: `ROUTE DEST=10.1.2.0 DESTTYPE=net DESTMASK=255.255.255.0 NEXTHOP=10.1.1.3 COST=0 [SRC=10.1.1.2]`. */
function parseTmcd(pairs: readonly string[], origin: Origin): WantedRoute {
  const fields = new Map<string, string>();
  for (const pair of pairs) {
    const equals = pair.indexOf("=");
    if (equals <= 0) bad(`tmcd ROUTE line: "${pair}" is not KEY=VALUE`);
    const key = pair.slice(0, equals).toUpperCase();
    if (!["DEST", "DESTTYPE", "DESTMASK", "NEXTHOP", "COST", "SRC"].includes(key)) {
      bad(`tmcd ROUTE line: unknown key ${key} (known: DEST, DESTTYPE, DESTMASK, NEXTHOP, COST, SRC)`);
    }
    if (fields.has(key)) bad(`tmcd ROUTE line: ${key} is given twice`);
    fields.set(key, pair.slice(equals + 1));
  }
  const type = (fields.get("DESTTYPE") ?? "net").toLowerCase();
  let dst: number;
  let prefixLength: number;
  if (type === "default") {
    dst = 0;
    prefixLength = 0;
  } else if (type === "host" || type === "net") {
    const destText = fields.get("DEST");
    if (destText === undefined) bad("tmcd ROUTE line: DEST is missing");
    dst = address(destText, "DEST");
    const maskText = fields.get("DESTMASK");
    if (type === "host") {
      if (maskText !== undefined && maskText !== "255.255.255.255") bad(`tmcd ROUTE line: DESTTYPE=host with DESTMASK=${maskText} (a host route's mask is 255.255.255.255)`);
      prefixLength = 32;
    } else {
      if (maskText === undefined) bad("tmcd ROUTE line: DESTTYPE=net needs DESTMASK");
      prefixLength = netmask(maskText, "DESTMASK");
    }
  } else {
    return bad(`tmcd ROUTE line: DESTTYPE=${fields.get("DESTTYPE")} is not net, host or default`);
  }
  const nextHop = fields.get("NEXTHOP");
  if (nextHop === undefined) bad("tmcd ROUTE line: NEXTHOP is missing");
  const gateway = gatewayAddress(nextHop, "NEXTHOP");
  const cost = fields.get("COST");
  const src = fields.get("SRC");
  return finish({ dst, prefixLength, gateway, metric: cost === undefined ? 0 : metric(cost, "COST"), src: src === undefined ? undefined : formatIp4(address(src, "SRC")), syntax: "tmcd", origin });
}

/** iproute: `10.1.2.0/24 via 10.1.1.3 [dev IF] [metric N] [src A]`, `default via 10.1.1.1`, `10.9.0.0/16 dev eth1`. */
function parseIproute(words: readonly string[], origin: Origin): WantedRoute {
  const [prefix, ...rest] = words;
  let dst = 0;
  let prefixLength = 0;
  if (prefix !== "default") {
    const [addressText = "", lengthText] = (prefix ?? "").split("/");
    dst = address(addressText, "the destination");
    prefixLength = 32;
    if (lengthText !== undefined) {
      if (!/^\d{1,2}$/.test(lengthText) || Number(lengthText) > 32) bad(`"${prefix}": the prefix length must be 0 to 32`);
      prefixLength = Number(lengthText);
    }
  }
  let gateway: string | undefined;
  let dev: string | undefined;
  let metricValue = 0;
  let src: string | undefined;
  const seen = new Set<string>();
  for (let index = 0; index < rest.length; index += 2) {
    const keyword = rest[index] ?? "";
    const value = rest[index + 1];
    const known = ["via", "dev", "metric", "priority", "preference", "src"];
    if (!known.includes(keyword)) bad(`unknown word "${keyword}" (benito reads via, dev, metric, src)`);
    if (value === undefined) bad(`"${keyword}" needs a value`);
    const canonical = keyword === "priority" || keyword === "preference" ? "metric" : keyword;
    if (seen.has(canonical)) bad(`"${keyword}" is given twice`);
    seen.add(canonical);
    if (canonical === "via") gateway = gatewayAddress(value, "via");
    else if (canonical === "dev") dev = deviceName(value);
    else if (canonical === "metric") metricValue = metric(value, keyword);
    else src = formatIp4(address(value, "src"));
  }
  if (gateway === undefined && dev === undefined) bad("a route needs a gateway (via GW) or a device (dev IF)");
  return finish({ dst, prefixLength, gateway, dev, metric: metricValue, src, syntax: "iproute", origin });
}

/** Triplet: `10.1.2.0 255.255.255.0 10.1.1.3` (destination, netmask, gateway). */
function parseTriplet(words: readonly string[], origin: Origin): WantedRoute {
  const [destText = "", maskText = "", gatewayText = ""] = words;
  return finish({ dst: address(destText, "the destination"), prefixLength: netmask(maskText, "the netmask"), gateway: gatewayAddress(gatewayText, "the gateway"), metric: 0, syntax: "triplet", origin });
}

/** Checks what every syntax shares (no host bits beyond the prefix) and normalizes the destination. */
function finish(route: { dst: number; prefixLength: number; gateway?: string; dev?: string; metric: number; src?: string; syntax: WantedRoute["syntax"]; origin: Origin }): WantedRoute {
  if (!isNetworkAddress(route.dst, route.prefixLength)) {
    const network = formatIp4((route.dst & prefixMask(route.prefixLength)) >>> 0);
    bad(`${formatIp4(route.dst)}/${route.prefixLength} has host bits set beyond the prefix; the network is ${network}/${route.prefixLength}`);
  }
  const result: { -readonly [K in keyof WantedRoute]: WantedRoute[K] } = { dst: formatIp4(route.dst), prefixLength: route.prefixLength, metric: route.metric, syntax: route.syntax, origin: route.origin };
  if (route.gateway !== undefined) result.gateway = route.gateway;
  if (route.dev !== undefined) result.dev = route.dev;
  if (route.src !== undefined) result.src = route.src;
  return result;
}

function address(text: string, what: string): number {
  const value = parseIp4(text);
  if (value === undefined) bad(`${what} "${text}" is not an IPv4 address`);
  return value;
}

function gatewayAddress(text: string, what: string): string {
  const value = address(text, what);
  if (value === 0) bad(`${what} 0.0.0.0 (directly connected) needs a device: write "PREFIX dev IF" instead`);
  return formatIp4(value);
}

function netmask(text: string, what: string): number {
  const length = maskToPrefix(text);
  if (length === undefined) bad(`${what} "${text}" is not a contiguous IPv4 netmask`);
  return length;
}

function metric(text: string, what: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > maxMetric) bad(`${what} "${text}" is not a whole number from 0 to ${maxMetric}`);
  return Number(text);
}

function deviceName(text: string): string {
  // IFNAMSIZ is 16 with the NUL; "/" and ".." are refused as the kernel does.
  if (text.length > 15 || text === "." || text === ".." || /[/:\s]/.test(text)) bad(`"${text}" is not an interface name`);
  return text;
}

/**
 * Reads site.conf's default route: `default_router` (the gateway) and `default_dest` (the
 * network behind it: "default", "A.B.C.D/N", "A.B.C.D/MASK" or "A.B.C.D MASK"; absent means
 * the default route).
 *
 * @returns The route, a problem naming the site.conf line, or neither when `default_router` is unset.
 */
export function siteDefaultRoute(conf: SiteConf): { route?: WantedRoute; problem?: LineProblem } {
  const router = siteValue(conf, "default_router");
  if (router === undefined) return {};
  const routerLine = conf.values.get("default_router")?.line ?? 0;
  const dest = siteValue(conf, "default_dest");
  const destLine = conf.values.get("default_dest")?.line ?? routerLine;
  const line = dest === undefined ? routerLine : destLine;
  const origin = { file: conf.file, line };
  try {
    const gateway = gatewayAddress(router, "default_router");
    let dst = 0;
    let prefixLength = 0;
    if (dest !== undefined && dest !== "default") {
      const [addressText = "", maskText] = dest.split(/\s*\/\s*|\s+/);
      dst = address(addressText, "default_dest");
      if (maskText === undefined) bad(`default_dest "${dest}" needs a prefix length or netmask (e.g. 10.0.0.0/8), or "default"`);
      prefixLength = /^\d{1,2}$/.test(maskText) && Number(maskText) <= 32 ? Number(maskText) : netmask(maskText, "default_dest's netmask");
    }
    return { route: finish({ dst, prefixLength, gateway, metric: 0, syntax: "site.conf", origin }) };
  } catch (error) {
    if (!(error instanceof BadLine)) throw error;
    return { problem: { file: conf.file, line, message: error.message } };
  }
}

/** The kernel's identity of an IPv4 route in one table: destination, prefix length and metric (tos is always 0 here). */
export function routeKey(route: { readonly dst: string; readonly prefixLength: number; readonly metric?: number }): string {
  return `${route.dst}/${route.prefixLength} ${route.metric ?? 0}`;
}

/**
 * Drops duplicates: a second route with the same destination and metric is a problem (the first
 * wins) unless it asks for exactly the same thing.
 */
export function dropDuplicates(routes: readonly WantedRoute[]): RouteFile {
  const first = new Map<string, WantedRoute>();
  const kept: WantedRoute[] = [];
  const problems: LineProblem[] = [];
  for (const route of routes) {
    const key = routeKey(route);
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, route);
      kept.push(route);
    } else if (earlier.gateway !== route.gateway || earlier.dev !== route.dev || earlier.src !== route.src) {
      problems.push({ ...route.origin, message: `a second route to ${route.dst}/${route.prefixLength} metric ${route.metric} (the first, at ${earlier.origin.file}:${earlier.origin.line}, is kept)` });
    }
  }
  return { routes: kept, problems };
}
