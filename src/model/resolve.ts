// Turns a normalized TopDL topology into benito's nodes and one host's view (pure; TopDL attribute words end here).
import { InputError } from "../errors";
import { keepOutOfFtl } from "../topdl/jit";
import { formatProblem } from "../topdl/problems";
import type { Attribute, Computer, Problem, Substrate, Topology, TopdlInterface } from "../topdl/types";
import { hostKeys, ifnameKeys, macKeys, nodeTypeKeys, partitionKeys, portKeys, switchKeys, type KeyPair } from "../topdl/keys";
import { maskToPrefix, parseIp4 } from "./ip4";
import type { HostView, Lan, Node, NodeInterface, Shaping } from "./node";

/** The substrate that is the control network, never an experiment LAN. */
export const controlSubstrate = "control_net";

/** Problem collector: every bad value is reported at once, as "file:line: path: message". */
class Problems {
  readonly list: Problem[] = [];
  constructor(readonly file: string) {}
  add(line: number, path: string, message: string): void {
    this.list.push({ file: this.file, line, path, message });
  }
  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    const count = this.list.length;
    throw new InputError("resolving the topology", what, `${count} invalid value${count === 1 ? "" : "s"}`, this.list.map(formatProblem));
  }
}

/** Looks up a benito attribute in a node's map: `benito:X`, else the Containers-era `containers:X`. */
function mapValue(attributes: ReadonlyMap<string, string>, keys: KeyPair): string | undefined {
  return attributes.get(keys[0]) ?? attributes.get(keys[1]);
}

// Run once per computer and interface of a document: not worth the FTL's compiling (see jit.ts).
keepOutOfFtl([resolveNode, resolveInterfaces, resolveInterface, normalizeMac, attributeMap, hostOf]);

/** Every computer of the topology as a Node (all values checked; every problem reported at once). */
export function resolveNodes(topology: Topology): Node[] {
  const { nodes, problems } = checkNodes(topology);
  if (problems.length > 0) throw new InputError("resolving the topology", topology.file, `${problems.length} invalid value${problems.length === 1 ? "" : "s"}`, problems.map(formatProblem));
  return nodes;
}

/** Like {@link resolveNodes}, but returns the problems (as TopDL problems) instead of throwing: for `topdl validate`. */
export function checkNodes(topology: Topology): { nodes: Node[]; problems: Problem[] } {
  const problems = new Problems(topology.file);
  const computers = topology.elements.filter((element): element is Computer => element.kind === "computer");
  const hosts = partitionHosts(computers);
  const nodes = computers.map((computer) => resolveOnce(topology, computer, hosts, problems));
  return { nodes, problems: problems.list };
}

/**
 * What one host needs: itself, the nodes it hosts, and the LANs.
 *
 * Identity: the element whose name, or one of whose localnames, equals hostName; an Emulab-style
 * `node.eid.pid` that matches nothing is tried as `node`. Only this host's and its children's
 * values are checked (a bad value on an unrelated node does not stop this host's boot; `benito
 * topdl validate` and resolveNodes report it).
 *
 * @throws InputError when the host is not in the topology (a few known names are listed) or a value is bad.
 */
export function resolveHostView(topology: Topology, hostName: string): HostView {
  const computers = topology.elements.filter((element): element is Computer => element.kind === "computer");
  const self = findHost(computers, hostName) ?? (hostName.includes(".") ? findHost(computers, hostName.slice(0, hostName.indexOf("."))) : undefined);
  if (self === undefined) {
    const known = computers.slice(0, 8).map((computer) => computer.name);
    const more = computers.length > known.length ? `, … (${computers.length} in all)` : "";
    throw new InputError("finding this host in the topology", topology.file, `no computer named "${hostName}" (by name or localname); known: ${known.join(", ") || "none"}${more}`);
  }
  const problems = new Problems(topology.file);
  const hosts = partitionHosts(computers);
  const selfNode = resolveOnce(topology, self, hosts, problems);
  const children: Node[] = [];
  for (const computer of computers) {
    if (computer === self) continue;
    const host = hostOf(attributeMap(computer.attributes), hosts);
    if (host === self.name) children.push(resolveOnce(topology, computer, hosts, problems));
  }
  // A bad loss value stops this host only when one of its own LANs carries it.
  const used = new Set([selfNode, ...children].flatMap((node) => node.interfaces.map((iface) => iface.substrate)));
  const unrelated = new Problems(topology.file);
  const lans = new Map<string, Lan>();
  for (const substrate of topology.substrates) {
    const own = used.has(substrate.name) ? problems : unrelated;
    const datapath = datapathOf(substrate, own);
    lans.set(substrate.name, { name: substrate.name, shaping: shapingOf(substrate, own), ...(datapath !== undefined && { datapath }) });
  }
  problems.throwIfAny(topology.file);
  return { self: selfNode, children, lans };
}

