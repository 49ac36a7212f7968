// Allocates control-network IPv4 addresses and MACs to an experiment's VMs: deterministic, collision-free, no coordination.
import { formatIp4, isNetworkAddress, parseIp4, prefixMask } from "./ip4";
import type { Node } from "./node";

/** ControlPool interface: where addresses come from (site.conf `control_pool`, `control_mac_prefix`). */
export interface ControlPool {
  /** Network address of the pool as a 32-bit number. */
  readonly network: number;
  readonly prefixLength: number;
  /** Three-byte MAC prefix, e.g. "02:be:c0". */
  readonly macPrefix: string;
}

/** ControlLease interface: one VM's control address. */
export interface ControlLease {
  readonly node: string;
  readonly address: string;
  readonly prefixLength: number;
  readonly mac: string;
  /** "topology" when topo.xml gave it, "pool" when allocated here. */
  readonly source: "topology" | "pool";
}

/** A problem that makes allocation impossible (reported as input errors). */
export interface AllocationProblem {
  readonly node: string;
  readonly message: string;
}

/**
 * True for the vnodes that have a control NIC and so need a control address and a control TAP:
 * a hosted vnode with an interface on control_net (the qemu platform gives exactly those a
 * control NIC). `process` vnodes without one share nothing with the control network.
 */
export function hasControlNic(node: Node): boolean {
  return node.host !== undefined && node.interfaces.some((nic) => nic.control);
}

/**
 * FNV-1a over the node name: a stable hash every pnode computes alike (no randomness, no
 * dependence on document order), so each pnode reaches the same allocation alone.
 */
export function nameHash(name: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * Allocates control leases for every VM of the experiment.
 *
 * Addresses the topology gives are taken as they are and reserved first. Every other VM, in
 * name order, gets the slot its name hashes to, probing linearly past taken slots; the network
 * address, the broadcast address and the first usable address (conventionally the gateway) are
 * never handed out. The MAC is the prefix plus the address's offset in the pool, so two VMs
 * share a MAC only if they share an address, which the allocation rules out.
 *
 * @param vms Every VM of the experiment (not just this pnode's), so all pnodes agree.
 * @param pool The pool, or undefined when site.conf has none (then every VM must have a topology address).
 * @param reserved Control addresses other nodes (pnodes) hold: never handed out.
 */
export function allocateControl(vms: readonly Node[], pool: ControlPool | undefined, reserved: readonly string[] = []): { leases: ControlLease[]; problems: AllocationProblem[] } {
  const leases = new Map<string, ControlLease>();
  const problems: AllocationProblem[] = [];
  const taken = new Set<number>(reserved.map((address) => parseIp4(address)).filter((value): value is number => value !== undefined));
  const takenMacs = new Set<string>();
  const pending: Node[] = [];

  for (const vm of [...vms].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    const control = vm.interfaces.find((iface) => iface.control);
    if (control?.ip4 !== undefined && control.mac !== undefined) {
      const value = parseIp4(control.ip4.address) ?? 0;
      if (taken.has(value)) problems.push({ node: vm.name, message: `control address ${control.ip4.address} is given to another VM too` });
      if (takenMacs.has(control.mac)) problems.push({ node: vm.name, message: `control MAC ${control.mac} is given to another VM too` });
      taken.add(value);
      takenMacs.add(control.mac);
      leases.set(vm.name, { node: vm.name, address: control.ip4.address, prefixLength: control.ip4.prefixLength, mac: control.mac, source: "topology" });
    } else {
      pending.push(vm);
    }
  }

  if (pending.length > 0 && pool === undefined) {
    for (const vm of pending) problems.push({ node: vm.name, message: "no control address in topo.xml and no control_pool in site.conf" });
    return { leases: [...leases.values()], problems };
  }
  if (pool !== undefined) {
    const size = 2 ** (32 - pool.prefixLength);
    // Offsets 0 (network), 1 (gateway) and size-1 (broadcast) are reserved.
    const usable = size - 3;
    const free = usable - [...taken].filter((value) => value > pool.network + 1 && value < pool.network + size - 1).length;
    if (pending.length > free) {
      for (const vm of pending) problems.push({ node: vm.name, message: `control_pool /${pool.prefixLength} has ${Math.max(free, 0)} free addresses for ${pending.length} VMs` });
      return { leases: [...leases.values()], problems };
    }
    for (const vm of pending) {
      let offset = 2 + (nameHash(vm.name) % usable);
      while (taken.has(pool.network + offset)) offset = offset + 1 >= size - 1 ? 2 : offset + 1;
      taken.add(pool.network + offset);
      const mac = `${pool.macPrefix}:${[16, 8, 0].map((shift) => ((offset >>> shift) & 0xff).toString(16).padStart(2, "0")).join(":")}`;
      leases.set(vm.name, { node: vm.name, address: formatIp4(pool.network + offset), prefixLength: pool.prefixLength, mac, source: "pool" });
    }
  }
  const ordered = [...leases.values()].sort((x, y) => (x.node < y.node ? -1 : x.node > y.node ? 1 : 0));
  return { leases: ordered, problems };
}

/**
 * Parses site.conf's `control_pool` ("172.30.0.0/16") and `control_mac_prefix` ("02:be:c0").
 * Returns an error message instead of throwing so the caller can name the file and line.
 */
export function parseControlPool(cidr: string, macPrefix: string | undefined): ControlPool | string {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr.trim());
  const address = match ? parseIp4(match[1] ?? "") : undefined;
  const prefixLength = Number(match?.[2]);
  if (address === undefined || !(prefixLength >= 8 && prefixLength <= 30)) return `control_pool "${cidr}" is not an IPv4 CIDR between /8 and /30`;
  if (!isNetworkAddress(address, prefixLength)) return `control_pool "${cidr}" has host bits set (the network is ${formatIp4((address & prefixMask(prefixLength)) >>> 0)}/${prefixLength})`;
  const prefix = (macPrefix ?? "02:be:c0").trim().toLowerCase();
  if (!/^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/.test(prefix)) return `control_mac_prefix "${macPrefix}" is not three bytes like 02:be:c0`;
  // A unicast, locally administered prefix: the group bit must be clear.
  if ((parseInt(prefix.slice(0, 2), 16) & 1) === 1) return `control_mac_prefix "${macPrefix}" is a multicast prefix (lowest bit of the first byte set)`;
  return { network: address, prefixLength, macPrefix: prefix };
}
