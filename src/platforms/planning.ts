// Picks a node's platform and validates the node against it (input errors carry every problem); lists every platform problem of a topology.
import { InputError } from "../errors";
import type { Node } from "../model/node";
import type { LanDatapath } from "../plan/datapath-plan";
import { formatProblem } from "../topdl/problems";
import type { Problem } from "../topdl/types";
import { nodeProblems, type Platform } from "./platform";
import { findPlatform, knownNodeTypes, platformOf } from "./registry";

/** The node's platform after validation; throws InputError listing every problem (as `file:line: path: message`). */
export function validatedPlatform(node: Node, file = "topo.xml"): Platform {
  const platform = platformOf(node);
  const problems = nodeProblems(platform, node);
  if (problems.length > 0) {
    throw new InputError(
      `checking the ${platform.names[0]} attributes`,
      `computer ${node.name}`,
      `${problems.length} problem${problems.length === 1 ? "" : "s"}`,
      problems.map((problem) => formatProblem({ file, ...problem })),
    );
  }
  return platform;
}

/**
 * Every platform problem of a topology's nodes, for reporting with the TopDL's other input
 * problems: an unknown or refused `benito:node_type`, and each platform's attribute problems.
 * Nodes without a type, and pnodes (hosts, not vnodes), have none. `datapaths`: see Platform.checkNode.
 */
export function platformProblems(nodes: readonly Node[], file: string, datapaths?: ReadonlyMap<string, LanDatapath>): Problem[] {
  const problems: Problem[] = [];
  for (const node of nodes) {
    if (node.nodeType === "" || node.nodeType === "pnode") continue;
    const platform = findPlatform(node.nodeType);
    if (platform === undefined) {
      try {
        platformOf(node);
      } catch (error) {
        const reason = error instanceof InputError ? error.reason : String(error);
        problems.push({ file, line: node.line, path: node.path, message: `${reason} (known node types: ${knownNodeTypes().join(", ")})` });
      }
      continue;
    }
    for (const problem of nodeProblems(platform, node, datapaths)) problems.push({ file, ...problem });
  }
  return problems;
}