/**
 * Each computer of a topology resolved once, with the problems found: boot resolves this host's
 * view and then, to validate, every node of the same (immutable) topology; the second pass
 * reuses the first's nodes and reports the same problems. The placement (`hosts`) is a function
 * of the topology, so it is the same for both.
 */
const resolvedByTopology = new WeakMap<Topology, Map<Computer, { readonly node: Node; readonly problems: readonly Problem[] }>>();

function resolveOnce(topology: Topology, computer: Computer, hosts: ReadonlyMap<string, string>, problems: Problems): Node {
  let resolved = resolvedByTopology.get(topology);
  if (resolved === undefined) {
    resolved = new Map();
    resolvedByTopology.set(topology, resolved);
  }
  let known = resolved.get(computer);
  if (known === undefined) {
    const own = new Problems(topology.file);
    known = { node: resolveNode(computer, hosts, own), problems: own.list };
    resolved.set(computer, known);
  }
  problems.list.push(...known.problems);
  return known.node;
}

function findHost(computers: readonly Computer[], name: string): Computer | undefined {
  return computers.find((computer) => computer.name === name) ?? computers.find((computer) => computer.localnames.includes(name));
}

/**
 * Containers-era placement: `containers:partition` groups the vnodes that share one physical
 * host. In an embedded topo.xml the host is the `pnode` element carrying the same partition
 * value; failing that, the element named `pnode-NNNN` (the partition, zero-padded to four
 * digits, as the Containers embedder named its hosts). Returns partition → pnode name.
 */
function partitionHosts(computers: readonly Computer[]): Map<string, string> {
  const hosts = new Map<string, string>();
  // Most experiments have no partitions: one cheap pass says so.
  const partitions = computers.map((computer) => benitoValue(computer.attributes, partitionKeys));
  if (partitions.every((partition) => partition === undefined)) return hosts;
  const names = new Set(computers.map((computer) => computer.name));
  computers.forEach((computer, index) => {
    const partition = partitions[index];
    if (partition !== undefined && benitoValue(computer.attributes, nodeTypeKeys) === "pnode" && !hosts.has(partition)) hosts.set(partition, computer.name);
  });
  for (const partition of partitions) {
    if (partition === undefined || hosts.has(partition) || !/^\d+$/.test(partition)) continue;
    const named = `pnode-${partition.padStart(4, "0")}`;
    if (names.has(named)) hosts.set(partition, named);
  }
  return hosts;
}

/** The pnode hosting a vnode: `benito:host`, else its partition's host; pnodes themselves have none. */
function hostOf(attributes: ReadonlyMap<string, string>, hosts: ReadonlyMap<string, string>): string | undefined {
  const explicit = mapValue(attributes, hostKeys);
  if (explicit !== undefined) return explicit;
  const type = mapValue(attributes, nodeTypeKeys);
  if (type === "pnode" || type === "embedded_pnode") return undefined;
  const partition = mapValue(attributes, partitionKeys);
  return partition === undefined ? undefined : hosts.get(partition);
}

function attributeMap(attributes: readonly Attribute[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const attribute of attributes) if (!map.has(attribute.key)) map.set(attribute.key, attribute.value);
  return map;
}

