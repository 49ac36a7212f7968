// Which datapath each LAN uses (VDE or the kernel's bridge), and the kernel datapath's names and per-member steps (pure).
import type { DatapathSettings } from "../config/datapath-conf";
import type { Lan, Node, Shaping } from "../model/node";
import type { Placement, Step } from "./step";

/** The alias benito puts on every link of the kernel datapath (its ownership mark, then the LAN). */
export const kernelMark = "benito-dp";
/** The kernel's limit on link aliases we keep to (IFALIASZ is 256; short is easier to read). */
const maxAlias = 64;

/** LanDatapath type: how one LAN's frames move, and why that was chosen. */
export type LanDatapath =
  | { readonly kind: "vde"; readonly reason: string }
  | {
      readonly kind: "kernel";
      readonly reason: string;
      /** The LAN's bridge on every pnode that hosts members of it. */
      readonly bridge: string;
      /**
       * What makes this experiment's link names its own on a machine (the run dir): two
       * experiments, or two test runs, with a LAN "lan0" never share a bridge.
       */
      readonly scope: string;
      readonly shaping: Shaping;
      /** True when latency or loss is shaped with netem (site.conf netem = yes). */
      readonly netem: boolean;
    };

/** FNV-1a over the UTF-8 bytes, as 8 hex digits (names derived as the tunnel names are). */
function hash8(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** The hash input for a name within a scope (the run dir; "" hashes the name alone). */
function scoped(scope: string, name: string): string {
  return scope === "" ? name : `${scope}\0${name}`;
}

/** The bridge of a kernel LAN: "bkb" + 8 hex digits of its run dir and name (11 bytes, within the kernel's 15). */
export function kernelBridgeName(lan: string, scope = ""): string {
  return `bkb${hash8(scoped(scope, lan))}`;
}

/** The host end of a process vnode NIC's veth pair (the bridge port): "bkv" + 8 hex digits of the run dir and NODE/IFACE. */
export function kernelPortName(node: string, iface: string, scope = ""): string {
  return `bkv${hash8(scoped(scope, `${node}/${iface}`))}`;
}

/** The IFB device that carries a member's ingress (member → LAN) shaping: "bki" + the same digits. */
export function kernelIfbName(node: string, iface: string, scope = ""): string {
  return `bki${hash8(scoped(scope, `${node}/${iface}`))}`;
}

/** The alias of a kernel datapath link. */
export function kernelAlias(lan: string): string {
  return `${kernelMark} ${lan}`.slice(0, maxAlias);
}

/**
 * Decides each LAN's datapath from what every pnode reads alike — the topology and site.conf —
 * never from a local probe, so a LAN is the same on every pnode:
 *
 * - its `benito:datapath`, else site.conf `datapath` (default vde);
 * - kernel needs every member on a platform that can take a kernel port (one that needs a VDE
 *   socket, like QEMU's own `-netdev vde`, keeps the LAN on VDE);
 * - latency or loss need netem: without site.conf `netem = yes` such a LAN stays on VDE +
 *   wirefilter (the pnode that then lacks netem refuses the LAN when it applies it).
 *
 * A kernel LAN may span pnodes: its VXLAN link joins the LAN's bridge on each (tunnel-plan.ts).
 *
 * @param members Every node with an interface on one of the LANs (all pnodes' members).
 * @param kernelCapable Whether a node's platform can take a kernel port.
 * @param scope The run dir: kernel link names are this experiment's own.
 */
export function decideDatapaths(lanNames: Iterable<string>, lans: ReadonlyMap<string, Lan>, members: readonly Node[], settings: DatapathSettings, kernelCapable: (node: Node) => boolean, scope = ""): Map<string, LanDatapath> {
  const decided = new Map<string, LanDatapath>();
  for (const name of lanNames) {
    const lan = lans.get(name);
    const wanted = lan?.datapath ?? settings.datapath;
    const source = lan?.datapath !== undefined ? "its benito:datapath" : "site.conf datapath";
    if (wanted === "vde") {
      decided.set(name, { kind: "vde", reason: `${source} is vde` });
      continue;
    }
    const shaping = lan?.shaping ?? {};
    const onLan = members.filter((node) => node.interfaces.some((iface) => iface.substrate === name));
    const refusing = onLan.filter((node) => !kernelCapable(node)).map((node) => node.name);
    const impaired = (shaping.latencyMs ?? 0) > 0 || (shaping.loss ?? 0) > 0;
    if (refusing.length > 0) decided.set(name, { kind: "vde", reason: `${source} is kernel, but ${refusing.slice(0, 3).join(", ")}${refusing.length > 3 ? ", …" : ""} need${refusing.length === 1 ? "s" : ""} a VDE socket` });
    else if (impaired && !settings.netem) decided.set(name, { kind: "vde", reason: `${source} is kernel, but its latency/loss need netem: VDE + wirefilter unless site.conf says netem = yes` });
    else decided.set(name, { kind: "kernel", reason: `${source} is kernel`, bridge: kernelBridgeName(name, scope), scope, shaping, netem: impaired });
  }
  return decided;
}

/** A number for tc: integers stay integers, fractions keep up to 6 decimals. */
function figure(value: number): string {
  return String(Number(value.toFixed(6)));
}

/** tbf arguments for a capacity: the rate, a burst of 5 ms at that rate (at least 4 full frames), a 50 ms queue. */
export function tbf(capacityKbps: number): string[] {
  const burstBytes = Math.max(4 * 1514, Math.ceil((capacityKbps * 1000) / 8 / 200));
  return ["tbf", "rate", `${figure(capacityKbps)}kbit`, "burst", String(burstBytes), "latency", "50ms"];
}

/** netem arguments for the member → LAN direction: the delay and loss (and the capacity, when there is one) as wirefilter applies them. */
function netem(shaping: Shaping): string[] {
  return [
    "netem",
    ...((shaping.latencyMs ?? 0) > 0 ? ["delay", `${figure(shaping.latencyMs ?? 0)}ms`] : []),
    ...((shaping.loss ?? 0) > 0 ? ["loss", `${figure((shaping.loss ?? 0) * 100)}%`] : []),
    ...((shaping.capacityKbps ?? 0) > 0 ? ["rate", `${figure(shaping.capacityKbps ?? 0)}kbit`] : []),
    "limit",
    "10000",
  ];
}

/** KernelMember interface: one vnode NIC on a kernel LAN. */
export interface KernelMember {
  readonly node: string;
  readonly iface: string;
  readonly lan: string;
  /** The interface's name inside the vnode (its TAP name on VDE). */
  readonly ifname: string;
  readonly mac?: string;
  /** The namespace the vnode end goes into. */
  readonly placement: Placement;
}

/**
 * The steps that join a process vnode's NIC to its kernel LAN: a veth pair (the vnode's end in its
 * namespace, with its MAC; the host end a port of the LAN's bridge, marked as benito's), then the
 * shaping: capacity as tbf on the host end (LAN → member) and, through an IFB the host end's
 * ingress is redirected to, on the member → LAN direction too; with netem the IFB carries the
 * delay and loss (member → LAN, as wirefilter does, so a member-to-member frame is delayed once).
 * Both steps converge, so a relaunch keeps a vnode whose veth is there.
 */
export function kernelMemberSteps(member: KernelMember, datapath: Extract<LanDatapath, { kind: "kernel" }>): Step[] {
  const host = kernelPortName(member.node, member.iface, datapath.scope);
  const alias = kernelAlias(member.lan);
  const veth: Step = { kind: "kernel.veth", id: `veth-${member.ifname}`, name: host, peer: member.ifname, ...(member.mac !== undefined && { mac: member.mac }), netns: member.placement.netns ?? "", bridge: datapath.bridge, alias };
  const shaping = portShaping(host, kernelIfbName(member.node, member.iface, datapath.scope), alias, datapath, `shape-${member.ifname}`);
  return shaping === undefined ? [veth] : [veth, shaping];
}

/** KernelTap interface: a VM NIC on a kernel LAN, whose hypervisor opens a TAP by name (QEMU's `-netdev tap`). */
export interface KernelTap {
  readonly node: string;
  readonly iface: string;
  readonly lan: string;
  /** What tells the NIC's steps apart within the node's plan (e.g. "net0"). */
  readonly id: string;
}

/** The shaping of a kernel member's bridge port (tbf on the port, the IFB's qdisc for member → LAN), or undefined when its LAN is unshaped. */
function portShaping(port: string, ifb: string, alias: string, datapath: Extract<LanDatapath, { kind: "kernel" }>, id: string): Step | undefined {
  const capacity = datapath.shaping.capacityKbps ?? 0;
  if (capacity <= 0 && !datapath.netem) return undefined;
  return {
    kind: "kernel.shape",
    id,
    port,
    alias,
    ...(capacity > 0 && { egress: tbf(capacity) }),
    ifb,
    ingress: datapath.netem ? netem(datapath.shaping) : tbf(capacity),
  };
}

/**
 * The steps that give a VM NIC its place on a kernel LAN: a TAP named as a process NIC's host end
 * is (so `benito link` and `capture` find it alike), made persistent by benito, marked, a port of
 * the LAN's bridge and up — the hypervisor attaches to it by name — then the same shaping as a
 * process member's. Both steps converge: a TAP that is there is kept (re-enslaved and set up when
 * needed), so a relaunch keeps the VM; only a TAP made again restarts it.
 */
export function kernelTapSteps(member: KernelTap, datapath: Extract<LanDatapath, { kind: "kernel" }>): Step[] {
  const port = kernelPortName(member.node, member.iface, datapath.scope);
  const alias = kernelAlias(member.lan);
  const shaping = portShaping(port, kernelIfbName(member.node, member.iface, datapath.scope), alias, datapath, `shape-${member.id}`);
  return [{ kind: "kernel.tap", id: `ktap-${member.id}`, name: port, bridge: datapath.bridge, alias }, ...(shaping === undefined ? [] : [shaping])];
}

/** The steps that remove a NIC's kernel links (whichever exist and carry benito's mark), in reverse order of making: the IFB, then the veth pair (or VM TAP). */
export function kernelMemberRemoval(node: string, iface: string, ifname: string, scope: string): Step[] {
  return [
    { kind: "link.delete", id: `ifb-${ifname}`, name: kernelIfbName(node, iface, scope) },
    { kind: "link.delete", id: `veth-${ifname}`, name: kernelPortName(node, iface, scope) },
  ];
}
