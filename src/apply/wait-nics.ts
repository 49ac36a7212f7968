// `boot --wait-nics`: waits, bounded, for the NICs the topology names for this host to appear (late drivers, hotplug), and says which never did.
import type { NodeInterface } from "../model/node";
import type { NetSystem } from "./net-system";
import { openNetSystem } from "./rtnl-system";

/** How a wanted NIC is found: by MAC (the topology's `benito:mac_address`), else by `benito:ifname`. */
const describe = (nic: NodeInterface) => (nic.mac !== undefined ? `${nic.name} (MAC ${nic.mac})` : `${nic.name} (${nic.ifname ?? "?"})`);

/**
 * Polls the links until every experiment NIC of this host is present or timeoutMs has passed.
 *
 * @param interfaces This host's interfaces; control ones and those with neither MAC nor ifname are not waited for.
 * @returns The NICs still missing at the end, described ("inf001 (MAC 02:…)"); empty when all came.
 */
export async function waitForNics(interfaces: readonly NodeInterface[], timeoutMs: number, open: () => NetSystem = openNetSystem): Promise<string[]> {
  const wanted = interfaces.filter((nic) => !nic.control && (nic.mac !== undefined || nic.ifname !== undefined));
  if (wanted.length === 0 || timeoutMs <= 0) return [];
  const net = open();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const links = await net.links();
      const missing = wanted.filter((nic) => !links.some((link) => (nic.mac !== undefined ? link.mac === nic.mac : link.name === nic.ifname)));
      if (missing.length === 0 || Date.now() >= deadline) return missing.map(describe);
      await Bun.sleep(Math.min(200, Math.max(0, deadline - Date.now())));
    }
  } finally {
    net.close();
  }
}