/** The first attribute with this key (attribute lists are short: a scan beats building a Map). */
function firstAttribute(attributes: readonly Attribute[], key: string): Attribute | undefined {
  for (const attribute of attributes) if (attribute.key === key) return attribute;
  return undefined;
}

/** The attribute for `benito:X`, else `containers:X` (first of each wins). */
function benitoEntry(attributes: readonly Attribute[], keys: KeyPair): Attribute | undefined {
  return firstAttribute(attributes, keys[0]) ?? firstAttribute(attributes, keys[1]);
}

function benitoValue(attributes: readonly Attribute[], keys: KeyPair): string | undefined {
  return benitoEntry(attributes, keys)?.value;
}

function resolveNode(computer: Computer, hosts: ReadonlyMap<string, string>, problems: Problems): Node {
  const attributes = attributeMap(computer.attributes);
  const host = hostOf(attributes, hosts);
  const startup = attributes.get("startup");
  return {
    name: computer.name,
    localnames: computer.localnames,
    nodeType: mapValue(attributes, nodeTypeKeys) ?? "",
    ...(host !== undefined && { host }),
    interfaces: resolveInterfaces(computer.interfaces, problems),
    attributes,
    ...(startup !== undefined && { startup }),
    path: computer.path,
    line: computer.line,
  };
}

function resolveInterfaces(interfaces: readonly TopdlInterface[], problems: Problems): NodeInterface[] {
  const resolved: NodeInterface[] = [];
  for (let k = 0; k < interfaces.length; k += 1) resolved.push(resolveInterface(interfaces[k]!, problems));
  return resolved;
}

function resolveInterface(iface: TopdlInterface, problems: Problems): NodeInterface {
  const attributes = iface.attributes;
  const substrate = iface.substrates[0] ?? "";
  const result: { -readonly [K in keyof NodeInterface]: NodeInterface[K] } = { name: iface.name, substrate, control: substrate === controlSubstrate };

  // One pass over the (short) list picks every key this reads: the first of each key wins, and
  // a `benito:` key wins over its `containers:` spelling wherever either is in the list.
  let address: Attribute | undefined;
  let netmask: Attribute | undefined;
  let mac: Attribute | undefined;
  let ifname: Attribute | undefined;
  let vdeSwitch: Attribute | undefined;
  let port: Attribute | undefined;
  let oldMac: Attribute | undefined;
  let oldIfname: Attribute | undefined;
  let oldSwitch: Attribute | undefined;
  let oldPort: Attribute | undefined;
  for (let k = 0; k < attributes.length; k += 1) {
    const attribute = attributes[k]!;
    switch (attribute.key) {
      case "ip4_address":
        address ??= attribute;
        break;
      case "ip4_netmask":
        netmask ??= attribute;
        break;
      case macKeys[0]:
        mac ??= attribute;
        break;
      case macKeys[1]:
        oldMac ??= attribute;
        break;
      case ifnameKeys[0]:
        ifname ??= attribute;
        break;
      case ifnameKeys[1]:
        oldIfname ??= attribute;
        break;
      case switchKeys[0]:
        vdeSwitch ??= attribute;
        break;
      case switchKeys[1]:
        oldSwitch ??= attribute;
        break;
      case portKeys[0]:
        port ??= attribute;
        break;
      case portKeys[1]:
        oldPort ??= attribute;
        break;
    }
  }
  mac ??= oldMac;
  ifname ??= oldIfname;
  vdeSwitch ??= oldSwitch;
  port ??= oldPort;

  if (address !== undefined || netmask !== undefined) {
    if (address === undefined) reportAttribute(problems, iface, netmask as Attribute, "ip4_netmask without ip4_address");
    else if (netmask === undefined) reportAttribute(problems, iface, address, "ip4_address without ip4_netmask");
    else {
      const prefixLength = maskToPrefix(netmask.value.trim());
      if (parseIp4(address.value.trim()) === undefined) reportAttribute(problems, iface, address, `"${address.value}" is not an IPv4 address`);
      else if (prefixLength === undefined) reportAttribute(problems, iface, netmask, `"${netmask.value}" is not a contiguous dotted netmask`);
      else result.ip4 = { address: address.value.trim(), prefixLength };
    }
  }
  if (mac !== undefined) {
    const normalized = normalizeMac(mac.value);
    if (normalized === undefined) reportAttribute(problems, iface, mac, `"${mac.value}" is not a MAC address (six hex octets)`);
    else result.mac = normalized;
  }
  if (ifname !== undefined) result.ifname = ifname.value;
  if (vdeSwitch !== undefined) result.vdeSwitch = vdeSwitch.value;
  if (port !== undefined) {
    if (/^\s*\d{1,5}\s*$/.test(port.value) && Number(port.value) <= 65535) result.vdePort = Number(port.value);
    else reportAttribute(problems, iface, port, `"${port.value}" is not a port number`);
  }
  return result;
}

