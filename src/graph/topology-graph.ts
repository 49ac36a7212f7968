// The experiment as a graph (pure data): computers grouped by pnode, LANs as nodes or as edges, labels with addresses and shaping.
import { checkNodes, controlSubstrate } from "../model/resolve";
import type { Node } from "../model/node";
import type { Substrate, Topology } from "../topdl/types";

/** How a computer is drawn: by its platform (`benito:node_type`). */
export type ComputerShape = "pnode" | "embedded_pnode" | "process" | "qemu" | "other";

/** GraphComputer interface: one computer. */
export interface GraphComputer {
  /** The element's name. */
  readonly name: string;
  /** Its `benito:node_type` as written ("" when absent). */
  readonly nodeType: string;
  readonly shape: ComputerShape;
  /** More than one experimental interface: it can forward between LANs. */
  readonly router: boolean;
}

/** GraphLan interface: one experiment substrate with more or fewer than two members (drawn as a node). */
export interface GraphLan {
  readonly name: string;
  /** "10 Mb/s, 20 ms, loss 1%", or "" when unshaped. */
  readonly shaping: string;
}

/** GraphLink interface: an edge, either a member to its LAN node or, for a two-member LAN, computer to computer. */
export interface GraphLink {
  /** Computer name. */
  readonly from: string;
  /** Computer name (two-member LAN) or LAN name (`toLan`). */
  readonly to: string;
  readonly toLan: boolean;
  /** Address(es) and, for a two-member LAN, its name and shaping. */
  readonly label: string;
}

/** GraphCluster interface: a pnode and the vnodes it hosts. */
export interface GraphCluster {
  /** The pnode's name (it may be absent from the document: a vnode names a host that is not an element). */
  readonly host: string;
  /** Its computers in document order, the pnode itself first when it is one. */
  readonly members: readonly string[];
}

/** TopologyGraph interface: everything a renderer draws, in a deterministic order. */
export interface TopologyGraph {
  readonly computers: readonly GraphComputer[];
  readonly lans: readonly GraphLan[];
  readonly links: readonly GraphLink[];
  readonly clusters: readonly GraphCluster[];
}

const shapes: Readonly<Record<string, ComputerShape>> = { pnode: "pnode", embedded_pnode: "embedded_pnode", process: "process", qemu: "qemu" };

/** A figure with at most 3 decimals and no trailing zeros. */
function figure(value: number): string {
  return String(Number(value.toFixed(3)));
}

/** A capacity in kb/s as people say it: "10 Mb/s", "1.5 Gb/s", "512 kb/s". */
export function capacityText(kbps: number): string {
  if (kbps >= 1_000_000) return `${figure(kbps / 1_000_000)} Gb/s`;
  if (kbps >= 1000) return `${figure(kbps / 1000)} Mb/s`;
  return `${figure(kbps)} kb/s`;
}

/** A substrate's shaping in words: "10 Mb/s, 20 ms, loss 1%" ("" when unshaped). */
export function shapingText(substrate: Substrate): string {
  const parts: string[] = [];
  if (substrate.capacity !== undefined && substrate.capacity.rate > 0) parts.push(capacityText(substrate.capacity.rate));
  if (substrate.latency !== undefined && substrate.latency.time > 0) parts.push(`${figure(substrate.latency.time)} ms`);
  const loss = Number(substrate.attributes.find((attribute) => attribute.key === "loss")?.value);
  if (Number.isFinite(loss) && loss > 0) parts.push(`loss ${figure(loss * 100)}%`);
  return parts.join(", ");
}

/** The addresses of a node's interfaces on one substrate, e.g. "10.0.1.1/24" (empty when none is given). */
function addressesOn(node: Node, substrate: string): string {
  return node.interfaces
    .filter((iface) => iface.substrate === substrate && iface.ip4 !== undefined)
    .map((iface) => `${iface.ip4?.address}/${iface.ip4?.prefixLength}`)
    .join(" ");
}

/**
 * Builds the graph of a topology. Computers only (other elements carry no interfaces benito
 * plumbs); the control network is left out (it joins everything and says nothing). A value
 * benito would refuse at boot (a bad address) only loses its label here: a picture of an
 * imperfect document is still useful, and `topdl validate` is the place for the problems.
 */
export function topologyGraph(topology: Topology): TopologyGraph {
  const nodes = checkNodes(topology).nodes;
  const names = new Set(nodes.map((node) => node.name));
  const computers: GraphComputer[] = nodes.map((node) => ({
    name: node.name,
    nodeType: node.nodeType,
    shape: shapes[node.nodeType] ?? "other",
    router: node.interfaces.filter((iface) => !iface.control).length > 1,
  }));
  const members = new Map<string, Node[]>();
  for (const node of nodes) {
    for (const substrate of new Set(node.interfaces.filter((iface) => !iface.control).map((iface) => iface.substrate))) {
      const list = members.get(substrate) ?? [];
      list.push(node);
      members.set(substrate, list);
    }
  }
  const lans: GraphLan[] = [];
  const links: GraphLink[] = [];
  for (const substrate of topology.substrates) {
    if (substrate.name === controlSubstrate) continue;
    const list = members.get(substrate.name) ?? [];
    const shaping = shapingText(substrate);
    const [first, second] = list;
    if (list.length === 2 && first !== undefined && second !== undefined) {
      const ends = [addressesOn(first, substrate.name), addressesOn(second, substrate.name)].filter((text) => text !== "");
      const label = [shaping === "" ? substrate.name : `${substrate.name}: ${shaping}`, ...(ends.length > 0 ? [ends.join(" - ")] : [])].join("\n");
      links.push({ from: first.name, to: second.name, toLan: false, label });
      continue;
    }
    lans.push({ name: substrate.name, shaping });
    for (const node of list) links.push({ from: node.name, to: substrate.name, toLan: true, label: addressesOn(node, substrate.name) });
  }
  const clusters = new Map<string, string[]>();
  for (const node of nodes) {
    const host = node.host ?? (node.nodeType === "pnode" || node.nodeType === "embedded_pnode" ? node.name : undefined);
    if (host === undefined) continue;
    const list = clusters.get(host) ?? [];
    if (host === node.name) list.unshift(node.name);
    else list.push(node.name);
    clusters.set(host, list);
  }
  // A pnode hosting nothing is not a group; a host named by vnodes but absent from the document still is.
  const grouped = [...clusters.entries()].filter(([host, list]) => list.length > 1 || !names.has(host)).map(([host, list]) => ({ host, members: list }));
  return { computers, lans, links, clusters: grouped };
}
