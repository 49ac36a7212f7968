// Plans `benito ifaces`: which NIC each experimental interface is, which IPv4 address to add or replace, which links to bring up.
import { inSubnet, parseIp4 } from "../model/ip4";
import type { HostView, NodeInterface } from "../model/node";
import type { AddressInfo, LinkInfo } from "../model/kernel-state";

/** OwnedAddress interface: an address benito set earlier (from its state file), identified by the NIC's MAC. */
export interface OwnedAddress {
  /** The NIC's hardware address when benito set it (lower-case). */
  readonly mac: string;
  readonly address: string;
  readonly prefixLength: number;
}

/** IfaceStep type: one change, in order. `iface` is the TopDL interface name ("" for a leftover benito address). */
export type IfaceStep =
  | { readonly kind: "address.delete"; readonly iface: string; readonly index: number; readonly ifname: string; readonly mac: string; readonly address: string; readonly prefixLength: number }
  | { readonly kind: "address.add"; readonly iface: string; readonly index: number; readonly ifname: string; readonly mac: string; readonly address: string; readonly prefixLength: number }
  | { readonly kind: "link.promote-secondaries"; readonly iface: string; readonly index: number; readonly ifname: string }
  | { readonly kind: "link.up"; readonly iface: string; readonly index: number; readonly ifname: string };

/** IfaceStatus type: what becomes of one TopDL interface. */
export type IfaceStatus = "configured" | "changed" | "unchanged" | "missing" | "skipped";

/** IfacePlanEntry interface: one TopDL interface (or one leftover NIC) and what the plan does with it. */
export interface IfacePlanEntry {
  /** TopDL interface name; "" for a NIC that only has a leftover benito address. */
  readonly iface: string;
  /** The local NIC, when found. */
  readonly ifname?: string;
  readonly mac?: string;
  /** The wanted "address/prefix", when the interface has one. */
  readonly address?: string;
  readonly status: IfaceStatus;
  /** Why it is missing or skipped. */
  readonly note?: string;
}

/** IfacePlan interface: ordered steps plus one entry per interface. */
export interface IfacePlan {
  readonly steps: readonly IfaceStep[];
  readonly entries: readonly IfacePlanEntry[];
  /**
   * "enable" when this host routes between its LANs (two or more experimental interfaces with
   * addresses, as Emulab's multi-homed nodes) and IPv4 forwarding is off; benito never turns it off.
   */
  readonly forwarding: "enable" | "on" | "not-a-router";
}

/**
 * Plans the experimental interfaces of this host. Each interface's NIC is found by
 * `benito:mac_address`, else by `benito:ifname`; one that matches no NIC is "missing" (a
 * warning naming the MAC) and the others proceed. Control-net interfaces are skipped. An address
 * benito set earlier (listed in `owned`) that differs from the wanted one is deleted first; the
 * wanted one is added when absent; addresses benito did not set are left alone. Addresses benito
 * set on NICs the topology no longer configures are deleted too.
 *
 * @param view This host's view of the experiment.
 * @param links Every link of the namespace.
 * @param addresses Every IPv4 address of the namespace.
 * @param owned The addresses benito set earlier.
 * @param forwardingOn Whether IPv4 forwarding is on now.
 */
