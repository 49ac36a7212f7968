// The data the rtnetlink layer reads and writes: links, IPv4 addresses, IPv4 routes, and per-request outcomes.

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

/** RouteRequest type: one change to make in a batch. */
export type RouteRequest =
  | { readonly action: "replace"; readonly route: Route }
  | { readonly action: "delete"; readonly route: Route };

/** RequestOutcome interface: the kernel's answer to one request of a batch, matched by sequence number. */
export interface RequestOutcome {
  /** True when the kernel ACKed with error 0. */
  readonly ok: boolean;
  /** errno (positive) when it failed. */
  readonly errno?: number;
  /** strerror text plus the kernel's extended-ACK message when it sent one, e.g. "Nexthop has invalid gateway". */
  readonly message?: string;
  /** The kernel's extended-ACK message alone, when it sent one. */
  readonly kernelMessage?: string;
}
