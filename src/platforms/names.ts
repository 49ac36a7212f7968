// Deterministic names derived from node and interface names: folder names, namespaces, TAPs, all within kernel limits.

/** The kernel's limit on interface names (IFNAMSIZ - 1). */
export const maxInterfaceName = 15;

/** FNV-1a over the UTF-8 bytes: a short stable fingerprint (not for security). */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/**
 * A name of at most max bytes made of [A-Za-z0-9_-]: the text itself when it already is one,
 * else its safe characters cut short plus "-" and a fingerprint of the whole text, so two
 * different nodes never share a name and a name from input never holds "/" or "..".
 */
export function shortName(text: string, max: number): string {
  if (text.length > 0 && text.length <= max && /^[A-Za-z0-9_-]+$/.test(text)) return text;
  const tag = fingerprint(text).slice(0, 6);
  const safe = text.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, Math.max(0, max - tag.length - 1));
  return safe === "" ? tag : `${safe}-${tag}`;
}

/** The folder name of a node under the run folder (never "." or "..", never holds "/"). */
export function nodeFolderName(nodeName: string): string {
  return shortName(nodeName, 64);
}

/** The network namespace of a `process` node: "bn-" + its name, 15 bytes at most. */
export function namespaceName(nodeName: string): string {
  return `bn-${shortName(nodeName, maxInterfaceName - 3)}`;
}

/** The host-side control TAP of a VM: "bc-" + its name, 15 bytes at most. */
export function controlTapName(nodeName: string): string {
  return `bc-${shortName(nodeName, maxInterfaceName - 3)}`;
}

/** A TAP inside a node's own namespace, named after the TopDL interface (e.g. "inf000"). */
export function interfaceTapName(interfaceName: string): string {
  return shortName(interfaceName, maxInterfaceName);
}

/**
 * The three links of a VM NIC in `tap` mode (`benito:qemu_nic = tap`): the TAP QEMU opens, the
 * TAP benito's plug opens, and the bridge joining them; "bq" + role + NIC index + the node.
 */
export function vmNicLinkNames(nodeName: string, index: number): { qemuTap: string; plugTap: string; bridge: string } {
  const tag = `${index}${shortName(nodeName, maxInterfaceName - 3 - String(index).length)}`;
  return { qemuTap: `bqt${tag}`, plugTap: `bqp${tag}`, bridge: `bqb${tag}` };
}
