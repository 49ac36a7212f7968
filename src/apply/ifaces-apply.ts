// Runs an interface plan through the NetSystem, keeps benito's address records, and writes the /etc/hosts block.
import { BenitoError, ExitCode } from "../errors";
import { mergeHostsBlock, type HostsEntry } from "../model/hosts-file";
import type { IfacePlan, IfaceStep, OwnedAddress } from "../plan/ifaces-plan";
import { readTextOrEmpty, replaceFile } from "../system/replace-file";
import type { AddressInfo, LinkInfo } from "../system/netlink/types";
import type { NetSystem } from "./net-system";

/** IfaceStepOutcome interface: the kernel's answer to one step. */
export interface IfaceStepOutcome {
  readonly step: IfaceStep;
  readonly ok: boolean;
  /** The kernel's words when it refused. */
  readonly error?: string;
}

/**
 * Runs the steps in order. A refused step is recorded and the next steps still run (an address
 * that cannot be set must not keep the other interfaces down).
 */
export async function applyIfacePlan(system: NetSystem, plan: IfacePlan): Promise<IfaceStepOutcome[]> {
  const outcomes: IfaceStepOutcome[] = [];
  for (const step of plan.steps) {
    const answer =
      step.kind === "address.add"
        ? await system.addAddress(step.index, step.address, step.prefixLength)
        : step.kind === "address.delete"
          ? await system.deleteAddress(step.index, step.address, step.prefixLength)
          : step.kind === "link.promote-secondaries"
            ? await system.promoteSecondaries(step.ifname)
            : await system.setLinkUp(step.index, true);
    outcomes.push(answer.ok ? { step, ok: true } : { step, ok: false, error: answer.message ?? "refused" });
  }
  return outcomes;
}

/**
 * The records after a run: the earlier ones minus the addresses deleted, plus the ones added,
 * keeping only addresses that still exist (a record never outlives its address).
 */
export function nextOwnedAddresses(previous: readonly OwnedAddress[], outcomes: readonly IfaceStepOutcome[], links: readonly LinkInfo[], addresses: readonly AddressInfo[]): OwnedAddress[] {
  const key = (entry: OwnedAddress) => `${entry.mac} ${entry.address}/${entry.prefixLength}`;
  const macOf = new Map(links.map((link) => [link.index, link.mac]));
  const present = new Set(addresses.map((address) => key({ mac: macOf.get(address.index) ?? "", address: address.address, prefixLength: address.prefixLength })));
  const records = new Map(previous.filter((entry) => present.has(key(entry))).map((entry) => [key(entry), entry]));
  for (const { step, ok } of outcomes) {
    if (!ok || step.kind === "link.up" || step.kind === "link.promote-secondaries") continue;
    const entry = { mac: step.mac, address: step.address, prefixLength: step.prefixLength };
    if (step.kind === "address.delete") records.delete(key(entry));
    else records.set(key(entry), entry);
  }
  return [...records.values()];
}

/**
 * Brings benito's block in a hosts file up to date.
 *
 * @param path The hosts file (normally /etc/hosts).
 * @param entries The entries from the config folder's `hosts`.
 * @param source That file's path, named in the block.
 * @param dryRun When true, nothing is written.
 * @returns "updated" or "unchanged".
 */
export function updateHostsFile(path: string, entries: readonly HostsEntry[], source: string, dryRun: boolean): "updated" | "unchanged" {
  const doing = "writing the experiment's hosts";
  const current = readTextOrEmpty(path, doing);
  const merged = mergeHostsBlock(current, entries, source);
  if ("problem" in merged) throw new BenitoError(doing, path, merged.problem, ExitCode.failed);
  if (merged.content === current) return "unchanged";
  if (!dryRun) replaceFile(path, merged.content, doing);
  return "updated";
}
