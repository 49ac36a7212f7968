// The data the rtnetlink layer reads and writes: links, IPv4 addresses, IPv4 routes, and per-request outcomes.

export type { AddressInfo, LinkInfo, Route } from "../../model/kernel-state";
import type { Route } from "../../model/kernel-state";

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

/** FdbEntry interface: one forwarding-database entry (RTM_NEWNEIGH of family AF_BRIDGE), as `bridge fdb show` lists it. */
export interface FdbEntry {
  /** The device the entry belongs to (ndm_ifindex). */
  readonly index: number;
  /** The entry's MAC ("00:00:00:00:00:00" is a VXLAN link's flood entry). */
  readonly mac: string;
  /** A VXLAN entry's remote (underlay) IPv4 address (NDA_DST), when it has one. */
  readonly dst?: string;
  /** A VXLAN entry's VNI (NDA_VNI), when the kernel sent one. */
  readonly vni?: number;
  /** True for the device's own table (NTF_SELF: a VXLAN link's entries), false for its master bridge's. */
  readonly self: boolean;
  /** ndm_state (NUD_PERMANENT for entries added by hand, NUD_REACHABLE for learned ones). */
  readonly state: number;
}

/**
 * BatchTimings interface: where a route batch's time went, in milliseconds; `applyRoutes` adds to
 * it (`benito routes --timings` prints it).
 */
export interface BatchTimings {
  /** Checking and encoding the requests. */
  encodeMs: number;
  /** In send(): the kernel applies every request of a chunk before send returns. */
  sendMs: number;
  /** Receiving and matching the kernel's answers. */
  answersMs: number;
}
