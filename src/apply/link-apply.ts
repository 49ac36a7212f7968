// Applies live link shaping to running wirefilters through their management sockets (`link set|reset`, and switch up after a wirefilter restarts).
import { messageOf } from "../errors";
import type { HostView } from "../model/node";
import { describeParams, effectiveParams, overriddenNames, paramNames, paramWords, shapedMembers, wirefilterCommands, type LinkMember, type LinkOverrides, type LinkParams, type ParamName } from "../plan/link-plan";
import type { SwitchLayout } from "../plan/switch-plan";
import { readLinkOverrides } from "../system/link-overrides";
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

/**
 * Gives each member's running wirefilter its wanted values for the parameters named, live (no
 * restart: wirefilter applies management commands at once, its queues kept). A wirefilter that
 * does not answer is reported, not fatal: the override stays recorded for switch up to restore.
 */
export async function applyLinkParams(members: readonly LinkMember[], overrides: LinkOverrides, names: readonly ParamName[]): Promise<MemberOutcome[]> {
  const outcomes: MemberOutcome[] = [];
  for (const member of members) {
    const wanted = effectiveParams(member, overrides);
    try {
      const before = await wirefilterParams(member.wirefilter.mgmt);
      await wirefilterSet(member.wirefilter.mgmt, wirefilterCommands(wanted, names));
      outcomes.push({ member, before, wanted, ok: true });
    } catch (error) {
      outcomes.push({ member, wanted, ok: false, error: `${member.wirefilter.summary} did not take the change: ${messageOf(error)}` });
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
  const members = shapedMembers(view, layout).filter((member) => started.has(member.wirefilter.id) && overriddenNames(member, overrides).length > 0);
  const outcomes = await applyLinkParams(members, overrides, paramNames);
  return outcomes.map((outcome) => {
    const names = overriddenNames(outcome.member, overrides).map((name) => paramWords[name]).join(", ");
    const base = { action: "keep" as const, id: outcome.member.wirefilter.id, summary: outcome.member.wirefilter.summary, reason: `link override (${names}) restored: ${describeParams(outcome.wanted)}` };
    return outcome.ok ? { ...base, ok: true } : { ...base, ok: false, error: outcome.error ?? "failed" };
  });
}
