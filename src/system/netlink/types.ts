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
