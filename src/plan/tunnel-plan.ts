// Which LANs span several pnodes, how each pnode joins its switch for such a LAN to the others (VXLAN or its own NIC), and what `switch up` must change.
import { basename, join } from "node:path";
import { InputError } from "../errors";
import type { TunnelSettings } from "../config/tunnel-conf";
import type { HostView, Node, NodeInterface } from "../model/node";
import type { SwitchLayout } from "./switch-plan";

/** The folder under the run dir that holds the tunnels' records, plug pidfiles and logs. */
export const tunnelFolder = "tunnel";
/** The alias (IFLA_IFALIAS) prefix of every link benito makes for a tunnel: its ownership mark. */
export const tunnelMark = "benito tunnel";
/** Bytes VXLAN adds around a frame on an IPv4 underlay: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const vxlanOverhead = 50;
/** The lowest VNI benito hands out (VNIs below are left to whatever else the site runs). */
export const vniBase = 4096;
/** The highest VNI (24 bits). */
const vniMax = 0xffffff;
/** IFALIASZ - 1: the longest alias the kernel keeps. */
const maxAlias = 255;

/** SpanningLan interface: a substrate whose switch members sit on more than one pnode. */
export interface SpanningLan {
  readonly substrate: string;
  /** Its VXLAN network identifier: the same on every pnode, unique within the experiment. */
  readonly vni: number;
  /** The pnodes hosting its members, sorted. */
  readonly pnodes: readonly string[];
}

/** ExperimentTunnels interface: what every pnode derives alike from the whole topology. */
export interface ExperimentTunnels {
  /** The spanning LANs by substrate name. */
  readonly lans: ReadonlyMap<string, SpanningLan>;
  /** Each host's underlay address: its `ip4_address` on the underlay substrate. */
  readonly underlay: ReadonlyMap<string, string>;
  /** Each host's own interfaces (not plugged into a switch) by substrate: its NICs, for `lan` mode. */
  readonly nics: ReadonlyMap<string, ReadonlyMap<string, NodeInterface>>;
}

/** TunnelSpec interface: one LAN's tunnel on this pnode, everything `switch up` creates for it. */
export interface TunnelSpec {
  /** File-name-safe identity (the VNI in hex): record, pidfile and link names derive from it. */
  readonly id: string;
  readonly substrate: string;
  readonly mode: TunnelSettings["mode"];
  readonly vni: number;
  /**
   * The links benito creates: on a VDE LAN a bridge and the TAP it plugs into the switch, and
   * (vxlan) the VXLAN link; on a kernel LAN only the VXLAN link (none in `lan` mode).
   */
  readonly links: { readonly bridge?: string; readonly tap?: string; readonly vxlan?: string };
  /** A kernel LAN: its bridge (made by switch up), which the VXLAN link (or the NIC) joins straight, no TAP or plug. */
  readonly kernelBridge?: string;
  /** `lan` mode: this pnode's NIC on the substrate (found by MAC, else by name), bridged in. */
  readonly nic?: { readonly mac?: string; readonly ifname?: string };
  /** `vxlan` mode: this pnode's underlay address (outer source). */
  readonly local?: string;
  /**
   * `vxlan` mode: this pnode's TopDL interface that carries `local` (its NIC found by MAC, else
   * by name), so `switch up` can add the address when the underlay NIC lacks it.
   */
  readonly localNic?: { readonly prefixLength: number; readonly mac?: string; readonly ifname?: string };
  /** `vxlan` mode without a group: the other pnodes' underlay addresses (head-end replication entries). */
  readonly remotes: readonly string[];
  /** `vxlan` mode with `tunnel_group`: the multicast group. */
  readonly group?: string;
  readonly port: number;
  /** The inner MTU the tunnel's links get; the underlay must carry it plus the VXLAN overhead. */
  readonly mtu: number;
  /** The other pnodes on this LAN (for reports). */
  readonly peers: readonly string[];
  /** What it joins: the switch daemon it plugs into (the LAN's core switch when it is shaped), or the kernel LAN's bridge. */
  readonly switchId: string;
  /** A VDE LAN: the switch's folder and the port the plug takes. */
  readonly switchDir?: string;
  readonly switchPort?: number;
  /** A VDE LAN: the `benito vde plug` daemon joining the TAP to the switch. */
  readonly plug?: { readonly argv: readonly string[]; readonly pidfile: string; readonly log: string; readonly program: string };
  readonly summary: string;
}

