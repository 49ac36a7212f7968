// Numeric constants of the rtnetlink protocol (from the Linux uapi headers) and benito's own route mark.

// The route numbers plans compare against live in the model; re-exported for the netlink layer.
export { BENITO_RTPROT, RT_TABLE_UNSPEC, RT_TABLE_MAIN, RT_TABLE_LOCAL, RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_HOST, RT_SCOPE_NOWHERE, RTN_UNSPEC, RTN_UNICAST, RTPROT_UNSPEC, RTPROT_KERNEL, RTPROT_BOOT, RTPROT_STATIC } from "../../model/kernel-state";

/** Address families (linux/socket.h). */
export const AF_UNSPEC = 0;
/** Netlink sockets. */
export const AF_NETLINK = 16;
/** Link-layer (used by RTM_GETLINK dumps). */
export const AF_PACKET = 17;

/** Generic socket numbers come from the shared table. */
export { AF_INET, SOCK_CLOEXEC, SOCK_RAW } from "../libc-constants";
/** setsockopt level for generic socket options. */
export const SOL_SOCKET = 1;
/** Send buffer size. */
export const SO_SNDBUF = 7;
/** Receive buffer size. */
export const SO_RCVBUF = 8;
/** Send buffer size ignoring rmem_max (needs CAP_NET_ADMIN). */
export const SO_SNDBUFFORCE = 32;
/** Receive buffer size ignoring rmem_max (needs CAP_NET_ADMIN). */
export const SO_RCVBUFFORCE = 33;
/** setsockopt level for netlink options. */
export const SOL_NETLINK = 270;
/** The rtnetlink protocol of AF_NETLINK. */
export const NETLINK_ROUTE = 0;
/** Acks carry only the header of the failed request, not its whole payload. */
export const NETLINK_CAP_ACK = 10;
/** Errors carry extended-ACK attributes (the kernel's message). */
export const NETLINK_EXT_ACK = 11;
/** Dumps are filtered by the kernel on the request's fields (table, ifindex). */
export const NETLINK_GET_STRICT_CHK = 12;
/** recv flags, from the one table. */
export { MSG_DONTWAIT, MSG_TRUNC } from "../libc-constants";

/** Netlink message types (linux/netlink.h). */
export const NLMSG_NOOP = 1;
/** An error or, with error 0, an ACK. */
export const NLMSG_ERROR = 2;
/** End of a multi-part dump. */
export const NLMSG_DONE = 3;

/** nlmsg_flags (linux/netlink.h). */
export const NLM_F_REQUEST = 0x01;
/** Part of a multi-part message ended by NLMSG_DONE. */
export const NLM_F_MULTI = 0x02;
/** Ask for an ACK (NLMSG_ERROR with error 0) on success. */
export const NLM_F_ACK = 0x04;
/** GET: return the whole table. */
export const NLM_F_ROOT = 0x100;
/** GET: return all matching entries. */
export const NLM_F_MATCH = 0x200;
/** GET: NLM_F_ROOT | NLM_F_MATCH. */
export const NLM_F_DUMP = 0x300;
/** Dump answers: the dumped table changed during the dump, which may have missed or repeated entries. */
export const NLM_F_DUMP_INTR = 0x10;
/** NEW: replace an existing object. */
export const NLM_F_REPLACE = 0x100;
/** NEW: fail if the object exists. */
export const NLM_F_EXCL = 0x200;
/** NEW: create the object if it does not exist. */
export const NLM_F_CREATE = 0x400;
/** NEW: add to the end of the list. */
export const NLM_F_APPEND = 0x800;
/** ACK flag: the error message's payload was capped (NETLINK_CAP_ACK). */
export const NLM_F_CAPPED = 0x100;
/** ACK flag: extended-ACK attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;

/** Extended-ACK attributes in NLMSG_ERROR (linux/netlink.h enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR_MSG = 1;
/** Offset of the offending attribute in the request. */
export const NLMSGERR_ATTR_OFFS = 2;

/** rtnetlink message types (linux/rtnetlink.h). */
export const RTM_NEWLINK = 16;
/** Delete a link. */
export const RTM_DELLINK = 17;
/** Get/dump links. */
export const RTM_GETLINK = 18;
/** Set link attributes. */
export const RTM_SETLINK = 19;
/** Add an address. */
export const RTM_NEWADDR = 20;
/** Delete an address. */
export const RTM_DELADDR = 21;
/** Get/dump addresses. */
export const RTM_GETADDR = 22;
/** Add/replace a route. */
export const RTM_NEWROUTE = 24;
/** Delete a route. */
export const RTM_DELROUTE = 25;
/** Get/dump routes. */
export const RTM_GETROUTE = 26;

