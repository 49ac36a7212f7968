// The experiment's semantic checks that no single value shows: names, placement, switch ports, MACs and addresses taken twice (pure).
import type { Computer, Problem, Topology, TopdlInterface } from "../topdl/types";
import { formatIp4, parseIp4, prefixMask } from "./ip4";
import { interfaceNameProblems, nodeNameProblem, switchPathProblem } from "./names";
import type { Node, NodeInterface } from "./node";

/** Finding interface: a problem and what it involves (boot reports those that concern its host). */
export interface Finding extends Problem {
  /** The names of the computers involved. */
  readonly nodes: readonly string[];
  /** The LANs (substrates) involved. */
  readonly lans: readonly string[];
}

interface Placed {
  readonly node: Node;
  readonly computer: Computer;
  readonly iface: NodeInterface;
  readonly element: TopdlInterface;
}

/**
 * Every semantic problem of a topology whose values are each valid: names that cannot be host,
 * interface, namespace or path names; vnodes placed on a pnode the topology does not have; a
 * switch port used twice on one pnode; a MAC used twice on one LAN; an IPv4 address on two
 * interfaces; a host address that is its subnet's network or broadcast address (not for /31 and
 * /32, which have neither).
 *
 * @param topology The (normalized) topology, for the computers' lines and paths.
 * @param nodes Its computers resolved, in the same order as its computer elements.
 */
export function semanticProblems(topology: Topology, nodes: readonly Node[]): Finding[] {
  const computers = topology.elements.filter((element): element is Computer => element.kind === "computer");
  const findings: Finding[] = [];
  const add = (line: number, path: string, message: string, involved: readonly string[], lans: readonly string[] = []) => findings.push({ file: topology.file, line, path, message, nodes: involved, lans });
  const names = new Set(computers.map((computer) => computer.name));
  const placed: Placed[] = [];

  for (let index = 0; index < nodes.length; index += 1) {
    const node = nodes[index]!;
    const computer = computers[index];
    if (computer === undefined) continue;
    const nameProblem = nodeNameProblem(node.name);
    if (nameProblem !== undefined) add(computer.line, `${computer.path}.name`, `computer name ${JSON.stringify(node.name)} cannot be a host, namespace or file name: ${nameProblem}`, [node.name]);
    if (node.host !== undefined && !names.has(node.host)) {
      const lans = node.interfaces.map((iface) => iface.substrate);
      add(computer.line, computer.path, `vnode ${node.name} is placed on pnode ${JSON.stringify(node.host)} (benito:host), which is no computer of the topology`, [node.name, node.host], lans);
    }
    for (let position = 0; position < node.interfaces.length; position += 1) {
      const iface = node.interfaces[position]!;
      const element = computer.interfaces[position];
      if (element === undefined) continue;
      placed.push({ node, computer, iface, element });
      if (iface.ifname !== undefined) {
        const problems = interfaceNameProblems(iface.ifname);
        if (problems.length > 0) add(element.line, element.path, `benito:ifname ${JSON.stringify(iface.ifname)} is not an interface name: ${problems.join("; ")}`, [node.name]);
      }
      if (iface.vdeSwitch !== undefined) {
        const problem = switchPathProblem(iface.vdeSwitch);
        if (problem !== undefined) add(element.line, element.path, `benito:vde_switch ${JSON.stringify(iface.vdeSwitch)}: ${problem}`, [node.name]);
      }
    }
  }

  const where = (entry: Placed) => `${entry.node.name}.${entry.iface.name} (line ${entry.element.line})`;
  const again = (first: Placed, entry: Placed, message: string) =>
    add(entry.element.line, entry.element.path, message, [first.node.name, entry.node.name], [first.iface.substrate, entry.iface.substrate]);
  // Each check is its own pass (findings of one line keep this order), with plain loops and Maps
  // keyed by the values themselves: tens of thousands of interfaces, no key strings built.
  // A switch folder is local to the pnode that runs it: the same path on two pnodes is two switches.
  const ports = new Map<string, Map<string, Map<number, Placed>>>();
  for (const entry of placed) {
    const { vdeSwitch, vdePort } = entry.iface;
    if (vdeSwitch === undefined || vdePort === undefined) continue;
    const pnode = entry.node.host ?? entry.node.name;
    const switches = ports.get(pnode) ?? ports.set(pnode, new Map()).get(pnode)!;
    const taken = switches.get(vdeSwitch) ?? switches.set(vdeSwitch, new Map()).get(vdeSwitch)!;
    const first = taken.get(vdePort);
    if (first === undefined) taken.set(vdePort, entry);
    else again(first, entry, `port ${vdePort} of switch ${vdeSwitch} is already taken by ${where(first)}`);
  }
  const macs = new Map<string, Map<string, Placed>>();
  for (const entry of placed) {
    const { mac, substrate } = entry.iface;
    if (mac === undefined || substrate === "") continue;
    const onLan = macs.get(substrate) ?? macs.set(substrate, new Map()).get(substrate)!;
    const first = onLan.get(mac);
    if (first === undefined) onLan.set(mac, entry);
    else again(first, entry, `MAC ${mac} is used twice on LAN ${substrate}: also by ${where(first)}`);
  }
  const addresses = new Map<string, Placed>();
  for (const entry of placed) {
    const address = entry.iface.ip4?.address;
    if (address === undefined) continue;
    const first = addresses.get(address);
    if (first === undefined) addresses.set(address, entry);
    else again(first, entry, `IPv4 address ${address} is also on ${where(first)}`);
  }
  for (const entry of placed) {
    const ip4 = entry.iface.ip4;
    if (ip4 === undefined || ip4.prefixLength >= 31) continue;
    const address = parseIp4(ip4.address);
    if (address === undefined) continue;
    const mask = prefixMask(ip4.prefixLength);
    const network = (address & mask) >>> 0;
    const broadcast = (network | (~mask >>> 0)) >>> 0;
    if (address === network || address === broadcast) {
      const kind = address === network ? "network" : "broadcast";
      add(entry.element.line, entry.element.path, `${ip4.address}/${ip4.prefixLength} is the ${kind} address of ${formatIp4(network)}/${ip4.prefixLength}, not a host address`, [entry.node.name]);
    }
  }
  return findings.sort((a, b) => a.line - b.line);
}

/**
 * The findings that concern a host: those involving it, one of the nodes it hosts, or a LAN one
 * of them is on (a vnode placed on a missing pnode, or an address taken twice, on a LAN this
 * host serves breaks that LAN).
 */
export function findingsFor(findings: readonly Finding[], own: readonly Node[]): Finding[] {
  const names = new Set(own.map((node) => node.name));
  const lans = new Set(own.flatMap((node) => node.interfaces.filter((iface) => !iface.control).map((iface) => iface.substrate)));
  return findings.filter((finding) => finding.nodes.some((name) => names.has(name)) || finding.lans.some((lan) => lans.has(lan)));
}