/** ObservedTunnel interface: what the run dir and the kernel say about a tunnel benito made earlier. */
export interface ObservedTunnel {
  readonly id: string;
  /** {@link tunnelFingerprint} of the spec it was made from. */
  readonly fingerprint: string;
  /** Undefined when its links exist (with benito's mark) and its plug runs; otherwise what is wrong. */
  readonly broken?: string;
  /** Its VXLAN link's flood entries that differ from the record (remotes or group); absent when they agree. */
  readonly forwarding?: ForwardingDrift;
  readonly summary: string;
}

/** ForwardingDrift interface: a VXLAN link's flood entries (00:00:00:00:00:00 dst ADDRESS) against the remotes recorded. */
export interface ForwardingDrift {
  /** The VXLAN link. */
  readonly link: string;
  /** Recorded remotes (or the group) that have no flood entry. */
  readonly missing: readonly string[];
  /** Flood entries to addresses benito did not record. */
  readonly foreign: readonly string[];
}

/** What a forwarding drift amounts to, one phrase per entry ("vx1234: flood entry 00:00:00:00:00:00 dst 172.31.0.2 missing"). */
export function describeForwarding(drift: ForwardingDrift): string[] {
  const entry = (dst: string) => `${drift.link}: forwarding entry 00:00:00:00:00:00 dst ${dst}`;
  return [...drift.missing.map((dst) => `${entry(dst)} missing`), ...drift.foreign.map((dst) => `${entry(dst)} not recorded (foreign remote)`)];
}

/** TunnelAction interface: one step of `switch up` for the tunnels, in execution order. */
export interface TunnelAction {
  /** `repair`: the tunnel stays (its plug keeps running); only its VXLAN link's flood entries are put right. */
  readonly action: "keep" | "start" | "restart" | "stop" | "repair";
  /** A tunnel id, or `link:NAME` for a marked link no record accounts for. */
  readonly id: string;
  readonly spec?: TunnelSpec;
  readonly reason: string;
  readonly summary: string;
}

/** What identifies a tunnel's configuration: `up` rebuilds it when this changes. */
export function tunnelFingerprint(spec: TunnelSpec): string {
  // Where the underlay address is placed when missing does not change the tunnel itself.
  const { summary: _summary, localNic: _localNic, ...rest } = spec;
  return JSON.stringify(rest);
}

/** FNV-1a (32 bits) of a string's UTF-16 code units: small, fast, and the same everywhere. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * Derives from the nodes of the experiment which LANs span pnodes and their VNIs. A member is an
 * interface plugged into a switch (`benito:vde_switch`), or a vnode's interface on a LAN of the
 * kernel datapath (`kernelLans`, which needs no switch); its pnode is its node's `benito:host`
 * (or the node itself when it is a pnode). `nodes` may be a part of the experiment, as long as
 * it holds every member of the LANs that matter and their pnodes (extract-lans.ts reads that).
 *
 * VNIs are numbered over every substrate name of the experiment (`substrateNames`), sorted: each
 * name's FNV-1a hash into [4096, 16777215], and when two names meet, the later one takes the
 * next free number. Every pnode reads the same names, so every pnode computes the same VNIs.
 */
