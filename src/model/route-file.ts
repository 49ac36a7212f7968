// Parses route/HOSTNAME (three syntaxes, detected per line) and site.conf's default route into wanted routes (pure).
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
  /** The kernel's identity of the route ({@link routeKey}), computed once when it is read. */
  readonly key: RouteKey;
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
  let line = 0;
  const lastGateway: LastGateway = { text: "", value: 0 };
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end);
    start = end + 1;
    line += 1;
    const hash = raw.indexOf("#");
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (content === "") continue;
    const origin = { file, line };
    const common = commonLine(content, origin, lastGateway);
    if (common !== undefined) {
      routes.push(common);
      continue;
    }
    try {
      routes.push(parseRouteLine(content, origin));
    } catch (error) {
      if (!(error instanceof BadLine)) throw error;
      problems.push({ file, line, message: error.message });
    }
  }
  return { routes, problems };
}

/** The line almost every generated route file is made of: `A.B.C.D/N via E.F.G.H`. */
const commonShape = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\/(\d{1,2}) via (\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

/** The gateway of the previous common line, parsed: files send thousands of routes through a few. */
interface LastGateway {
  text: string;
  value: number;
}

/**
 * The route of a line of the common shape that is also valid, read by one regular expression
 * (route files hold tens of thousands of such lines; the per-word parser costs twice as much);
 * undefined for every other line, which the full parser then reads (and explains, when bad).
 * It builds exactly what parseIproute builds for the same line.
 */
function commonLine(content: string, origin: Origin, lastGateway: LastGateway): WantedRoute | undefined {
  const match = commonShape.exec(content);
  if (match === null) return undefined;
  const dstText = match[1] ?? "";
  const gateway = match[3] ?? "";
  const dst = parseIp4(dstText);
  const prefixLength = Number(match[2]);
  if (gateway !== lastGateway.text) {
    const value = parseIp4(gateway);
    if (value === undefined || value === 0) return undefined;
    lastGateway.text = gateway;
    lastGateway.value = value;
  }
  if (dst === undefined || prefixLength > 32 || !isNetworkAddress(dst, prefixLength)) return undefined;
  return { dst: dstText, prefixLength, gateway, dev: undefined, metric: 0, src: undefined, syntax: "iproute", origin, key: keyOf(dst, dstText, prefixLength, 0) };
}

/**
 * Parses one non-blank, comment-free line into a route, detecting its syntax.
 *
 * @throws BadLine (internal) with the reason; {@link parseRouteFile} turns it into a problem.
 */
function parseRouteLine(content: string, origin: Origin): WantedRoute {
  // Most files separate words with one space; the regular expression is only needed otherwise.
  const words = content.includes("  ") || content.includes("\t") ? content.split(/\s+/) : content.split(" ");
  const first = words[0] ?? "";
  if (first.toUpperCase() === "ROUTE") return parseTmcd(words.slice(1), origin);
  // An iproute line's second word is a keyword, never an address: a second address means a triplet.
  if (words.length === 3 && parseIp4(words[1] ?? "") !== undefined) return parseTriplet(words, origin);
  const lead = first.charCodeAt(0);
  if (first === "default" || (lead >= 48 && lead <= 57)) return parseIproute(words, origin);
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
  let dstText = "0.0.0.0";
  let prefixLength: number;
  if (type === "default") {
    dst = 0;
    prefixLength = 0;
  } else if (type === "host" || type === "net") {
    const destText = fields.get("DEST");
    if (destText === undefined) bad("tmcd ROUTE line: DEST is missing");
    dst = address(destText, "DEST");
    dstText = destText;
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
  if (src !== undefined) address(src, "SRC");
  return finish(dst, dstText, prefixLength, gateway, undefined, cost === undefined ? 0 : metric(cost, "COST"), src, "tmcd", origin);
}

/** iproute: `10.1.2.0/24 via 10.1.1.3 [dev IF] [metric N] [src A]`, `default via 10.1.1.1`, `10.9.0.0/16 dev eth1`. */
function parseIproute(words: readonly string[], origin: Origin): WantedRoute {
  const prefix = words[0] ?? "";
  let dst = 0;
  let dstText = "0.0.0.0";
  let prefixLength = 0;
  if (prefix !== "default") {
    const slash = prefix.indexOf("/");
    const addressText = slash < 0 ? prefix : prefix.slice(0, slash);
    const lengthText = slash < 0 ? undefined : prefix.slice(slash + 1);
    dst = address(addressText, "the destination");
    dstText = addressText;
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
  let seen = 0;
  for (let index = 1; index < words.length; index += 2) {
    const keyword = words[index] ?? "";
    const value = words[index + 1];
    const bit = keywordBits.get(keyword);
    if (bit === undefined) bad(`unknown word "${keyword}" (benito reads via, dev, metric, src)`);
    if (value === undefined) bad(`"${keyword}" needs a value`);
    if ((seen & bit) !== 0) bad(`"${keyword}" is given twice`);
    seen |= bit;
    if (bit === 1) gateway = gatewayAddress(value, "via");
    else if (bit === 2) dev = deviceName(value);
    else if (bit === 4) metricValue = metric(value, keyword);
    else {
      address(value, "src");
      src = value;
    }
  }
  if (gateway === undefined && dev === undefined) bad("a route needs a gateway (via GW) or a device (dev IF)");
  return finish(dst, dstText, prefixLength, gateway, dev, metricValue, src, "iproute", origin);
}

/** Triplet: `10.1.2.0 255.255.255.0 10.1.1.3` (destination, netmask, gateway). */
function parseTriplet(words: readonly string[], origin: Origin): WantedRoute {
  const [destText = "", maskText = "", gatewayText = ""] = words;
  return finish(address(destText, "the destination"), destText, netmask(maskText, "the netmask"), gatewayAddress(gatewayText, "the gateway"), undefined, 0, undefined, "triplet", origin);
}

/** The iproute keywords benito reads, as bits (`priority` and `preference` are `metric`). */
const keywordBits: ReadonlyMap<string, number> = new Map([
  ["via", 1],
  ["dev", 2],
  ["metric", 4],
  ["priority", 4],
  ["preference", 4],
  ["src", 8],
]);

/**
 * Checks what every syntax shares (no host bits beyond the prefix) and builds the route. Every
 * route has the same shape (absent fields are undefined). Address texts were accepted by
 * parseIp4, which takes only canonical dotted quads, so they are used as they are.
 */
function finish(dst: number, dstText: string, prefixLength: number, gateway: string | undefined, dev: string | undefined, metricValue: number, src: string | undefined, syntax: WantedRoute["syntax"], origin: Origin): WantedRoute {
  if (!isNetworkAddress(dst, prefixLength)) {
    const network = formatIp4((dst & prefixMask(prefixLength)) >>> 0);
    bad(`${dstText}/${prefixLength} has host bits set beyond the prefix; the network is ${network}/${prefixLength}`);
  }
  return { dst: dstText, prefixLength, gateway, dev, metric: metricValue, src, syntax, origin, key: keyOf(dst, dstText, prefixLength, metricValue) };
}

function address(text: string, what: string): number {
  const value = parseIp4(text);
  if (value === undefined) bad(`${what} "${text}" is not an IPv4 address`);
  return value;
}

function gatewayAddress(text: string, what: string): string {
  if (address(text, what) === 0) bad(`${what} 0.0.0.0 (directly connected) needs a device: write "PREFIX dev IF" instead`);
  return text;
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

/** DefaultRouteSetting interface: site.conf's default-route keys as the config layer read them (value and line). */
export interface DefaultRouteSetting {
  /** The file they came from, for messages. */
  readonly file: string;
  /** `default_router`, when set (non-empty). */
  readonly router?: { readonly value: string; readonly line: number };
  /** `default_dest`, when set (non-empty). */
  readonly dest?: { readonly value: string; readonly line: number };
}

/**
 * site.conf's default route: `default_router` (the gateway) and `default_dest` (the network
 * behind it: "default", "A.B.C.D/N", "A.B.C.D/MASK" or "A.B.C.D MASK"; absent means the
 * default route). The config layer hands the values in (src/config/site-conf.ts).
 *
 * @returns The route, a problem naming the site.conf line, or neither when `default_router` is unset.
 */
export function siteDefaultRoute(setting: DefaultRouteSetting): { route?: WantedRoute; problem?: LineProblem } {
  if (setting.router === undefined) return {};
  const router = setting.router.value;
  const routerLine = setting.router.line;
  const dest = setting.dest?.value;
  const line = setting.dest === undefined ? routerLine : setting.dest.line;
  const origin = { file: setting.file, line };
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
    return { route: finish(dst, formatIp4(dst), prefixLength, gateway, undefined, 0, undefined, "site.conf", origin) };
  } catch (error) {
    if (!(error instanceof BadLine)) throw error;
    return { problem: { file: setting.file, line, message: error.message } };
  }
}

/**
 * RouteKey type: the kernel's identity of an IPv4 route in one table (destination, prefix length,
 * metric; tos is always 0 here) as a Map key. A number whenever it fits exactly (every metric
 * below 2^15), since thousands of built strings cost more to make and hash than the whole diff;
 * a string otherwise. The form depends on the metric alone, so equal routes get equal keys.
 */
export type RouteKey = number | string;

/** Metrics below this make numeric keys: (address · 64 + prefix length) · 2^15 + metric < 2^53. */
const numericMetricLimit = 32768;

function keyOf(dst: number, dstText: string, prefixLength: number, metric: number): RouteKey {
  if (metric < numericMetricLimit) return (dst * 64 + prefixLength) * numericMetricLimit + metric;
  return `${dstText}/${prefixLength} ${metric}`;
}

/** The key of a route read from the kernel (a wanted route carries its own, `key`). */
export function routeKey(route: { readonly dst: string; readonly prefixLength: number; readonly metric?: number }): RouteKey {
  const dst = parseIp4(route.dst);
  const metric = route.metric ?? 0;
  // The kernel sends canonical dotted quads; anything else cannot equal a wanted route's key.
  if (dst === undefined) return `${route.dst}/${route.prefixLength} ${metric}`;
  return keyOf(dst, route.dst, route.prefixLength, metric);
}

/**
 * Drops duplicates: a second route with the same destination and metric is a problem (the first
 * wins) unless it asks for exactly the same thing.
 */
export function dropDuplicates(routes: readonly WantedRoute[]): RouteFile {
  const first = new Map<RouteKey, WantedRoute>();
  const kept: WantedRoute[] = [];
  const problems: LineProblem[] = [];
  for (const route of routes) {
    const key = route.key;
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
