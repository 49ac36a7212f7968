// Decoders for what the kernel answers: message walking, NLMSG_ERROR with extended ACK, links, addresses, routes.
import { formatIPv4, formatMac } from "./address";
import {
  AF_BRIDGE,
  AF_INET,
  IFA_ADDRESS,
  IFA_BROADCAST,
  IFA_LABEL,
  IFA_LOCAL,
  IFADDRMSG_LEN,
  IFF_LOWER_UP,
  IFF_UP,
  IFINFOMSG_LEN,
  IFLA_ADDRESS,
  IFLA_GROUP,
  IFLA_IFNAME,
  IFLA_INFO_KIND,
  IFLA_LINKINFO,
  IFLA_MASTER,
  IFLA_IFALIAS,
  IFLA_MTU,
  NDA_DST,
  NDA_LLADDR,
  NDA_VNI,
  NDMSG_LEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  RTA_DST,
  RTA_GATEWAY,
  RTA_HDRLEN,
  RTA_MULTIPATH,
  RTA_OIF,
  RTA_PREFSRC,
  RTA_PRIORITY,
  RTA_TABLE,
  RTM_F_CLONED,
  RTMSG_LEN,
  RTN_UNICAST,
  NTF_SELF,
} from "./constants";
import type { AddressInfo, FdbEntry, LinkInfo, Route } from "./types";
import { align4 } from "./writer";

/** Received bytes: the buffer, a DataView on it, and the range `[start, end)` that holds messages. */
export interface Received {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly start: number;
  readonly end: number;
}

/**
 * Calls `visit` for each complete netlink message in the received range, with its header fields and
 * the offset/length of the whole message (header included). Stops at a truncated or malformed
 * header rather than reading past the end.
 */
export function forEachMessage(
  received: Received,
  visit: (type: number, flags: number, seq: number, offset: number, length: number) => void,
): void {
  const { view, end } = received;
  let offset = received.start;
  while (offset + NLMSG_HDRLEN <= end) {
    const messageLength = view.getUint32(offset, true);
    if (messageLength < NLMSG_HDRLEN || offset + messageLength > end) return;
    visit(view.getUint16(offset + 4, true), view.getUint16(offset + 6, true), view.getUint32(offset + 8, true), offset, messageLength);
    offset += align4(messageLength);
  }
}

/**
 * Calls `visit` for each attribute in `[start, end)` with its type (nested/byte-order bits masked
 * off), the offset of its payload and the payload length.
 */
export function forEachAttribute(view: DataView, start: number, end: number, visit: (type: number, offset: number, length: number) => void): void {
  let offset = start;
  while (offset + RTA_HDRLEN <= end) {
    const attributeLength = view.getUint16(offset, true);
    if (attributeLength < RTA_HDRLEN || offset + attributeLength > end) return;
    visit(view.getUint16(offset + 2, true) & 0x3fff, offset + RTA_HDRLEN, attributeLength - RTA_HDRLEN);
    offset += align4(attributeLength);
  }
}

const utf8 = new TextDecoder();

/** A string attribute's text, without its NUL terminator. */
export function attributeString(bytes: Uint8Array, offset: number, length: number): string {
  let end = offset + length;
  while (end > offset && bytes[end - 1] === 0) end -= 1;
  return utf8.decode(bytes.subarray(offset, end));
}

/** An IPv4 attribute's 32-bit value (network order in the message). */
function attributeIPv4(view: DataView, offset: number): number {
  return view.getUint32(offset, false);
}

/** The kernel's answer in an NLMSG_ERROR message: errno 0 is an ACK. */
export interface KernelAnswer {
  /** Positive errno, or 0 for success. */
  readonly errno: number;
  /** The extended-ACK message (NLMSGERR_ATTR_MSG), when the kernel sent one. */
  readonly message?: string;
  /** The extended-ACK offset of the offending attribute in the request (NLMSGERR_ATTR_OFFS). */
  readonly attributeOffset?: number;
}

/** The answer every successful ACK decodes to (shared: ACKs are the common case in a batch). */
const ACK: KernelAnswer = Object.freeze({ errno: 0 });

/**
 * Decodes an NLMSG_ERROR message at `offset`: struct nlmsgerr (negative errno and the echoed request
 * header, or the whole request unless NLM_F_CAPPED), then extended-ACK attributes when
 * NLM_F_ACK_TLVS is set.
 */
