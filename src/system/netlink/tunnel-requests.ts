// Encoders for the rtnetlink requests that build a VXLAN tunnel: the VXLAN link itself and its bridge forwarding entries.
import { parseIPv4 } from "./address";
import { AF_BRIDGE, AF_UNSPEC, NLM_F_DUMP, NLM_F_REQUEST, RTM_GETNEIGH, IFINFOMSG_LEN, IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, NDA_DST, NDA_LLADDR, NDMSG_LEN, NTF_SELF, NUD_PERMANENT } from "./constants";
import type { MessageWriter } from "./writer";

// <linux/if_link.h> IFLA_VXLAN_* (inside IFLA_INFO_DATA of kind "vxlan").
const IFLA_VXLAN_ID = 1;
const IFLA_VXLAN_GROUP = 2;
const IFLA_VXLAN_LINK = 3;
const IFLA_VXLAN_LOCAL = 4;
const IFLA_VXLAN_LEARNING = 7;
const IFLA_VXLAN_PORT = 15;

/** VxlanOptions interface: what `ip link add NAME type vxlan …` would be told. */
export interface VxlanOptions {
  /** VXLAN network identifier, 1..16777215. */
  readonly vni: number;
  /** The local underlay address (source of the outer packets). */
  readonly local: string;
  /** A multicast group for flooded frames (instead of head-end replication entries). */
  readonly group?: string;
  /** The underlay device's index (required with a group; binds the tunnel to it otherwise). */
  readonly link?: number;
  /** UDP destination port (IANA: 4789). */
  readonly port: number;
  /** Learn remote MACs from received frames (the usual choice with head-end replication). */
  readonly learning: boolean;
  /** The link's MTU, when it must differ from the kernel's choice. */
  readonly mtu?: number;
}

/**
 * Why VXLAN options cannot be encoded, or undefined when they can (checked before sending, so a
 * bad value is an input problem, not a kernel EINVAL).
 */
export function vxlanProblem(options: VxlanOptions): string | undefined {
  if (!Number.isInteger(options.vni) || options.vni < 1 || options.vni > 0xffffff) return `VNI ${options.vni} is not between 1 and 16777215`;
  if (parseIPv4(options.local) < 0) return `local address "${options.local}" is not an IPv4 address`;
  if (options.group !== undefined) {
    const group = parseIPv4(options.group);
    if (group < 0 || group >>> 28 !== 0xe) return `group "${options.group}" is not an IPv4 multicast address`;
    if (options.link === undefined) return "a multicast group needs the underlay device";
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) return `UDP port ${options.port} is not between 1 and 65535`;
  if (options.mtu !== undefined && (!Number.isInteger(options.mtu) || options.mtu < 68 || options.mtu > 65535)) return `MTU ${options.mtu} is not between 68 and 65535`;
  return undefined;
}

/**
 * Encodes RTM_NEWLINK creating a VXLAN link (call `vxlanProblem` first): IFLA_IFNAME, IFLA_MTU when
 * given, then IFLA_LINKINFO { kind "vxlan", data { ID, GROUP?, LINK?, LOCAL, LEARNING, PORT } }.
 * The port travels in network byte order (the kernel's be16), the addresses too.
 */
export function writeVxlanCreate(writer: MessageWriter, type: number, flags: number, seq: number, name: string, options: VxlanOptions): void {
  const start = writer.begin(type, flags, seq);
  const at = writer.zeros(IFINFOMSG_LEN);
  writer.buffer[at] = AF_UNSPEC;
  writer.attrString(IFLA_IFNAME, name);
  if (options.mtu !== undefined) writer.attrU32(IFLA_MTU, options.mtu);
  const info = writer.beginNest(IFLA_LINKINFO);
  writer.attrString(IFLA_INFO_KIND, "vxlan");
  const data = writer.beginNest(IFLA_INFO_DATA);
  writer.attrU32(IFLA_VXLAN_ID, options.vni);
  if (options.group !== undefined) writer.attrIPv4(IFLA_VXLAN_GROUP, parseIPv4(options.group));
  if (options.link !== undefined) writer.attrU32(IFLA_VXLAN_LINK, options.link);
  writer.attrIPv4(IFLA_VXLAN_LOCAL, parseIPv4(options.local));
  writer.attrU8(IFLA_VXLAN_LEARNING, options.learning ? 1 : 0);
  writer.reserve(8);
  writer.view.setUint16(writer.length, 6, true);
  writer.view.setUint16(writer.length + 2, IFLA_VXLAN_PORT, true);
  writer.view.setUint16(writer.length + 4, options.port, false);
  writer.view.setUint16(writer.length + 6, 0, true);
  writer.length += 8;
  writer.endNest(data);
  writer.endNest(info);
  writer.end(start);
}

/**
 * Encodes RTM_NEWNEIGH (with NLM_F_CREATE | NLM_F_APPEND for head-end replication) or RTM_DELNEIGH
 * for a forwarding entry of a VXLAN link, as `bridge fdb append MAC dev LINK dst ADDRESS` sends it:
 * struct ndmsg { AF_BRIDGE, ifindex, NUD_PERMANENT, NTF_SELF }, NDA_LLADDR, NDA_DST. The all-zero
 * MAC is the default entry: flooded (broadcast, unknown unicast, multicast) frames go to every
 * such entry's address.
 */
export function writeFdbRequest(writer: MessageWriter, type: number, flags: number, seq: number, index: number, mac: Uint8Array, dst: number): void {
  const start = writer.begin(type, flags, seq);
  const at = writer.zeros(NDMSG_LEN);
  writer.buffer[at] = AF_BRIDGE;
  writer.view.setInt32(at + 4, index, true);
  writer.view.setUint16(at + 8, NUD_PERMANENT, true);
  writer.buffer[at + 10] = NTF_SELF;
  writer.attrBytes(NDA_LLADDR, mac);
  writer.attrIPv4(NDA_DST, dst);
  writer.end(start);
}

/**
 * Encodes an RTM_GETNEIGH dump request of the bridge family (`bridge fdb show dev LINK`):
 * struct ndmsg { AF_BRIDGE, ifindex } and nothing else. With strict checking (the socket sets
 * NETLINK_GET_STRICT_CHK) the kernel takes ndm_ifindex as the device whose entries it dumps (its
 * own, NTF_SELF, and its master bridge's for it) and refuses any state, flag or type in the header.
 * Index 0 dumps every device's entries.
 */
export function writeFdbDump(writer: MessageWriter, seq: number, index: number): void {
  const start = writer.begin(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq);
  const at = writer.zeros(NDMSG_LEN);
  writer.buffer[at] = AF_BRIDGE;
  writer.view.setInt32(at + 4, index, true);
  writer.end(start);
}
