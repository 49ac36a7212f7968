// Live link shaping (`benito link`), pure: the shaped members of this pnode's LANs, their topology and overridden parameters, and the wirefilter or tc commands that set them.
import type { HostView, Node } from "../model/node";
import { kernelIfbName, kernelPortName, tbf, type LanDatapath } from "./datapath-plan";
import type { DaemonSpec, SwitchLayout } from "./switch-plan";

/** LinkParams interface: one member's shaping, in the units `benito link` speaks. */
export interface LinkParams {
  /** One-way delay into the LAN, ms. */
  readonly latencyMs: number;
  /** ± this many ms around the latency (uniform). */
  readonly jitterMs: number;
  /** Percent of frames into the LAN dropped (0–100; the topology's `loss` is a fraction). */
  readonly lossPercent: number;
  /** kb/s both ways (0: unlimited). */
  readonly capacityKbps: number;
}

/** The parameter names, in the order they are printed. */
export const paramNames = ["capacityKbps", "latencyMs", "jitterMs", "lossPercent"] as const;
/** ParamName type: one of {@link paramNames}. */
export type ParamName = (typeof paramNames)[number];

/** Overrides of some parameters. */
export type ParamOverride = Partial<Record<ParamName, number>>;

/** LanOverride interface: what `link set` changed on one LAN: for all its members here, and per member (node name). */
export interface LanOverride {
  readonly lan: ParamOverride;
  readonly members: Readonly<Record<string, ParamOverride>>;
}

/** LinkOverrides interface: every override in force on this pnode, by LAN. */
export interface LinkOverrides {
  readonly lans: Readonly<Record<string, LanOverride>>;
}

/** KernelShaper interface: a member of a kernel-datapath LAN: tbf on the veth's host end (LAN → member), tbf or netem on its IFB (member → LAN). */
export interface KernelShaper {
  readonly kind: "kernel";
  readonly hostEnd: string;
  readonly ifb: string;
  /** True when the IFB carries netem (latency, jitter, loss and rate); else tbf (capacity only). */
  readonly netem: boolean;
}

/** Shaper type: what shapes a member's link to its LAN. */
export type Shaper = { readonly kind: "wirefilter"; readonly spec: DaemonSpec } | KernelShaper;

/** LinkMember interface: one shaped member on this pnode: what shapes it and its topology values. */
export interface LinkMember {
  readonly lan: string;
  readonly node: string;
  readonly iface: string;
  /** Its switch port (VDE datapath), undefined on the kernel datapath. */
  readonly port?: number;
  readonly shaper: Shaper;
  readonly topology: LinkParams;
}

/** A kernel LAN as {@link shapedMembers} needs it. */
export type KernelLan = Extract<LanDatapath, { kind: "kernel" }>;

/** What a member is called in messages: "wirefilter slow port 1 (…)" or "tc on bkv1234abcd/bki1234abcd". */
export function shaperName(member: LinkMember): string {
  return member.shaper.kind === "wirefilter" ? member.shaper.spec.summary : `tc on ${member.shaper.hostEnd} and ${member.shaper.ifb}`;
}

/**
 * Every shaped member this pnode runs, from the same layout `switch up` starts: a shaped LAN's
 * member port N has the wirefilter `wf-SWITCH-N`.
 */
export function shapedMembers(view: HostView, layout: SwitchLayout, kernelLans: ReadonlyMap<string, KernelLan> = new Map()): LinkMember[] {
  const byId = new Map(layout.daemons.map((spec) => [spec.id, spec]));
  const members: LinkMember[] = [];
  const topologyOf = (lan: string): LinkParams => {
    const shaping = view.lans.get(lan)?.shaping ?? {};
    return { latencyMs: shaping.latencyMs ?? 0, jitterMs: 0, lossPercent: Number(((shaping.loss ?? 0) * 100).toFixed(6)), capacityKbps: shaping.capacityKbps ?? 0 };
  };
  for (const node of [view.self, ...view.children]) {
    for (const iface of node.interfaces) {
      if (kernelLans.has(iface.substrate)) continue;
      if (iface.vdeSwitch === undefined || iface.vdePort === undefined) continue;
      const plain = layout.daemons.find((spec) => spec.role === "switch" && spec.sockDir === iface.vdeSwitch);
      const wirefilter = plain === undefined ? undefined : byId.get(`wf-${plain.id}-${iface.vdePort}`);
      if (wirefilter === undefined) continue;
      members.push({ lan: iface.substrate, node: node.name, iface: iface.name, port: iface.vdePort, shaper: { kind: "wirefilter", spec: wirefilter }, topology: topologyOf(iface.substrate) });
    }
  }
  for (const node of view.children) members.push(...kernelMembers(node, kernelLans));
  return members.sort((a, b) => a.lan.localeCompare(b.lan) || (a.port ?? 0) - (b.port ?? 0) || a.node.localeCompare(b.node));
}

