// The kernel datapath in `switch up|down|status`: one Linux bridge per kernel LAN, recorded before it is made, marked as benito's.
import { join } from "node:path";
import { messageOf } from "../errors";
import { kernelAlias, kernelMark } from "../plan/datapath-plan";
import { Rtnl } from "../system/netlink/rtnl";
import { readRecordFolder, removeRecordFolder, writeRecordFile } from "../system/record-store";
import { removeIfPresent } from "../system/processes";
import type { ActionOutcome } from "./switch-apply";

/** The folder under the run dir that holds the kernel datapath's records. */
export const kernelFolder = "kernel";

/** BridgeSpec interface: one kernel LAN's bridge on this pnode. */
export interface BridgeSpec {
  /** The bridge's name (also its record's id). */
  readonly id: string;
  readonly lan: string;
}

/** BridgeRecord interface: what the run dir remembers about a bridge benito made. */
interface BridgeRecord extends BridgeSpec {
  readonly version: 1;
  readonly kind: "kernel-bridge";
}

function folder(runDir: string): string {
  return join(runDir, kernelFolder);
}

function readBridges(runDir: string): BridgeRecord[] {
  return readRecordFolder<BridgeRecord>(folder(runDir), (record) => record.version === 1 && record.kind === "kernel-bridge" && typeof record.lan === "string" && /^[A-Za-z0-9_.-]{1,15}$/.test(record.id));
}

function writeBridgeRecord(runDir: string, spec: BridgeSpec): void {
  const record: BridgeRecord = { version: 1, kind: "kernel-bridge", id: spec.id, lan: spec.lan };
  writeRecordFile(folder(runDir), record);
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
      if (wantedIds.has(record.id)) continue;
      const base = { action: "stop" as const, id: record.id, summary: summary(record), reason: "no longer in the topology" };
      try {
        deleteMarked(rtnl, record.id);
        removeIfPresent(join(folder(runDir), `${record.id}.json`));
        outcomes.push({ ...base, ok: true });
      } catch (error) {
        outcomes.push({ ...base, ok: false, error: messageOf(error) });
      }
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
        writeBridgeRecord(runDir, spec);
        const bridge = rtnl.createBridge(spec.id);
        rtnl.setLinkAlias(bridge.index, kernelAlias(spec.lan));
        rtnl.setLinkUp(bridge.index, true);
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

/** Deletes every recorded bridge (ports first released by the vnodes' stops) and the records. */
export function kernelBridgesDown(runDir: string): ActionOutcome[] {
  const outcomes: ActionOutcome[] = [];
  const rtnl = Rtnl.open();
  try {
    for (const record of readBridges(runDir)) {
      const base = { action: "stop" as const, id: record.id, summary: summary(record), reason: "was recorded" };
      try {
        deleteMarked(rtnl, record.id);
        removeIfPresent(join(folder(runDir), `${record.id}.json`));
        outcomes.push({ ...base, ok: true });
      } catch (error) {
        outcomes.push({ ...base, ok: false, error: messageOf(error) });
      }
    }
  } finally {
    rtnl.close();
  }
  removeRecordFolder(folder(runDir));
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