export function decodeError(received: Received, offset: number, length: number, flags: number): KernelAnswer {
  const { bytes, view } = received;
  const end = offset + length;
  if (offset + NLMSG_HDRLEN + 4 > end) return { errno: 0 };
  const errno = -view.getInt32(offset + NLMSG_HDRLEN, true);
  if (errno === 0 && (flags & NLM_F_ACK_TLVS) === 0) return ACK;
  const echoed = offset + NLMSG_HDRLEN + 4;
  let tlvStart = echoed + NLMSG_HDRLEN;
  if ((flags & NLM_F_CAPPED) === 0 && echoed + 4 <= end) tlvStart = echoed + align4(view.getUint32(echoed, true));
  let message: string | undefined;
  let attributeOffset: number | undefined;
  if ((flags & NLM_F_ACK_TLVS) !== 0) {
    let at = tlvStart;
    while (at + RTA_HDRLEN <= end) {
      const size = view.getUint16(at, true);
      if (size < RTA_HDRLEN || at + size > end) break;
      const type = view.getUint16(at + 2, true) & 0x3fff;
      if (type === NLMSGERR_ATTR_MSG) message = attributeString(bytes, at + RTA_HDRLEN, size - RTA_HDRLEN);
      else if (type === NLMSGERR_ATTR_OFFS && size >= 8) attributeOffset = view.getUint32(at + RTA_HDRLEN, true);
      at += align4(size);
    }
  }
  if (errno === 0 && message === undefined) return ACK;
  return { errno, ...(message === undefined ? {} : { message }), ...(attributeOffset === undefined ? {} : { attributeOffset }) };
}

/** Decodes an RTM_NEWLINK message (a link dump entry or a GETLINK reply). */
export function decodeLink(received: Received, offset: number, length: number): LinkInfo {
  const { bytes, view } = received;
  const header = offset + NLMSG_HDRLEN;
  const index = view.getInt32(header + 4, true);
  const flags = view.getUint32(header + 8, true);
  let name = "";
  let mac = "";
  let mtu = 0;
  let master = 0;
  let kind = "";
  let alias: string | undefined;
  let group = 0;
  forEachAttribute(view, header + IFINFOMSG_LEN, offset + length, (type, at, size) => {
    switch (type) {
      case IFLA_IFNAME:
        name = attributeString(bytes, at, size);
        break;
      case IFLA_ADDRESS:
        mac = formatMac(bytes, at, size);
        break;
      case IFLA_MTU:
        if (size >= 4) mtu = view.getUint32(at, true);
        break;
      case IFLA_MASTER:
        if (size >= 4) master = view.getUint32(at, true);
        break;
      case IFLA_IFALIAS:
        alias = attributeString(bytes, at, size);
        break;
      case IFLA_GROUP:
        if (size >= 4) group = view.getUint32(at, true);
        break;
      case IFLA_LINKINFO:
        forEachAttribute(view, at, at + size, (infoType, infoAt, infoSize) => {
          if (infoType === IFLA_INFO_KIND) kind = attributeString(bytes, infoAt, infoSize);
        });
        break;
    }
  });
  const plain: LinkInfo = { index, name, mac, up: (flags & IFF_UP) !== 0, lowerUp: (flags & IFF_LOWER_UP) !== 0, mtu, kind, master };
  const link = group === 0 ? plain : { ...plain, group };
  return alias === undefined || alias === "" ? link : { ...link, alias };
}

/**
 * Decodes an RTM_NEWADDR message; undefined for other families than IPv4. The address is
 * IFA_LOCAL when present (on point-to-point links IFA_ADDRESS is the peer), else IFA_ADDRESS.
 */
export function decodeAddress(received: Received, offset: number, length: number): AddressInfo | undefined {
  const { bytes, view } = received;
  const header = offset + NLMSG_HDRLEN;
  if (bytes[header] !== AF_INET) return undefined;
  const prefixLength = bytes[header + 1] as number;
  const index = view.getUint32(header + 4, true);
  let local = -1;
  let address = -1;
  let broadcast = -1;
  let label = "";
  forEachAttribute(view, header + IFADDRMSG_LEN, offset + length, (type, at, size) => {
    if (size < 4 && type !== IFA_LABEL) return;
    if (type === IFA_LOCAL) local = attributeIPv4(view, at);
    else if (type === IFA_ADDRESS) address = attributeIPv4(view, at);
    else if (type === IFA_BROADCAST) broadcast = attributeIPv4(view, at);
    else if (type === IFA_LABEL) label = attributeString(bytes, at, size);
  });
  const chosen = local >= 0 ? local : address;
  if (chosen < 0) return undefined;
  return { index, address: formatIPv4(chosen), prefixLength, label, ...(broadcast >= 0 ? { broadcast: formatIPv4(broadcast) } : {}) };
}

