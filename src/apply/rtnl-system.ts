// The real NetSystem: a thin adapter over the rtnetlink layer (src/system/netlink/rtnl.ts).
import { BenitoError, messageOf } from "../errors";
import { Rtnl } from "../system/netlink/rtnl";
import { enableIpForwarding, enablePromoteSecondaries, ipForwarding } from "../system/sysctl";
import { NetlinkError } from "../system/netlink/errors";
import type { RequestOutcome, Route } from "../system/netlink/types";
import type { NetSystem } from "./net-system";
import { ENOENT } from "../system/libc-constants";

const success: RequestOutcome = Object.freeze({ ok: true });

/** Runs one change and turns a refusal into a failed outcome (the executors report it and go on). */
function attempt(change: () => void): RequestOutcome {
  try {
    change();
    return success;
  } catch (error) {
    return { ok: false, message: error instanceof BenitoError ? error.reason : messageOf(error) };
  }
}

/** The kernel answers a dump of a routing table that does not exist yet with ENOENT: that table is empty. */
function routesOf(rtnl: Rtnl, table: number): Route[] {
  try {
    return rtnl.routes(table);
  } catch (error) {
    if (error instanceof NetlinkError && error.errno === ENOENT) return [];
    throw error;
  }
}

/**
 * Opens rtnetlink as a NetSystem (throws BenitoError when it cannot): in the current network
 * namespace, or in the named one. Then the socket is made inside it (a socket stays bound to the
 * namespace it was made in) and each sysctl file is opened inside it too, with the calling thread
 * there for those opens only (src/system/netns-open.ts): `status` looks into every process vnode
 * without starting a program.
 */
export function openNetSystem(netns?: string): NetSystem {
  const rtnl = Rtnl.open({ netns });
  return {
    links: () => rtnl.links(),
    addresses: () => rtnl.addresses(),
    routes: (table) => routesOf(rtnl, table),
    applyRoutes: (requests, timings) => rtnl.applyRoutes(requests, timings),
    addAddress: (index, address, prefixLength) => attempt(() => rtnl.addAddress(index, address, prefixLength)),
    deleteAddress: (index, address, prefixLength) => attempt(() => rtnl.deleteAddress(index, address, prefixLength)),
    promoteSecondaries: (ifname) => attempt(() => enablePromoteSecondaries(ifname, netns)),
    setLinkUp: (index, up) => attempt(() => rtnl.setLinkUp(index, up)),
    forwarding: () => ipForwarding(netns),
    enableForwarding: () => attempt(() => enableIpForwarding(netns)),
    close: () => rtnl.close(),
  };
}