/** A vnode's members of shaped kernel LANs (a kernel LAN's member has qdiscs only when the LAN is shaped: capacity, or netem). */
export function kernelMembers(node: Node, kernelLans: ReadonlyMap<string, KernelLan>): LinkMember[] {
  return node.interfaces.flatMap((iface): LinkMember[] => {
    const kernel = kernelLans.get(iface.substrate);
    if (kernel === undefined || iface.control || ((kernel.shaping.capacityKbps ?? 0) <= 0 && !kernel.netem)) return [];
    const shaping = kernel.shaping;
    const topology = { latencyMs: shaping.latencyMs ?? 0, jitterMs: 0, lossPercent: Number(((shaping.loss ?? 0) * 100).toFixed(6)), capacityKbps: shaping.capacityKbps ?? 0 };
    const shaper: KernelShaper = { kind: "kernel", hostEnd: kernelPortName(node.name, iface.name, kernel.scope), ifb: kernelIfbName(node.name, iface.name, kernel.scope), netem: kernel.netem };
    return [{ lan: iface.substrate, node: node.name, iface: iface.name, shaper, topology }];
  });
}

/** What a member's wirefilter should hold: the topology's values, then the LAN's overrides, then the member's own. */
export function effectiveParams(member: LinkMember, overrides: LinkOverrides): LinkParams {
  const lan = overrides.lans[member.lan];
  return { ...member.topology, ...lan?.lan, ...lan?.members[member.node] };
}

/** The parameters overridden for a member (LAN-wide or its own). */
export function overriddenNames(member: LinkMember, overrides: LinkOverrides): ParamName[] {
  const lan = overrides.lans[member.lan];
  return paramNames.filter((name) => lan?.lan[name] !== undefined || lan?.members[member.node]?.[name] !== undefined);
}

/**
 * `link set`: the overrides after setting `values` on a LAN (node undefined: for all its members
 * here, replacing the members' own overrides of those parameters) or on one member.
 */
export function withSet(overrides: LinkOverrides, lan: string, node: string | undefined, values: ParamOverride): LinkOverrides {
  const current = overrides.lans[lan] ?? { lan: {}, members: {} };
  const names = Object.keys(values);
  let next: LanOverride;
  if (node === undefined) {
    const members = Object.fromEntries(Object.entries(current.members).map(([name, own]) => [name, Object.fromEntries(Object.entries(own).filter(([key]) => !names.includes(key)))]));
    next = { lan: { ...current.lan, ...values }, members: members };
  } else {
    next = { lan: current.lan, members: { ...current.members, [node]: { ...current.members[node], ...values } } };
  }
  return prune({ lans: { ...overrides.lans, [lan]: next } });
}

/** `link reset`: the overrides without those of every LAN (lan undefined), one LAN, or one member's own. */
export function withReset(overrides: LinkOverrides, lan: string | undefined, node: string | undefined): LinkOverrides {
  if (lan === undefined) return { lans: {} };
  const current = overrides.lans[lan];
  if (current === undefined) return overrides;
  if (node === undefined) return prune({ lans: { ...overrides.lans, [lan]: { lan: {}, members: {} } } });
  const members = { ...current.members };
  delete members[node];
  return prune({ lans: { ...overrides.lans, [lan]: { lan: current.lan, members } } });
}

