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

/** Opens rtnetlink in the current network namespace as a NetSystem (throws BenitoError when it cannot). */
export function openNetSystem(): NetSystem {
  const rtnl = Rtnl.open();
  return {
    links: () => rtnl.links(),
    addresses: () => rtnl.addresses(),
    routes: (table) => routesOf(rtnl, table),
    applyRoutes: (requests) => rtnl.applyRoutes(requests),
    addAddress: (index, address, prefixLength) => attempt(() => rtnl.addAddress(index, address, prefixLength)),
    deleteAddress: (index, address, prefixLength) => attempt(() => rtnl.deleteAddress(index, address, prefixLength)),
    promoteSecondaries: (ifname) => attempt(() => enablePromoteSecondaries(ifname)),
    setLinkUp: (index, up) => attempt(() => rtnl.setLinkUp(index, up)),
    forwarding: () => ipForwarding(),
    enableForwarding: () => attempt(() => enableIpForwarding()),
    close: () => rtnl.close(),
  };
}
