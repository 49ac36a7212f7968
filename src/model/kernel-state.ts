// The kernel state plans compare against: links, IPv4 addresses and routes, and the route-table numbers they carry (pure data; src/system fills it in).

/** LinkInfo interface: one network interface as the kernel reports it (RTM_NEWLINK). */
export interface LinkInfo {
  readonly index: number;
  readonly name: string;
  /** Hardware address, lower-case "aa:bb:cc:dd:ee:ff" ("" when the link has none). */
  readonly mac: string;
  /** IFF_UP: administratively up. */
  readonly up: boolean;
  /** IFF_LOWER_UP / operstate up: carrier present. */
  readonly lowerUp: boolean;
  readonly mtu: number;
  /** IFLA_INFO_KIND ("veth", "bridge", "tun", "vxlan", …) or "" for plain devices. */
  readonly kind: string;
  /** IFLA_MASTER: index of the bridge it is enslaved to, or 0. */
  readonly master: number;
  /** IFLA_IFALIAS, when the link has a non-empty alias (benito marks links it creates with one). */
  readonly alias?: string;
  /** IFLA_GROUP, when not the default group 0. */
  readonly group?: number;
}

/** AddressInfo interface: one IPv4 address on a link (RTM_NEWADDR). */
export interface AddressInfo {
  readonly index: number;
  readonly address: string;
  readonly prefixLength: number;
  /** IFA_LABEL (usually the link name). */
  readonly label: string;
  /** IFA_BROADCAST, when the address has one. */
  readonly broadcast?: string;
}

/** Route interface: one IPv4 unicast route, as wanted or as dumped. */
export interface Route {
  /** Destination network address ("0.0.0.0" for default). */
  readonly dst: string;
  readonly prefixLength: number;
  /** Next hop; absent for on-link routes. */
  readonly gateway?: string;
  /** Output interface index; absent lets the kernel pick from the gateway. */
  readonly oif?: number;
  /** RTA_PRIORITY (metric); absent means 0. Routes from `Rtnl.routes` always carry it. */
  readonly metric?: number;
  /** RTA_PREFSRC. */
  readonly src?: string;
  /** rtm_protocol: benito marks its own routes with its protocol number. */
  readonly protocol: number;
  /** Routing table (RT_TABLE_MAIN = 254). */
  readonly table: number;
  /** rtm_scope (RT_SCOPE_UNIVERSE = 0, RT_SCOPE_LINK = 253). */
  readonly scope: number;
  /** Dumped routes only: true for a multipath route (gateway and oif are then its first next hop's). */
  readonly multipath?: boolean;
}

/**
 * The rtm_protocol value benito stamps on every route it installs: its ownership mark.
 *
 * 183 (0xb7) is unassigned: the uapi headers (linux/rtnetlink.h RTPROT_*) and iproute2's
 * /etc/iproute2/rt_protos assign 0–18, 42, 99, 186–189 and 192; FRRouting additionally takes
 * 190–198 (ripng, nhrp, ldp, sharp, pbr, static, openfabric, srte). Values ≥ RTPROT_STATIC (4)
 * are not interpreted by the kernel, so the mark only tells benito's routes apart from others'.
 * `ip route show proto 183` lists them.
 */
export const BENITO_RTPROT = 183;

/** Routing tables (linux/rtnetlink.h enum rt_class_t). */
export const RT_TABLE_UNSPEC = 0;
/** The main table. */
export const RT_TABLE_MAIN = 254;
/** The local table (addresses of this host). */
export const RT_TABLE_LOCAL = 255;

/** Route scopes (linux/rtnetlink.h enum rt_scope_t). */
export const RT_SCOPE_UNIVERSE = 0;
/** Directly attached (on-link) route. */
export const RT_SCOPE_LINK = 253;
/** Host-local. */
export const RT_SCOPE_HOST = 254;
/** No destination (delete requests use it as a wildcard). */
export const RT_SCOPE_NOWHERE = 255;

/** Route types (linux/rtnetlink.h). */
export const RTN_UNSPEC = 0;
/** Gateway or direct route. */
export const RTN_UNICAST = 1;

/** Route protocol: unknown. */
export const RTPROT_UNSPEC = 0;
/** Installed by the kernel (connected routes). */
export const RTPROT_KERNEL = 2;
/** Installed during boot (iproute2's default for `ip route add`). */
export const RTPROT_BOOT = 3;
/** Installed by an administrator. */
export const RTPROT_STATIC = 4;
