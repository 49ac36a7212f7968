// Encoders for the rtnetlink requests benito sends: route add/replace/delete, link and address changes, dumps.
import { parseIPv4 } from "./address";
import {
  AF_INET,
  AF_UNSPEC,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_EXT_MASK,
  IFLA_GROUP,
  IFLA_IFALIAS,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_MTU,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_HDRLEN,
  RT_SCOPE_NOWHERE,
  RTA_HDRLEN,
  RTA_DST,
  RTA_GATEWAY,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTEXT_FILTER_SKIP_STATS,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETROUTE,
  RTMSG_LEN,
  RTN_UNICAST,
  RTN_UNSPEC,
} from "./constants";
import type { Route } from "./types";
import type { MessageWriter } from "./writer";

/** The largest table id that fits rtm_table; larger ids travel in RTA_TABLE only (as iproute2 does). */
const MAX_HEADER_TABLE = 255;

function isInteger(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

/** Writes a struct rtmsg (12 bytes). */
function writeRtmsg(writer: MessageWriter, dstLength: number, table: number, protocol: number, scope: number, type: number): void {
  writer.reserve(RTMSG_LEN);
  const at = writer.length;
  const bytes = writer.buffer;
  bytes[at] = AF_INET;
  bytes[at + 1] = dstLength;
  bytes[at + 2] = 0; // rtm_src_len
  bytes[at + 3] = 0; // rtm_tos
  bytes[at + 4] = table <= MAX_HEADER_TABLE ? table : 0;
  bytes[at + 5] = protocol;
  bytes[at + 6] = scope;
  bytes[at + 7] = type;
  writer.view.setUint32(at + 8, 0, true); // rtm_flags
  writer.length = at + RTMSG_LEN;
}

/** The last gateway parsed: a batch sends thousands of routes through a handful of gateways. */
let lastGateway = { text: "", value: -1 };

function gatewayValue(text: string): number {
  if (text !== lastGateway.text) lastGateway = { text, value: parseIPv4(text) };
  return lastGateway.value;
}

/**
 * Encodes one RTM_NEWROUTE or RTM_DELROUTE request for an IPv4 route, or, when the route cannot
 * be encoded (a malformed address, an out-of-range number), writes nothing and says why: checked
 * per request so one bad route fails alone instead of aborting its batch. Each address is parsed
 * once (batches of thousands of routes pay for every parse).
 *
 * A new route is a unicast route with the route's protocol, scope and table. A delete matches like
 * `ip route del`: scope RT_SCOPE_NOWHERE and type RTN_UNSPEC are wildcards, while the protocol,
 * metric, gateway and interface, when given, must match; so a delete with benito's protocol can
 * never remove someone else's route.
 *
 * @param type RTM_NEWROUTE or RTM_DELROUTE.
 * @param flags nlmsg_flags (NLM_F_REQUEST | NLM_F_ACK, plus NLM_F_CREATE | NLM_F_REPLACE for replace).
 * @returns undefined when written, else the problem (e.g. `invalid gateway address "300.1.1.1"`).
 */
export function writeRouteRequest(writer: MessageWriter, type: number, flags: number, seq: number, route: Route): string | undefined {
  const dst = parseIPv4(route.dst);
  if (dst < 0) return `invalid destination address "${route.dst}"`;
  if (!isInteger(route.prefixLength, 0, 32)) return `invalid prefix length ${route.prefixLength}`;
  const gateway = route.gateway === undefined ? -1 : gatewayValue(route.gateway);
  if (route.gateway !== undefined && gateway < 0) return `invalid gateway address "${route.gateway}"`;
  const src = route.src === undefined ? -1 : parseIPv4(route.src);
  if (route.src !== undefined && src < 0) return `invalid source address "${route.src}"`;
  if (route.oif !== undefined && !isInteger(route.oif, 1, 0x7fffffff)) return `invalid interface index ${route.oif}`;
  if (route.metric !== undefined && !isInteger(route.metric, 0, 0xffffffff)) return `invalid metric ${route.metric}`;
  if (!isInteger(route.protocol, 0, 255)) return `invalid protocol ${route.protocol}`;
  if (!isInteger(route.table, 1, 0xffffffff)) return `invalid table ${route.table}`;
  if (!isInteger(route.scope, 0, 255)) return `invalid scope ${route.scope}`;
  // The whole message at once (one bounds check, no call per attribute): batches have thousands.
  const isDelete = type === RTM_DELROUTE;
  const bigTable = route.table > MAX_HEADER_TABLE;
  const length =
    NLMSG_HDRLEN + RTMSG_LEN + ROUTE_ATTR_BYTES * (Number(bigTable) + Number(route.prefixLength > 0) + Number(gateway >= 0) + Number(route.oif !== undefined) + Number(route.metric !== undefined) + Number(src >= 0));
  writer.reserve(length);
  const view = writer.view;
  const bytes = writer.buffer;
  const start = writer.length;
  // struct nlmsghdr; every part is a multiple of 4 bytes, so nlmsg_len is the aligned length.
  view.setUint32(start, length, true);
  view.setUint16(start + 4, type, true);
  view.setUint16(start + 6, flags, true);
  view.setUint32(start + 8, seq >>> 0, true);
  view.setUint32(start + 12, 0, true);
  // struct rtmsg
  const header = start + NLMSG_HDRLEN;
  bytes[header] = AF_INET;
  bytes[header + 1] = route.prefixLength;
  bytes[header + 2] = 0; // rtm_src_len
  bytes[header + 3] = 0; // rtm_tos
  bytes[header + 4] = bigTable ? 0 : route.table;
  bytes[header + 5] = route.protocol;
  bytes[header + 6] = isDelete ? RT_SCOPE_NOWHERE : route.scope;
  bytes[header + 7] = isDelete ? RTN_UNSPEC : RTN_UNICAST;
  view.setUint32(header + 8, 0, true); // rtm_flags
  let at = header + RTMSG_LEN;
  if (bigTable) at = routeAttr(view, at, RTA_TABLE, route.table, true);
  if (route.prefixLength > 0) at = routeAttr(view, at, RTA_DST, dst, false);
  if (gateway >= 0) at = routeAttr(view, at, RTA_GATEWAY, gateway, false);
  if (route.oif !== undefined) at = routeAttr(view, at, RTA_OIF, route.oif, true);
  if (route.metric !== undefined) at = routeAttr(view, at, RTA_PRIORITY, route.metric, true);
  if (src >= 0) at = routeAttr(view, at, RTA_PREFSRC, src, false);
  writer.length = at;
  return undefined;
}

/** A route attribute's size: a 4-byte header and a 32-bit value. */
const ROUTE_ATTR_BYTES = RTA_HDRLEN + 4;

/** Writes a 32-bit attribute at `at` (host order, or network order for an address) and returns where the next one goes. */
function routeAttr(view: DataView, at: number, type: number, value: number, hostOrder: boolean): number {
  view.setUint16(at, ROUTE_ATTR_BYTES, true);
  view.setUint16(at + 2, type, true);
  view.setUint32(at + 4, value >>> 0, hostOrder);
  return at + ROUTE_ATTR_BYTES;
}

/**
 * Encodes an RTM_GETROUTE dump request for IPv4 routes; with a table, the kernel filters on it
 * (NETLINK_GET_STRICT_CHK), otherwise every table is dumped.
 */
export function writeRouteDump(writer: MessageWriter, seq: number, table?: number): void {
  const start = writer.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  writeRtmsg(writer, 0, table ?? 0, 0, 0, 0);
  if (table !== undefined && table > MAX_HEADER_TABLE) writer.attrU32(RTA_TABLE, table);
  writer.end(start);
}

/** Writes a struct ifinfomsg (16 bytes). */
function writeIfinfomsg(writer: MessageWriter, family: number, index: number, flags: number, change: number): void {
  const at = writer.zeros(IFINFOMSG_LEN);
  writer.buffer[at] = family;
  writer.view.setInt32(at + 4, index, true);
  writer.view.setUint32(at + 8, flags >>> 0, true);
  writer.view.setUint32(at + 12, change >>> 0, true);
}

/** Encodes an RTM_GETLINK dump request (statistics left out: they are large and unused). */
export function writeLinkDump(writer: MessageWriter, seq: number): void {
  const start = writer.begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
  writeIfinfomsg(writer, AF_UNSPEC, 0, 0, 0);
  writer.attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  writer.end(start);
}

/** Encodes an RTM_GETLINK request for one link, by index (a number) or by name (a string). */
export function writeLinkGet(writer: MessageWriter, seq: number, link: number | string): void {
  const start = writer.begin(RTM_GETLINK, NLM_F_REQUEST, seq);
  writeIfinfomsg(writer, AF_UNSPEC, typeof link === "number" ? link : 0, 0, 0);
  if (typeof link === "string") writer.attrString(IFLA_IFNAME, link);
  writer.attrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  writer.end(start);
}

/** The changes one RTM_SETLINK request can carry. */
export interface LinkChange {
  /** Set (true) or clear (false) IFF_UP. */
  readonly up?: boolean;
  /** New hardware address bytes. */
  readonly mac?: Uint8Array;
  /** New name. */
  readonly name?: string;
  /** New master (bridge) index; 0 releases the link from its master. */
  readonly master?: number;
  /** New MTU. */
  readonly mtu?: number;
  /** New alias (IFLA_IFALIAS). */
  readonly alias?: string;
  /** New group (IFLA_GROUP). */
  readonly group?: number;
}

/** Encodes an RTM_SETLINK request changing one link. */
export function writeLinkSet(writer: MessageWriter, type: number, flags: number, seq: number, index: number, change: LinkChange): void {
  const start = writer.begin(type, flags, seq);
  const upMask = change.up === undefined ? 0 : IFF_UP;
  writeIfinfomsg(writer, AF_UNSPEC, index, change.up === true ? IFF_UP : 0, upMask);
  if (change.mac !== undefined) writer.attrBytes(IFLA_ADDRESS, change.mac);
  if (change.name !== undefined) writer.attrString(IFLA_IFNAME, change.name);
  if (change.master !== undefined) writer.attrU32(IFLA_MASTER, change.master);
  if (change.mtu !== undefined) writer.attrU32(IFLA_MTU, change.mtu);
  if (change.alias !== undefined) writer.attrString(IFLA_IFALIAS, change.alias);
  if (change.group !== undefined) writer.attrU32(IFLA_GROUP, change.group);
  writer.end(start);
}

/** Encodes an RTM_NEWLINK request creating a link of a kind that needs no kind data (e.g. "bridge"). */
export function writeLinkCreate(writer: MessageWriter, type: number, flags: number, seq: number, name: string, kind: string): void {
  const start = writer.begin(type, flags, seq);
  writeIfinfomsg(writer, AF_UNSPEC, 0, 0, 0);
  writer.attrString(IFLA_IFNAME, name);
  const info = writer.beginNest(IFLA_LINKINFO);
  writer.attrString(IFLA_INFO_KIND, kind);
  writer.endNest(info);
  writer.end(start);
}

/** Encodes an RTM_DELLINK request. */
export function writeLinkDelete(writer: MessageWriter, type: number, flags: number, seq: number, index: number): void {
  const start = writer.begin(type, flags, seq);
  writeIfinfomsg(writer, AF_UNSPEC, index, 0, 0);
  writer.end(start);
}

/** Encodes an RTM_DELLINK request for every link of a group (`ip link delete group N`): index 0 and IFLA_GROUP alone. */
export function writeGroupDelete(writer: MessageWriter, type: number, flags: number, seq: number, group: number): void {
  const start = writer.begin(type, flags, seq);
  writeIfinfomsg(writer, AF_UNSPEC, 0, 0, 0);
  writer.attrU32(IFLA_GROUP, group);
  writer.end(start);
}

/** Writes a struct ifaddrmsg (8 bytes). */
function writeIfaddrmsg(writer: MessageWriter, family: number, prefixLength: number, index: number): void {
  const at = writer.zeros(IFADDRMSG_LEN);
  writer.buffer[at] = family;
  writer.buffer[at + 1] = prefixLength;
  writer.view.setUint32(at + 4, index, true);
}

/**
 * Encodes an RTM_NEWADDR or RTM_DELADDR request for an IPv4 address, with IFA_LOCAL and
 * IFA_ADDRESS (as `ip addr add` sends) and, when given, IFA_BROADCAST.
 *
 * @param address The address as a 32-bit value.
 * @param broadcast The broadcast address as a 32-bit value, or -1 for none.
 */
export function writeAddressRequest(writer: MessageWriter, type: number, flags: number, seq: number, index: number, address: number, prefixLength: number, broadcast: number): void {
  const start = writer.begin(type, flags, seq);
  writeIfaddrmsg(writer, AF_INET, prefixLength, index);
  writer.attrIPv4(IFA_LOCAL, address);
  writer.attrIPv4(IFA_ADDRESS, address);
  if (broadcast >= 0) writer.attrIPv4(IFA_BROADCAST, broadcast);
  writer.end(start);
}

/** Encodes an RTM_GETADDR dump request for IPv4 addresses (of one link when index > 0). */
export function writeAddressDump(writer: MessageWriter, seq: number, index = 0): void {
  const start = writer.begin(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
  writeIfaddrmsg(writer, AF_INET, 0, index);
  writer.end(start);
}