/** A problem with one of an interface's attributes, at its line and path. */
function reportAttribute(problems: Problems, iface: TopdlInterface, entry: Attribute, message: string): void {
  problems.add(entry.line, `${iface.path}.attribute[${iface.attributes.indexOf(entry)}]`, message);
}

/**
 * A MAC address in lower-case colon form: accepts `aa:bb:cc:dd:ee:ff`, `AA-BB-…`, or twelve hex
 * digits (optionally dotted `aabb.ccdd.eeff`); undefined otherwise.
 */
export function normalizeMac(text: string): string | undefined {
  if (canonicalMac(text)) return text;
  const trimmed = text.trim().toLowerCase();
  let digits: string;
  if (/^[0-9a-f]{1,2}([:-])[0-9a-f]{1,2}(\1[0-9a-f]{1,2}){4}$/.test(trimmed)) {
    digits = trimmed.split(/[:-]/).map((octet) => octet.padStart(2, "0")).join("");
  } else if (/^([0-9a-f]{4}\.){2}[0-9a-f]{4}$/.test(trimmed) || /^[0-9a-f]{12}$/.test(trimmed)) {
    digits = trimmed.replaceAll(".", "");
  } else return undefined;
  return digits.match(/../g)!.join(":");
}

/** Whether a MAC is already in the form normalizeMac gives (the usual case: no regular expressions, no copies). */
function canonicalMac(text: string): boolean {
  if (text.length !== 17) return false;
  for (let k = 0; k < 17; k += 1) {
    const c = text.charCodeAt(k);
    if (k % 3 === 2 ? c !== 0x3a : !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** The substrate's `benito:datapath` ("vde" or "kernel"); another value is a problem. */
function datapathOf(substrate: Substrate, problems: Problems): "vde" | "kernel" | undefined {
  const found = substrate.attributes.find((attribute) => attribute.key === "benito:datapath");
  if (found === undefined) return undefined;
  const value = found.value.trim().toLowerCase();
  if (value === "vde" || value === "kernel") return value;
  problems.add(found.line, `${substrate.path}.attribute[${substrate.attributes.indexOf(found)}]`, `benito:datapath "${found.value}" is neither "vde" nor "kernel"`);
  return undefined;
}

function shapingOf(substrate: Substrate, problems: Problems): Shaping {
  const shaping: { -readonly [K in keyof Shaping]: Shaping[K] } = {};
  if (substrate.latency !== undefined) shaping.latencyMs = substrate.latency.time;
  if (substrate.capacity !== undefined) shaping.capacityKbps = substrate.capacity.rate;
  const loss = substrate.attributes.find((attribute) => attribute.key === "loss");
  if (loss !== undefined) {
    const value = Number(loss.value.trim());
    if (loss.value.trim() === "" || !Number.isFinite(value) || value < 0 || value > 1) {
      const index = substrate.attributes.indexOf(loss);
      problems.add(loss.line, `${substrate.path}.attribute[${index}]`, `loss "${loss.value}" is not a fraction between 0 and 1`);
    } else shaping.loss = value;
  }
  return shaping;
}
