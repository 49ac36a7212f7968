// Finds the link on this host that stands for a TopDL interface: by its MAC first, else by its benito:ifname.
import { Rtnl } from "./rtnl";

/** What a TopDL interface says about the host NIC it is: its MAC and/or a fixed interface name. */
export interface HostNicHint {
  readonly mac?: string | undefined;
  readonly ifname?: string | undefined;
}

/**
 * The name of the link in this network namespace that has the hint's MAC (a plain device before a
 * bridge or VLAN sharing it) or, failing that, the hint's interface name; undefined when neither is here.
 */
export function hostLinkName(hint: HostNicHint): string | undefined {
  const rtnl = Rtnl.open();
  try {
    const link = (hint.mac === undefined ? undefined : rtnl.linkByMac(hint.mac)) ?? (hint.ifname === undefined ? undefined : rtnl.linkByName(hint.ifname));
    return link?.name;
  } finally {
    rtnl.close();
  }
}
