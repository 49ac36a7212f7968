// This node's view of the experiment: pure data derived from the topology, in benito's own words.

/** The platforms a node can be (`benito:node_type`; `containers:node_type` is read the same). */
export type NodeType = string;

/** IPv4 address with prefix length, e.g. { address: "10.1.1.2", prefixLength: 24 }. */
export interface Ip4 {
  readonly address: string;
  readonly prefixLength: number;
}

/** NodeInterface interface: one interface of a node, with everything benito needs to plumb it. */
export interface NodeInterface {
  /** The TopDL interface name (e.g. "inf000"). */
  readonly name: string;
  /** The substrate (LAN) it is on; the first when TopDL lists several. */
  readonly substrate: string;
  /** True when the substrate is `control_net`: never configured as an experiment interface. */
  readonly control: boolean;
  /** `ip4_address` + `ip4_netmask`, when both are given. */
  readonly ip4?: Ip4;
  /** `benito:mac_address`, lower-cased, colon-separated. */
  readonly mac?: string;
  /** `benito:ifname`: an explicit local NIC name, the fallback when no MAC matches. */
  readonly ifname?: string;
  /** `benito:vde_switch`: the switch's socket folder. */
  readonly vdeSwitch?: string;
  /** `benito:vde_port`. */
  readonly vdePort?: number;
}

/** Shaping interface: a substrate's impairments, from its capacity/latency/loss. */
export interface Shaping {
  /** One-way delay in ms (`latency`). */
  readonly latencyMs?: number;
  /** Bandwidth in kb/s (`capacity`). */
  readonly capacityKbps?: number;
  /** Loss fraction 0..1 (attribute `loss`). */
  readonly loss?: number;
}

/** Lan interface: one experiment substrate as benito sees it. */
export interface Lan {
  readonly name: string;
  /** Empty object when the substrate is unshaped. */
  readonly shaping: Shaping;
  /** Its `benito:datapath` attribute ("vde" or "kernel"), when it has one (site.conf `datapath` otherwise). */
  readonly datapath?: "vde" | "kernel";
}

/** Node interface: one computer of the experiment, as benito plumbs it. */
export interface Node {
  /** The element's name. */
  readonly name: string;
  /** Its localnames (host identity matches these too). */
  readonly localnames: readonly string[];
  /** `benito:node_type` ("pnode", "embedded_pnode", "qemu", "process", …); "" when absent. */
  readonly nodeType: NodeType;
  /** `benito:host` (or `containers:partition`'s pnode): the pnode hosting this vnode, if any. */
  readonly host?: string;
  /** Every interface, control ones included (flagged). */
  readonly interfaces: readonly NodeInterface[];
  /** All attributes of the element, first value per key (key as written). */
  readonly attributes: ReadonlyMap<string, string>;
  /** `startup` attribute: the command a `process` node runs. */
  readonly startup?: string;
  /** Where the element is, for messages. */
  readonly path: string;
  readonly line: number;
}

/** HostView interface: what the node benito runs on needs to know. */
export interface HostView {
  /** This node. */
  readonly self: Node;
  /** The nodes it hosts (`benito:host` = this node), when it is a pnode. */
  readonly children: readonly Node[];
  /** Every substrate of the experiment, by name. */
  readonly lans: ReadonlyMap<string, Lan>;
}