/**
 * Decodes an RTM_NEWROUTE message into a Route; undefined unless it is an IPv4 unicast route
 * that is not a cached clone. The metric is always set (0 when the kernel sent none). For a
 * multipath route the gateway and interface are the first next hop's and `multipath` is true.
 */
export function decodeRoute(received: Received, offset: number, length: number): Route | undefined {
  const { bytes, view } = received;
  const header = offset + NLMSG_HDRLEN;
  if (bytes[header] !== AF_INET || bytes[header + 7] !== RTN_UNICAST) return undefined;
  if ((view.getUint32(header + 8, true) & RTM_F_CLONED) !== 0) return undefined;
  const prefixLength = bytes[header + 1] as number;
  let table = bytes[header + 4] as number;
  const protocol = bytes[header + 5] as number;
  const scope = bytes[header + 6] as number;
  let dst = 0;
  let gateway = -1;
  let oif = -1;
  let metric = 0;
  let src = -1;
  let multipath = false;
  const end = offset + length;
  let at = header + RTMSG_LEN;
  // An inline walk (no per-attribute callback): dumps of many thousands of routes decode here.
  while (at + RTA_HDRLEN <= end) {
    const attributeLength = view.getUint16(at, true);
    if (attributeLength < RTA_HDRLEN || at + attributeLength > end) break;
    const payload = at + RTA_HDRLEN;
    const size = attributeLength - RTA_HDRLEN;
    if (size >= 4) {
      switch (view.getUint16(at + 2, true) & 0x3fff) {
        case RTA_DST:
          dst = attributeIPv4(view, payload);
          break;
        case RTA_GATEWAY:
          gateway = attributeIPv4(view, payload);
          break;
        case RTA_OIF:
          oif = view.getUint32(payload, true);
          break;
        case RTA_PRIORITY:
          metric = view.getUint32(payload, true);
          break;
        case RTA_PREFSRC:
          src = attributeIPv4(view, payload);
          break;
        case RTA_TABLE:
          table = view.getUint32(payload, true);
          break;
        case RTA_MULTIPATH: {
          // struct rtnexthop { u16 len; u8 flags; u8 hops; i32 ifindex; } then its attributes.
          multipath = true;
          if (size < 8) break;
          const hopLength = view.getUint16(payload, true);
          oif = view.getInt32(payload + 4, true);
          forEachAttribute(view, payload + 8, payload + Math.min(hopLength, size), (hopType, hopAt, hopSize) => {
            if (hopType === RTA_GATEWAY && hopSize >= 4) gateway = attributeIPv4(view, hopAt);
          });
          break;
        }
      }
    }
    at += align4(attributeLength);
  }
  const route: { -readonly [K in keyof Route]: Route[K] } = { dst: formatIPv4(dst), prefixLength, protocol, table, scope, metric };
  if (gateway >= 0) route.gateway = formatIPv4(gateway);
  if (oif >= 0) route.oif = oif;
  if (src >= 0) route.src = formatIPv4(src);
  if (multipath) route.multipath = true;
  return route;
}

/**
 * Decodes an RTM_NEWNEIGH message of the bridge family (a forwarding-database entry): struct ndmsg
 * { family, pad, pad, ifindex, state, flags, type }, then NDA_LLADDR, NDA_DST (IPv4 only: an IPv6
 * remote is left out of `dst`), NDA_VNI. Undefined for other families (ARP entries) or without a MAC.
 */
export function decodeFdbEntry(received: Received, offset: number, length: number): FdbEntry | undefined {
  const { bytes, view } = received;
  const header = offset + NLMSG_HDRLEN;
  if (header + NDMSG_LEN > offset + length || bytes[header] !== AF_BRIDGE) return undefined;
  const index = view.getInt32(header + 4, true);
  const state = view.getUint16(header + 8, true);
  const flags = bytes[header + 10] as number;
  let mac = "";
  let dst: string | undefined;
  let vni: number | undefined;
  forEachAttribute(view, header + NDMSG_LEN, offset + length, (type, at, size) => {
    if (type === NDA_LLADDR) mac = formatMac(bytes, at, size);
    else if (type === NDA_DST && size === 4) dst = formatIPv4(attributeIPv4(view, at));
    else if (type === NDA_VNI && size >= 4) vni = view.getUint32(at, true);
  });
  if (mac === "") return undefined;
  return { index, mac, self: (flags & NTF_SELF) !== 0, state, ...(dst !== undefined && { dst }), ...(vni !== undefined && { vni }) };
}