export function planIfaces(view: HostView, links: readonly LinkInfo[], addresses: readonly AddressInfo[], owned: readonly OwnedAddress[], forwardingOn = true): IfacePlan {
  const steps: IfaceStep[] = [];
  const entries: IfacePlanEntry[] = [];
  const claimed = new Set<number>();
  const perLink = (index: number) => addresses.filter((address) => address.index === index);
  const isOwned = (link: LinkInfo, address: AddressInfo) => owned.some((entry) => entry.mac === link.mac && entry.address === address.address && entry.prefixLength === address.prefixLength);

  // Pass 1: each interface's NIC. Pass 2 then keeps every address some interface wants on that NIC
  // (two interfaces may name one NIC; neither may delete the other's address).
  const nics = view.self.interfaces.map((iface) => (iface.control ? undefined : findNic(iface, links)));
  const wantedOn = new Map<number, Set<string>>();
  view.self.interfaces.forEach((iface, position) => {
    const link = nics[position];
    if (link === undefined || iface.ip4 === undefined) return;
    const set = wantedOn.get(link.index) ?? new Set<string>();
    set.add(`${iface.ip4.address}/${iface.ip4.prefixLength}`);
    wantedOn.set(link.index, set);
  });
  const planned = new Set<string>();
  view.self.interfaces.forEach((iface, position) => {
    const wanted = iface.ip4 === undefined ? undefined : `${iface.ip4.address}/${iface.ip4.prefixLength}`;
    if (iface.control) {
      entries.push({ iface: iface.name, address: wanted, status: "skipped", note: "control_net interface" });
      return;
    }
    const link = nics[position];
    if (link === undefined) {
      entries.push({ iface: iface.name, mac: iface.mac, address: wanted, status: "missing", note: missingNote(iface, wanted) });
      return;
    }
    const first = !claimed.has(link.index);
    claimed.add(link.index);
    const present = perLink(link.index);
    const base = { iface: iface.name, index: link.index, ifname: link.name, mac: link.mac };
    const keep = wantedOn.get(link.index);
    const deletions = first ? present.filter((address) => !keep?.has(`${address.address}/${address.prefixLength}`) && isOwned(link, address)) : [];
    if (deletions.some((address) => sharesSubnet(address, present, deletions))) steps.push({ kind: "link.promote-secondaries", iface: iface.name, index: link.index, ifname: link.name });
    for (const address of deletions) steps.push({ kind: "address.delete", ...base, address: address.address, prefixLength: address.prefixLength });
    const ip4 = iface.ip4;
    const needsAdd = ip4 !== undefined && !present.some((address) => address.address === ip4.address && address.prefixLength === ip4.prefixLength);
    if (ip4 !== undefined && needsAdd && !planned.has(`${link.index} ${wanted}`)) {
      planned.add(`${link.index} ${wanted}`);
      steps.push({ kind: "address.add", ...base, address: ip4.address, prefixLength: ip4.prefixLength });
    }
    if (!link.up && first) steps.push({ kind: "link.up", iface: iface.name, index: link.index, ifname: link.name });
    const status: IfaceStatus = deletions.length > 0 ? "changed" : needsAdd || !link.up ? "configured" : "unchanged";
    entries.push({ iface: iface.name, ifname: link.name, mac: link.mac, address: wanted, status });
  });

  // Addresses benito set on NICs the topology no longer configures: converge by removing them.
  const leftovers: IfaceStep[] = [];
  for (const link of links) {
    if (claimed.has(link.index)) continue;
    const present = perLink(link.index);
    const deletions = present.filter((address) => isOwned(link, address));
    if (deletions.some((address) => sharesSubnet(address, present, deletions))) leftovers.push({ kind: "link.promote-secondaries", iface: "", index: link.index, ifname: link.name });
    for (const address of deletions) {
      leftovers.push({ kind: "address.delete", iface: "", index: link.index, ifname: link.name, mac: link.mac, address: address.address, prefixLength: address.prefixLength });
      entries.push({ iface: "", ifname: link.name, mac: link.mac, address: `${address.address}/${address.prefixLength}`, status: "changed", note: "benito's address on a NIC the topology no longer configures: removed" });
    }
  }
  const router = view.self.interfaces.filter((iface) => !iface.control && iface.ip4 !== undefined).length >= 2;
  return { steps: [...leftovers, ...steps], entries, forwarding: !router ? "not-a-router" : forwardingOn ? "on" : "enable" };
}

/**
 * True when deleting `address` could take others' addresses with it: another address that stays
 * is in the same subnet (deleting a primary deletes its secondaries unless promote_secondaries is set).
 */
function sharesSubnet(address: AddressInfo, present: readonly AddressInfo[], deletions: readonly AddressInfo[]): boolean {
  const network = parseIp4(address.address) ?? 0;
  return present.some((other) => !deletions.includes(other) && inSubnet(parseIp4(other.address) ?? 0, network, Math.min(address.prefixLength, other.prefixLength)));
}

/** Link kinds that take the MAC of a device beneath them (a bridge takes its first port's): the device itself is the NIC. */
const stackedKinds = new Set(["bridge", "bond", "team", "vlan", "macvlan", "macvtap", "ipvlan", "ipvtap", "vrf"]);

/**
 * The NIC of an interface: by MAC first (when several links share it, a plain device before a
 * virtual one before a stacked one such as a bridge), then by the explicit `benito:ifname`.
 */
function findNic(iface: NodeInterface, links: readonly LinkInfo[]): LinkInfo | undefined {
  if (iface.mac !== undefined) {
    const mac = iface.mac.toLowerCase();
    const rank = (link: LinkInfo) => (link.kind === "" ? 0 : stackedKinds.has(link.kind) ? 2 : 1);
    let best: LinkInfo | undefined;
    for (const link of links) {
      if (link.mac === mac && (best === undefined || rank(link) < rank(best))) best = link;
    }
    if (best !== undefined) return best;
  }
  if (iface.ifname !== undefined) return links.find((link) => link.name === iface.ifname);
  return undefined;
}

function missingNote(iface: NodeInterface, wanted: string | undefined): string {
  const what = `interface ${iface.name}${wanted === undefined ? "" : ` (${wanted})`}`;
  if (iface.mac === undefined && iface.ifname === undefined) return `${what} has neither benito:mac_address nor benito:ifname, so no NIC can be chosen`;
  const parts = [iface.mac === undefined ? undefined : `MAC ${iface.mac}`, iface.ifname === undefined ? undefined : `name ${iface.ifname}`].filter((part) => part !== undefined);
  return `no NIC with ${parts.join(" or ")} for ${what}`;
}
