// Picks a node's platform, validates the node against it, and returns its launch or stop plan (input errors carry every problem).
import { InputError } from "../errors";
import type { Node } from "../model/node";
import type { Plan } from "../plan/step";
import { formatProblem } from "../topdl/problems";
import { nodeProblems, type Platform, type PlatformContext } from "./platform";
import { platformOf } from "./registry";

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

/** The launch plan of a node. */
export function planNode(node: Node, ctx: PlatformContext, file?: string): Plan {
  return validatedPlatform(node, file).plan(node, ctx);
}

/** The stop plan of a node. */
export function stopNode(node: Node, ctx: PlatformContext, file?: string): Plan {
  return validatedPlatform(node, file).stop(node, ctx);
}
