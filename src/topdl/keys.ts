// The benito attribute keys read by the model (src/model/resolve.ts) and searched for by the fast paths (extract.ts), in one place.

/** KeyPair type: a `benito:` key and its Containers-era `containers:` spelling (the first is preferred). */
export type KeyPair = readonly [benito: string, containers: string];

const keyPair = (name: string): KeyPair => [`benito:${name}`, `containers:${name}`];

/** The pnode hosting a vnode. */
export const hostKeys = keyPair("host");
/** Containers placement: the vnodes sharing one physical host. */
export const partitionKeys = keyPair("partition");
/** The platform a node runs on ("pnode", "qemu", "process", …). */
export const nodeTypeKeys = keyPair("node_type");
/** An interface's MAC address. */
export const macKeys = keyPair("mac_address");
/** An interface's local NIC name. */
export const ifnameKeys = keyPair("ifname");
/** An interface's switch folder. */
export const switchKeys = keyPair("vde_switch");
/** An interface's switch port. */
export const portKeys = keyPair("vde_port");
