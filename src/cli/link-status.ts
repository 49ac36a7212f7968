// The lines `status` shows for live link overrides (benito link set): one per LAN, never drift.
import { figure, paramNames, paramWords, type ParamOverride } from "../plan/link-plan";
import { BenitoError } from "../errors";
import { readLinkOverrides } from "./os";
import type { LinkOverrides } from "../plan/link-plan";

function words(override: ParamOverride): string {
  return paramNames.flatMap((name) => (override[name] === undefined ? [] : [`${paramWords[name]} ${figure(override[name] ?? 0)}`])).join(", ");
}

/** One ok check per LAN with an override, e.g. {id: "link:slow", ok: true, detail: "override (benito link set): latency 40; d: loss 5"}. */
export function linkOverrideChecks(runDir: string): { id: string; ok: boolean; detail: string }[] {
  let overrides: LinkOverrides;
  try {
    overrides = readLinkOverrides(runDir);
  } catch (error) {
    // A record benito cannot read is worth a line of its own, not the end of status.
    if (error instanceof BenitoError) return [{ id: "link-overrides", ok: false, detail: error.message }];
    throw error;
  }
  return Object.entries(overrides.lans).map(([lan, override]) => {
    const parts = [...(Object.keys(override.lan).length > 0 ? [words(override.lan)] : []), ...Object.entries(override.members).map(([node, own]) => `${node}: ${words(own)}`)];
    return { id: `link:${lan}`, ok: true, detail: `override (benito link set; benito link reset ${lan} undoes it): ${parts.join("; ")}` };
  });
}