export function experimentTunnels(nodes: readonly Node[], settings: TunnelSettings, substrateNames: readonly string[], kernelLans: ReadonlySet<string> = new Set()): ExperimentTunnels {
  const hostsOf = new Map<string, Set<string>>();
  const underlay = new Map<string, string>();
  const nics = new Map<string, Map<string, NodeInterface>>();
  for (const node of nodes) {
    const owner = node.host ?? (node.nodeType === "pnode" ? node.name : undefined);
    for (const iface of node.interfaces) {
      if (iface.vdeSwitch !== undefined || (node.host !== undefined && kernelLans.has(iface.substrate))) {
        if (owner === undefined || iface.control) continue;
        let hosts = hostsOf.get(iface.substrate);
        if (hosts === undefined) hostsOf.set(iface.substrate, (hosts = new Set()));
        hosts.add(owner);
      } else if (node.host === undefined) {
        if (iface.substrate === settings.underlaySubstrate && iface.ip4 !== undefined && !underlay.has(node.name)) underlay.set(node.name, iface.ip4.address);
        let own = nics.get(node.name);
        if (own === undefined) nics.set(node.name, (own = new Map()));
        if (!own.has(iface.substrate)) own.set(iface.substrate, iface);
      }
    }
  }
  const vnis = numberSubstrates(substrateNames);
  const lans = new Map<string, SpanningLan>();
  for (const [substrate, hosts] of [...hostsOf.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const vni = vnis.get(substrate);
    if (hosts.size > 1 && vni !== undefined) lans.set(substrate, { substrate, vni, pnodes: [...hosts].sort() });
  }
  return { lans, underlay, nics };
}

/** A distinct VNI for every substrate name: its hash, probed upwards (wrapping) past numbers taken by names sorted before it. */
function numberSubstrates(names: readonly string[]): Map<string, number> {
  const span = vniMax - vniBase + 1;
  const taken = new Set<number>();
  const vnis = new Map<string, number>();
  for (const name of [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    let vni = vniBase + (fnv1a(name) % span);
    while (taken.has(vni)) vni = vni === vniMax ? vniBase : vni + 1;
    taken.add(vni);
    vnis.set(name, vni);
  }
  return vnis;
}

/**
 * The tunnels this pnode makes: one per spanning LAN it hosts members of. The TAP plugs into the
 * LAN's core switch when the LAN is shaped (so a frame is shaped once, by the sender's and the
 * receiver's member wirefilters, whichever pnodes they are on), else into the LAN's switch; on
 * the switch's highest port, which switch-plan keeps free. A LAN on the kernel datapath
 * (`kernelBridges`) has no switch: its VXLAN link (or, in `lan` mode, the NIC) joins the LAN's
 * bridge straight, and the bridge takes the tunnel's MTU.
 *
 * @param benito The executable that runs `vde plug` (the running binary).
 * @param kernelBridges The bridge of each LAN on the kernel datapath here.
 * @throws InputError listing every problem at once (no underlay address, no NIC, two switches…).
 */
export function tunnelLayout(view: HostView, experiment: ExperimentTunnels, switches: SwitchLayout, settings: TunnelSettings, runDir: string, benito: string, kernelBridges: ReadonlyMap<string, string> = new Map()): TunnelSpec[] {
  const self = view.self.name;
  const state = join(runDir, tunnelFolder);
  const problems: string[] = [];
  const specs: TunnelSpec[] = [];
  const plugged = new Map<string, string>();
  for (const lan of experiment.lans.values()) {
    if (!lan.pnodes.includes(self)) continue;
    const where = `LAN ${lan.substrate} (on ${lan.pnodes.join(", ")})`;
    const peers = lan.pnodes.filter((pnode) => pnode !== self);
    const id = lan.vni.toString(16);
    const kernelBridge = kernelBridges.get(lan.substrate);
    if (kernelBridge !== undefined) {
      const uplink = uplinkOf(lan, where, self, peers, view, experiment, settings, problems);
      if (uplink === undefined) continue;
      const links = settings.mode === "vxlan" ? { vxlan: `bnx${id}` } : {};
      specs.push({ id, substrate: lan.substrate, mode: settings.mode, vni: lan.vni, links, kernelBridge, port: settings.port, mtu: settings.innerMtu, peers, switchId: kernelBridge, ...uplink });
      continue;
    }
    const serving = switches.daemons.filter((daemon) => daemon.role !== "wirefilter" && daemon.substrates.includes(lan.substrate));
    const core = serving.find((daemon) => daemon.role === "core");
    const target = core ?? (serving.length === 1 ? serving[0] : undefined);
    if (target === undefined || target.sockDir === undefined || target.ports === undefined) {
      problems.push(`${where}: its members on ${self} use ${serving.length} switches (${serving.map((daemon) => daemon.sockDir).join(", ")}); a LAN that spans pnodes needs exactly one switch on each`);
      continue;
    }
    const other = plugged.get(target.id);
    if (other !== undefined) {
      problems.push(`${where}: its switch ${target.sockDir} also carries LAN ${other}, which spans pnodes too; joining one switch twice would loop frames between pnodes: give each LAN its own switch`);
      continue;
    }
    plugged.set(target.id, lan.substrate);
    const uplink = uplinkOf(lan, where, self, peers, view, experiment, settings, problems);
    if (uplink === undefined) continue;
    const links = { bridge: `bnb${id}`, tap: `bnt${id}`, ...(settings.mode === "vxlan" && { vxlan: `bnx${id}` }) };
    const pidfile = join(state, `${id}.plug.pid`);
    const log = join(state, `${id}.plug.log`);
    const plug = {
      argv: [benito, "vde", "plug", "--switch", target.sockDir, "--port", String(target.ports - 1), "--tap", links.tap, "--reconnect", "--daemon", "--pidfile", pidfile],
      pidfile,
      log,
      program: basename(benito),
    };
    specs.push({ id, substrate: lan.substrate, mode: settings.mode, vni: lan.vni, links, port: settings.port, mtu: settings.innerMtu, peers, switchId: target.id, switchDir: target.sockDir, switchPort: target.ports - 1, plug, ...uplink });
  }
  if (problems.length > 0) throw new InputError("laying out the tunnels to other pnodes", self, `${problems.length} problem${problems.length === 1 ? "" : "s"} with LANs that span pnodes`, problems);
  return specs;
}

/** How this pnode reaches the LAN's other pnodes: its NIC (`lan` mode) or VXLAN endpoints; undefined (with the problem noted) when it cannot. */
function uplinkOf(lan: SpanningLan, where: string, self: string, peers: readonly string[], view: HostView, experiment: ExperimentTunnels, settings: TunnelSettings, problems: string[]): Pick<TunnelSpec, "nic" | "local" | "localNic" | "remotes" | "group" | "summary"> | undefined {
  if (settings.mode === "lan") {
    const nic = experiment.nics.get(self)?.get(lan.substrate);
    if (nic === undefined || (nic.mac === undefined && nic.ifname === undefined)) {
      problems.push(`${where}: tunnel_mode = lan bridges ${self}'s own NIC on ${lan.substrate}, but ${self} has ${nic === undefined ? "no interface" : "an interface without benito:mac_address or benito:ifname"} on that substrate`);
      return undefined;
    }
    const found = { ...(nic.mac !== undefined && { mac: nic.mac }), ...(nic.ifname !== undefined && { ifname: nic.ifname }) };
    return { nic: found, remotes: [], summary: `tunnel ${lan.substrate} (NIC ${nic.mac ?? nic.ifname} to ${peers.join(", ")})` };
  }
  const local = experiment.underlay.get(self);
  const missing = lan.pnodes.filter((pnode) => !experiment.underlay.has(pnode));
  if (local === undefined || (settings.group === undefined && missing.length > 0)) {
    problems.push(`${where}: ${missing.join(", ")} ${missing.length === 1 ? "has" : "have"} no ip4_address on the underlay substrate ${settings.underlaySubstrate} (site.conf underlay_substrate)`);
    return undefined;
  }
  const remotes = settings.group === undefined ? peers.map((pnode) => experiment.underlay.get(pnode) ?? "") : [];
  const underlayIface = view.self.interfaces.find((iface) => iface.substrate === settings.underlaySubstrate && iface.ip4?.address === local);
  const localNic = underlayIface?.ip4 === undefined ? undefined : { prefixLength: underlayIface.ip4.prefixLength, ...(underlayIface.mac !== undefined && { mac: underlayIface.mac }), ...(underlayIface.ifname !== undefined && { ifname: underlayIface.ifname }) };
  const to = settings.group === undefined ? peers.map((pnode, index) => `${pnode} ${remotes[index]}`).join(", ") : `group ${settings.group}`;
  return { local, ...(localNic !== undefined && { localNic }), remotes, ...(settings.group !== undefined && { group: settings.group }), summary: `tunnel ${lan.substrate} (VXLAN ${lan.vni} from ${local} to ${to})` };
}

/** The alias benito puts on a tunnel's links (its ownership mark, then the LAN for people reading `ip link`). */
export function tunnelAlias(substrate: string): string {
  return `${tunnelMark} ${substrate}`.slice(0, maxAlias);
}

/**
 * Plans the tunnels of `switch up`: removes tunnels (and stray marked links) no longer wanted,
 * keeps healthy ones with the same configuration, builds missing ones, rebuilds broken or
 * changed ones and those whose switch was (re)started in this run, and repairs in place one
 * whose VXLAN flood entries drifted (its plug and links stay).
 *
 * @param strayLinks Links carrying benito's tunnel mark that no record accounts for.
 * @param restartedSwitches Ids of switch daemons this `up` starts or restarts.
 */
export function planTunnelUp(wanted: readonly TunnelSpec[], observed: readonly ObservedTunnel[], strayLinks: readonly string[], restartedSwitches: ReadonlySet<string>): TunnelAction[] {
  const byId = new Map(observed.map((entry) => [entry.id, entry]));
  const wantedIds = new Set(wanted.map((spec) => spec.id));
  const wantedLinks = new Set(wanted.flatMap((spec) => Object.values(spec.links)));
  const actions: TunnelAction[] = [];
  for (const entry of observed) if (!wantedIds.has(entry.id)) actions.push({ action: "stop", id: entry.id, reason: "no longer spans pnodes here", summary: entry.summary });
  for (const link of strayLinks) if (!wantedLinks.has(link)) actions.push({ action: "stop", id: `link:${link}`, reason: "marked by benito, in no record", summary: `link ${link}` });
  for (const spec of wanted) {
    const seen = byId.get(spec.id);
    const base = { id: spec.id, spec, summary: spec.summary };
    if (seen === undefined) actions.push({ ...base, action: "start", reason: "not there" });
    else if (seen.fingerprint !== tunnelFingerprint(spec)) actions.push({ ...base, action: "restart", reason: "configuration changed" });
    else if (seen.broken !== undefined) actions.push({ ...base, action: "restart", reason: seen.broken });
    else if (restartedSwitches.has(spec.switchId)) actions.push({ ...base, action: "restart", reason: `switch ${spec.switchId} was (re)started` });
    else if (seen.forwarding !== undefined) actions.push({ ...base, action: "repair", reason: describeForwarding(seen.forwarding).join(", ") });
    else actions.push({ ...base, action: "keep", reason: "up as configured" });
  }
  return actions;
}

/** What a tunnel amounts to, as `ip`/`bridge` commands would say it (for the dry run). */
export function describeTunnel(spec: TunnelSpec): string {
  const parts: string[] = [];
  if (spec.links.vxlan !== undefined) {
    const flood = spec.group !== undefined ? ` group ${spec.group}` : "";
    parts.push(`vxlan ${spec.links.vxlan} id ${spec.vni} local ${spec.local}${flood} dstport ${spec.port} mtu ${spec.mtu}`);
    for (const remote of spec.remotes) parts.push(`fdb 00:00:00:00:00:00 dst ${remote}`);
  } else parts.push(`NIC ${spec.nic?.mac ?? spec.nic?.ifname}`);
  if (spec.kernelBridge !== undefined) parts.push(`master ${spec.kernelBridge} (the LAN's bridge, mtu ${spec.mtu})`);
  else parts.push(`bridge ${spec.links.bridge}`, `tap ${spec.links.tap} mtu ${spec.mtu}`, spec.plug?.argv.join(" ") ?? "");
  return parts.join("; ");
}

/** Renders the tunnel plan as the dry run prints it: one line per action. */
export function renderTunnelPlan(actions: readonly TunnelAction[]): string[] {
  return actions.map((step) => {
    const detail = step.spec !== undefined && step.action !== "keep" ? `: ${describeTunnel(step.spec)}` : "";
    return `${step.action} ${step.summary} — ${step.reason}${detail}`;
  });
}