/** Route flags (rtm_flags). */
export const RTM_F_CLONED = 0x200;

/** Route attributes (linux/rtnetlink.h enum rtattr_type_t). */
export const RTA_DST = 1;
/** Source address prefix (policy routing). */
export const RTA_SRC = 2;
/** Input interface. */
export const RTA_IIF = 3;
/** Output interface index. */
export const RTA_OIF = 4;
/** Next hop. */
export const RTA_GATEWAY = 5;
/** Metric. */
export const RTA_PRIORITY = 6;
/** Preferred source address. */
export const RTA_PREFSRC = 7;
/** Nested route metrics (RTAX_*). */
export const RTA_METRICS = 8;
/** Multipath next hops. */
export const RTA_MULTIPATH = 9;
/** Table id when it does not fit rtm_table (> 255). */
export const RTA_TABLE = 15;

/** Interface flags (linux/if.h). */
export const IFF_UP = 0x1;
/** Carrier present. */
export const IFF_LOWER_UP = 0x10000;

/** Link attributes (linux/if_link.h). */
export const IFLA_ADDRESS = 1;
/** Broadcast hardware address. */
export const IFLA_BROADCAST = 2;
/** Interface name. */
export const IFLA_IFNAME = 3;
/** MTU. */
export const IFLA_MTU = 4;
/** Index of the master (bridge) device. */
export const IFLA_MASTER = 10;
/** Interface alias (free text, `ip link set NAME alias TEXT`): benito's ownership mark on links it makes. */
export const IFLA_IFALIAS = 20;
/** RFC 2863 operational state. */
export const IFLA_OPERSTATE = 16;
/** Nested kind-specific information. */
export const IFLA_LINKINFO = 18;
/** Extended filter mask for GETLINK dumps. */
export const IFLA_EXT_MASK = 29;
/** The link's group (`ip link set NAME group N`); RTM_DELLINK with only a group deletes every link of it in one kernel batch. */
export const IFLA_GROUP = 27;
/** Inside IFLA_LINKINFO: the kind string ("veth", "bridge"). */
export const IFLA_INFO_KIND = 1;
/** Inside IFLA_LINKINFO: kind-specific data. */
export const IFLA_INFO_DATA = 2;
/** IF_OPER_UP (linux/if.h). */
export const IF_OPER_UP = 6;
/** RTEXT_FILTER_SKIP_STATS: leave the large statistics blocks out of link dumps. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/** Address attributes (linux/if_addr.h). */
export const IFA_ADDRESS = 1;
/** The local address of the interface. */
export const IFA_LOCAL = 2;
/** Label (link name, or name:alias). */
export const IFA_LABEL = 3;
/** Broadcast address. */
export const IFA_BROADCAST = 4;
/** 32-bit flags that do not fit ifa_flags. */
export const IFA_FLAGS = 8;

/** Bridge family (PF_BRIDGE): forwarding-database entries. */
export const AF_BRIDGE = 7;
/** Neighbour (forwarding entry) messages (linux/rtnetlink.h). */
export const RTM_NEWNEIGH = 28;
/** Deletes a neighbour entry. */
export const RTM_DELNEIGH = 29;
/** Gets/dumps neighbour entries (with AF_BRIDGE: forwarding-database entries). */
export const RTM_GETNEIGH = 30;
/** Neighbour attributes (linux/neighbour.h): the remote (tunnel) address. */
export const NDA_DST = 1;
/** The link-layer address of the entry. */
export const NDA_LLADDR = 2;
/** A VXLAN entry's VNI when it differs from the link's own. */
export const NDA_VNI = 7;
/** ndm_state: a permanent entry (never aged out). */
export const NUD_PERMANENT = 0x80;
/** ndm_flags: the entry belongs to the device itself (a VXLAN link's own table), not its master's. */
export const NTF_SELF = 0x02;
/** struct ndmsg. */
export const NDMSG_LEN = 12;

/** Header sizes in bytes (all structures are 4-byte aligned). */
export const NLMSG_HDRLEN = 16;
/** struct rtmsg. */
export const RTMSG_LEN = 12;
/** struct ifinfomsg. */
export const IFINFOMSG_LEN = 16;
/** struct ifaddrmsg. */
export const IFADDRMSG_LEN = 8;
/** struct nlmsgerr without the echoed request: error (4) + echoed nlmsghdr (16). */
export const NLMSGERR_LEN = 20;
/** struct rtattr header. */
export const RTA_HDRLEN = 4;
