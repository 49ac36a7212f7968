// The kernel datapath in `switch up|down|status`: one Linux bridge per kernel LAN, recorded before it is made, marked as benito's.
import { join } from "node:path";
import { messageOf } from "../errors";
import { kernelAlias, kernelMark } from "../plan/datapath-plan";
import { Rtnl } from "../system/netlink/rtnl";
import { Ledger } from "../system/ledger";
import type { ActionOutcome } from "./switch-apply";

/** BridgeSpec interface: one kernel LAN's bridge on this pnode. */
export interface BridgeSpec {
  /** The bridge's name (also its record's id). */
  readonly id: string;
  readonly lan: string;
}

/** The kernel LANs' bridges the ledger holds ("bridge" records). */
function readBridges(runDir: string): BridgeSpec[] {
  return Ledger.at(runDir)
    .list("bridge")
    .map((record) => ({ id: record.id, lan: record.data.lan }));
}

function writeBridgeRecord(runDir: string, spec: BridgeSpec): void {
  Ledger.at(runDir).write("bridge", spec.id, "done", { lan: spec.lan });
}

function summary(spec: BridgeSpec): string {
  return `bridge ${spec.id} (LAN ${spec.lan}, kernel datapath)`;
}

/** Deletes a bridge when it is there and carries benito's mark (its ports are released, not deleted). */
function deleteMarked(rtnl: Rtnl, name: string): void {
  const link = rtnl.linkByName(name);
  if (link === undefined) return;
  if (link.kind !== "bridge" || link.alias?.startsWith(kernelMark) !== true) throw new Error(`${name} is not a bridge carrying benito's mark: left alone`);
  rtnl.deleteLink(link.index);
}

/**
 * Converges the bridges: ones no longer wanted are deleted (with their records); wanted ones
 * that exist as benito's bridges are kept (and set up); missing ones are recorded, then made,
 * marked and set up. A link of that name that is not benito's is reported, never touched.
 */
export function kernelBridgesUp(runDir: string, wanted: readonly BridgeSpec[]): ActionOutcome[] {
  const outcomes: ActionOutcome[] = [];
  const wantedIds = new Set(wanted.map((spec) => spec.id));
  const rtnl = Rtnl.open();
  try {
    for (const record of readBridges(runDir)) {
      if (!wantedIds.has(record.id)) outcomes.push(removeBridge(rtnl, runDir, record, "no longer in the topology"));
    }
    for (const spec of wanted) {
      const base = { id: spec.id, summary: summary(spec) };
      try {
        const link = rtnl.linkByName(spec.id);
        if (link !== undefined) {
          if (link.kind !== "bridge" || link.alias?.startsWith(kernelMark) !== true) throw new Error(`a link named ${spec.id} exists and is not benito's bridge: left alone`);
          if (!link.up) rtnl.setLinkUp(link.index, true);
          writeBridgeRecord(runDir, spec);
          outcomes.push({ ...base, action: "keep", reason: "present", ok: true });
          continue;
        }
        // The intent first: a crash from here on leaves a record that down and the next up act on.
        Ledger.at(runDir).intend("bridge", spec.id, { lan: spec.lan });
        const bridge = rtnl.createBridge(spec.id);
        rtnl.setLinkAlias(bridge.index, kernelAlias(spec.lan));
        rtnl.setLinkUp(bridge.index, true);
        Ledger.at(runDir).confirm("bridge", spec.id, { lan: spec.lan });
        outcomes.push({ ...base, action: "start", reason: "not present", ok: true });
      } catch (error) {
        outcomes.push({ ...base, action: "start", reason: "could not be made", ok: false, error: messageOf(error) });
      }
    }
  } finally {
    rtnl.close();
  }
  return outcomes;
}

/** Deletes one recorded bridge (only if it carries benito's mark) and then its ledger record. */
function removeBridge(rtnl: Rtnl, runDir: string, record: BridgeSpec, reason: string): ActionOutcome {
  const base = { action: "stop" as const, id: record.id, summary: summary(record), reason };
  try {
    deleteMarked(rtnl, record.id);
    Ledger.at(runDir).remove("bridge", record.id);
    return { ...base, ok: true };
  } catch (error) {
    return { ...base, ok: false, error: messageOf(error) };
  }
}

/** Deletes every recorded bridge (ports first released by the vnodes' stops) and the records. */
export function kernelBridgesDown(runDir: string): ActionOutcome[] {
  const outcomes: ActionOutcome[] = [];
  const rtnl = Rtnl.open();
  try {
    for (const record of readBridges(runDir)) outcomes.push(removeBridge(rtnl, runDir, record, "was recorded"));
  } finally {
    rtnl.close();
  }
  Ledger.at(runDir).removeIfEmpty();
  return outcomes;
}

/** BridgeStatus interface: one recorded bridge as `switch status` shows it. */
export interface BridgeStatus {
  readonly id: string;
  readonly summary: string;
  readonly present: boolean;
  readonly up: boolean;
  /** How many links are its ports. */
  readonly ports: number;
}

/** Every recorded bridge: present, up, and its port count. */
export function kernelBridgeStatus(runDir: string): BridgeStatus[] {
  const records = readBridges(runDir);
  if (records.length === 0) return [];
  const rtnl = Rtnl.open();
  try {
    const links = rtnl.links();
    return records.map((record) => {
      const link = links.find((entry) => entry.name === record.id && entry.kind === "bridge");
      return { id: record.id, summary: summary(record), present: link !== undefined, up: link?.up === true, ports: link === undefined ? 0 : links.filter((entry) => entry.master === link.index).length };
    });
  } finally {
    rtnl.close();
  }
}
