// The one list of virtualization platforms. Add a platform: one folder under src/platforms/, one line here.
import type { Node } from "../model/node";
import { InputError } from "../errors";
import { embeddedPnodePlatform } from "./embedded_pnode";
import type { Platform } from "./platform";
import { processPlatform } from "./process";
import { qemuPlatform } from "./qemu";

/** Every platform (static imports: `bun build --compile` bundles only what is imported statically). */
export const platforms: readonly Platform[] = [
  qemuPlatform,
  processPlatform,
  embeddedPnodePlatform,
];

/** Node types that are known but refused, with the reason. */
const refused: Readonly<Record<string, string>> = {
  openvz: "OpenVZ containers are not supported by benito (the original's openvz platform was not carried over); use process or qemu",
  pnode: "it is a pnode: a physical host that hosts vnodes, not a vnode to launch",
};

/** Every node type a platform serves, in registry order. */
export function knownNodeTypes(): string[] {
  return platforms.flatMap((platform) => platform.names);
}

/** The platform serving a node type, or undefined. */
export function findPlatform(nodeType: string): Platform | undefined {
  return platforms.find((platform) => platform.names.includes(nodeType));
}

/**
 * The platform of a node; an unknown, missing or refused `benito:node_type` is an input error
 * that lists the known ones.
 */
export function platformOf(node: Node): Platform {
  const platform = findPlatform(node.nodeType);
  if (platform !== undefined) return platform;
  const where = `computer ${node.name}`;
  const known = `known node types: ${knownNodeTypes().join(", ")}`;
  const reason = refused[node.nodeType];
  if (reason !== undefined) throw new InputError("choosing the platform", where, `benito:node_type "${node.nodeType}" is refused: ${reason}`, [known]);
  if (node.nodeType === "") throw new InputError("choosing the platform", where, "it has no benito:node_type", [known]);
  throw new InputError("choosing the platform", where, `unknown benito:node_type "${node.nodeType}"`, [known]);
}
