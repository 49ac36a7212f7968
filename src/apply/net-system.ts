// NetSystem: the few kernel operations `benito routes` and `benito ifaces` need, so plans can be run against a fake in unit tests.
import type { AddressInfo, BatchTimings, LinkInfo, RequestOutcome, Route, RouteRequest } from "../system/netlink/types";

/** A value, or a promise of it: the real system answers synchronously, a test fake may not. */
export type Awaitable<T> = T | Promise<T>;

/**
 * NetSystem interface: the kernel as the route and interface executors see it. The real one is
 * {@link openNetSystem} over rtnetlink (src/apply/rtnl-system.ts); unit tests use a recording fake.
 */
export interface NetSystem {
  /** Every link of the namespace. */
  links(): Awaitable<readonly LinkInfo[]>;
  /** Every IPv4 address of the namespace. */
  addresses(): Awaitable<readonly AddressInfo[]>;
  /** Every IPv4 route of one routing table (all protocols). */
  routes(table: number): Awaitable<readonly Route[]>;
  /** Runs route requests as one batch, in order; one outcome per request. With `timings`, adds where the time went. */
  applyRoutes(requests: readonly RouteRequest[], timings?: BatchTimings): Awaitable<readonly RequestOutcome[]>;
  /** Adds an IPv4 address to a link. */
  addAddress(index: number, address: string, prefixLength: number): Awaitable<RequestOutcome>;
  /** Removes an IPv4 address from a link. */
  deleteAddress(index: number, address: string, prefixLength: number): Awaitable<RequestOutcome>;
  /** Makes the kernel promote a secondary address when a primary is deleted on this link (net.ipv4.conf.IF.promote_secondaries). */
  promoteSecondaries(ifname: string): Awaitable<RequestOutcome>;
  /** True when IPv4 forwarding is on (absent in fakes that do not care: then treated as on). */
  forwarding?(): Awaitable<boolean>;
  /** Turns IPv4 forwarding on. */
  enableForwarding?(): Awaitable<RequestOutcome>;
  /** Sets a link administratively up (or down). */
  setLinkUp(index: number, up: boolean): Awaitable<RequestOutcome>;
  /** Releases the socket. */
  close(): void;
}