/** Drops empty entries, so "no override" has one spelling. */
function prune(overrides: LinkOverrides): LinkOverrides {
  const lans: Record<string, LanOverride> = {};
  for (const [name, lan] of Object.entries(overrides.lans)) {
    const members = Object.fromEntries(Object.entries(lan.members).filter(([, own]) => Object.keys(own).length > 0));
    if (Object.keys(lan.lan).length > 0 || Object.keys(members).length > 0) lans[name] = { lan: lan.lan, members };
  }
  return { lans };
}

/** A figure for a wirefilter command or a message: integers stay integers, fractions keep up to 6 decimals. */
export function figure(value: number): string {
  return String(Number(value.toFixed(6)));
}

/**
 * The wirefilter management commands that give a member `params` for the parameters named
 * (the member → LAN direction carries delay and loss, capacity limits both ways: the layout of
 * src/plan/switch-plan.ts).
 */
export function wirefilterCommands(params: LinkParams, names: readonly ParamName[]): string[] {
  const commands: string[] = [];
  if (names.includes("capacityKbps")) commands.push(`bandwidth ${figure(params.capacityKbps * 125)}`);
  if (names.includes("latencyMs") || names.includes("jitterMs")) commands.push(`delay LR ${figure(params.latencyMs)}${params.jitterMs > 0 ? `+${figure(params.jitterMs)}` : ""}`);
  if (names.includes("lossPercent")) commands.push(`loss LR ${figure(params.lossPercent)}`);
  return commands;
}

/**
 * The tc commands (argv) that give a kernel-datapath member `params` for the parameters named, or
 * why that cannot be done live: without netem the IFB holds a tbf, so only the capacity can
 * change; a tbf has no "unlimited".
 */
export function kernelCommands(shaper: KernelShaper, params: LinkParams, names: readonly ParamName[]): string[][] | { readonly refused: string } {
  const impairments = names.filter((name) => name !== "capacityKbps");
  if (!shaper.netem && impairments.length > 0) {
    return { refused: `this LAN is on the kernel datapath without netem, where only --capacity can change live (site.conf netem = yes puts latency and loss on netem; or give the LAN benito:datapath = vde for wirefilter)` };
  }
  if (names.includes("capacityKbps") && params.capacityKbps <= 0) return { refused: "--capacity 0 (unlimited) cannot be set live on the kernel datapath, whose capacity is a tbf; set a rate" };
  const commands: string[][] = [];
  if (names.includes("capacityKbps")) {
    commands.push(["tc", "qdisc", "change", "dev", shaper.hostEnd, "root", ...tbf(params.capacityKbps)]);
    if (!shaper.netem) commands.push(["tc", "qdisc", "change", "dev", shaper.ifb, "root", ...tbf(params.capacityKbps)]);
  }
  if (shaper.netem && names.length > 0) {
    // netem change replaces every option: all of them are given, as they should be now.
    const delay = params.latencyMs > 0 || params.jitterMs > 0 ? ["delay", `${figure(params.latencyMs)}ms`, ...(params.jitterMs > 0 ? [`${figure(params.jitterMs)}ms`] : [])] : [];
    const rate = params.capacityKbps > 0 ? ["rate", `${figure(params.capacityKbps)}kbit`] : [];
    commands.push(["tc", "qdisc", "change", "dev", shaper.ifb, "root", "netem", ...delay, "loss", `${figure(params.lossPercent)}%`, ...rate, "limit", "10000"]);
  }
  return commands;
}

/** "10000 kb/s, 20 ms ± 5 ms, loss 1%" (0 capacity: "unlimited"). */
export function describeParams(params: LinkParams): string {
  const capacity = params.capacityKbps > 0 ? `${figure(params.capacityKbps)} kb/s` : "unlimited";
  const jitter = params.jitterMs > 0 ? ` ± ${figure(params.jitterMs)} ms` : "";
  return `${capacity}, ${figure(params.latencyMs)} ms${jitter}, loss ${figure(params.lossPercent)}%`;
}

/** The words `link` prints for a parameter. */
export const paramWords: Readonly<Record<ParamName, string>> = { capacityKbps: "capacity", latencyMs: "latency", jitterMs: "jitter", lossPercent: "loss" };
