// A running wirefilter through its management socket: what it applies now (showinfo) and live changes (delay, loss, bandwidth).
import type { LinkParams } from "../plan/link-plan";
import { mgmtCommand } from "./vde/mgmt";
import { SystemError } from "../errors";

/** A wirefilter value with its spread: "20+5U", "1.25e+06+0U", "2.5+0N". */
const valuePattern = "([0-9.]+(?:e[+-]?\\d+)?)\\+([0-9.]+(?:e[+-]?\\d+)?)[UN]?";

function leftToRight(lines: readonly string[], label: string): { value: number; spread: number } | undefined {
  const line = lines.find((candidate) => candidate.startsWith(label));
  const match = line === undefined ? null : new RegExp(`L->R ${valuePattern}`).exec(line);
  if (match === null) return undefined;
  return { value: Number(match[1]), spread: Number(match[2]) };
}

/**
 * Parses `showinfo` into the member → LAN (left → right) parameters.
 *
 * @returns undefined when the lines are not a wirefilter's showinfo.
 */
export function parseShowinfo(lines: readonly string[]): LinkParams | undefined {
  const delay = leftToRight(lines, "Delay");
  const loss = leftToRight(lines, "Loss");
  const bandwidth = leftToRight(lines, "Bandw");
  if (delay === undefined || loss === undefined || bandwidth === undefined) return undefined;
  return { latencyMs: delay.value, jitterMs: delay.spread, lossPercent: loss.value, capacityKbps: bandwidth.value / 125 };
}

/** What a wirefilter applies now. @throws SystemError when it does not answer or answers something else. */
export async function wirefilterParams(mgmt: string): Promise<LinkParams> {
  const lines = await mgmtCommand(mgmt, "showinfo");
  const params = parseShowinfo(lines);
  if (params === undefined) throw new SystemError("reading the wirefilter's settings", mgmt, "showinfo gave no delay, loss and bandwidth");
  return params;
}

/** Sends management commands, in order, on one connection each (wirefilter applies each at once; nothing restarts). */
export async function wirefilterSet(mgmt: string, commands: readonly string[]): Promise<void> {
  for (const command of commands) await mgmtCommand(mgmt, command);
}
