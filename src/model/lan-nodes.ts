// Reads the nodes a pnode's tunnels depend on straight from a TopDL document: the members of its LANs and their pnodes.
import { InputError } from "../errors";
import { extractLanTopology } from "../topdl/extract-lans";
import type { ParseOptions } from "../topdl/parse";
import { formatProblem } from "../topdl/problems";
import type { HostView, Node } from "./node";
import { resolveNodes } from "./resolve";

/** LanNodes interface: the nodes on some LANs (with their pnodes), and every substrate name of the document. */
export interface LanNodes {
  readonly nodes: readonly Node[];
  readonly substrateNames: readonly string[];
  /** True when only those LANs' parts of the document were read. */
  readonly partial: boolean;
}

/** The LANs a host's switches carry: the substrates of its and its vnodes' switch-plugged interfaces. */
export function switchedLans(view: HostView): Set<string> {
  const lans = new Set<string>();
  for (const node of [view.self, ...view.children]) for (const iface of node.interfaces) if (iface.vdeSwitch !== undefined) lans.add(iface.substrate);
  return lans;
}

/**
 * Every node with an interface on one of `lans`, and the pnodes hosting them, from a document
 * (bytes or text); large documents are not parsed whole (see extractLanTopology).
 *
 * @throws InputError for a problem in the parts read (every problem listed).
 */
export function lanNodesFromDocument(input: Uint8Array | string, file: string, lans: ReadonlySet<string>, options: ParseOptions = {}): LanNodes {
  // No LAN, no tunnel: nothing to read.
  if (lans.size === 0) return { nodes: [], substrateNames: [], partial: true };
  const result = extractLanTopology(input, file, lans, options);
  if (result.topology === undefined || result.errors.length > 0) {
    const count = result.errors.length;
    throw new InputError("reading the topology", file, `${count} problem${count === 1 ? "" : "s"} found`, result.errors.map(formatProblem));
  }
  return { nodes: resolveNodes(result.topology), substrateNames: result.substrateNames, partial: result.partial };
}
