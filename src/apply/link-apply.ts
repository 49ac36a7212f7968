// Applies live link shaping to running wirefilters through their management sockets (`link set|reset`, and switch up after a wirefilter restarts).
import { messageOf } from "../errors";
import type { HostView } from "../model/node";
import type { Node } from "../model/node";
import type { LanDatapath } from "../plan/datapath-plan";
import { describeParams, effectiveParams, kernelCommands, kernelMembers, overriddenNames, paramNames, paramWords, shapedMembers, shaperName, wirefilterCommands, type KernelLan, type LinkMember, type LinkOverrides, type LinkParams, type ParamName } from "../plan/link-plan";
import type { SwitchLayout } from "../plan/switch-plan";
import { readLinkOverrides } from "../system/link-overrides";
import { kernelParams, runTc } from "../system/kernel-shaping";
import { wirefilterParams, wirefilterSet } from "../system/wirefilter";
import type { ActionOutcome } from "./switch-apply";

/** MemberOutcome interface: one member's wirefilter after a change. */
export interface MemberOutcome {
  readonly member: LinkMember;
  /** What it applied before (undefined when it did not answer). */
  readonly before?: LinkParams;
  /** What it was given. */
  readonly wanted: LinkParams;
  readonly ok: boolean;
  readonly error?: string;
}

/** What a member's shaper applies now: the wirefilter's showinfo, or the kernel qdiscs. */
export function memberParams(member: LinkMember): Promise<LinkParams> {
  return member.shaper.kind === "wirefilter" ? wirefilterParams(member.shaper.spec.mgmt) : kernelParams(member.shaper);
}

/**
 * Gives each member's running wirefilter (or kernel qdiscs) its wanted values for the parameters named (the same for all, or per member), live (no
 * restart: wirefilter applies management commands at once, its queues kept). A wirefilter that
 * does not answer is reported, not fatal: the override stays recorded for switch up to restore.
 */
export async function applyLinkParams(members: readonly LinkMember[], overrides: LinkOverrides, which: readonly ParamName[] | ((member: LinkMember) => readonly ParamName[])): Promise<MemberOutcome[]> {
  const outcomes: MemberOutcome[] = [];
  for (const member of members) {
    const wanted = effectiveParams(member, overrides);
    const names = typeof which === "function" ? which(member) : which;
    try {
      const before = await memberParams(member);
      if (member.shaper.kind === "wirefilter") await wirefilterSet(member.shaper.spec.mgmt, wirefilterCommands(wanted, names));
      else {
        const commands = kernelCommands(member.shaper, wanted, names);
        if ("refused" in commands) throw new Error(commands.refused);
        await runTc(commands);
      }
      outcomes.push({ member, before, wanted, ok: true });
    } catch (error) {
      outcomes.push({ member, wanted, ok: false, error: `${shaperName(member)} did not take the change: ${messageOf(error)}` });
    }
  }
  return outcomes;
}

/**
 * After switch up: wirefilters it (re)started came back with the topology's values; those with
 * an override recorded in the run dir get it again. One outcome per wirefilter restored.
 */
export async function restoreLinkOverrides(view: HostView, layout: SwitchLayout, runDir: string, started: ReadonlySet<string>): Promise<ActionOutcome[]> {
  let overrides: LinkOverrides;
  try {
    overrides = readLinkOverrides(runDir);
  } catch (error) {
    // The switches are up either way; the record that cannot be read is reported with them.
    return [{ action: "keep", id: "link-overrides", summary: "live link overrides (benito link set)", reason: "not restored", ok: false, error: messageOf(error) }];
  }
  if (Object.keys(overrides.lans).length === 0) return [];
  const members = shapedMembers(view, layout).filter((member) => member.shaper.kind === "wirefilter" && started.has(member.shaper.spec.id) && overriddenNames(member, overrides).length > 0);
  const outcomes = await applyLinkParams(members, overrides, paramNames);
  return outcomes.map((outcome) => {
    const names = overriddenNames(outcome.member, overrides).map((name) => paramWords[name]).join(", ");
    const base = { action: "keep" as const, id: outcome.member.shaper.kind === "wirefilter" ? outcome.member.shaper.spec.id : outcome.member.node, summary: shaperName(outcome.member), reason: `link override (${names}) restored: ${describeParams(outcome.wanted)}` };
    return outcome.ok ? { ...base, ok: true } : { ...base, ok: false, error: outcome.error ?? "failed" };
  });
}

/**
 * After a vnode's launch: its NICs on shaped kernel LANs got the topology's qdiscs; those with an
 * override recorded in the run dir get it again. One line per member restored (or failed).
 */
export async function restoreKernelOverrides(node: Node, datapaths: ReadonlyMap<string, LanDatapath>, runDir: string): Promise<string[]> {
  const kernel = new Map([...datapaths].flatMap(([lan, datapath]): [string, KernelLan][] => (datapath.kind === "kernel" ? [[lan, datapath]] : [])));
  if (kernel.size === 0) return [];
  let overrides: LinkOverrides;
  try {
    overrides = readLinkOverrides(runDir);
  } catch (error) {
    return [`${node.name}: live link overrides not restored: ${messageOf(error)}`];
  }
  const members = kernelMembers(node, kernel).filter((member) => overriddenNames(member, overrides).length > 0);
  const outcomes = await applyLinkParams(members, overrides, (member) => overriddenNames(member, overrides));
  return outcomes.map((outcome) => (outcome.ok ? `${node.name}: link override on ${outcome.member.lan} restored: ${describeParams(outcome.wanted)}` : `${node.name}: link override on ${outcome.member.lan} not restored: ${outcome.error ?? "failed"}`));
}

