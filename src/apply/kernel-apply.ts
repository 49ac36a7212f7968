// The kernel datapath in `switch up|down|status`: one Linux bridge per kernel LAN, recorded before it is made, marked as benito's.
import { join } from "node:path";
import { messageOf } from "../errors";
import { kernelAlias, kernelMark } from "../plan/datapath-plan";
import { Rtnl } from "../system/netlink/rtnl";
import { Ledger } from "../system/ledger";
import { failpoint } from "../system/failpoints";
import type { LinkInfo } from "../system/netlink/types";
import type { ActionOutcome } from "./switch-apply";

/** BridgeSpec interface: one kernel LAN's bridge on this pnode. */
export interface BridgeSpec {
  /** The bridge's name (also its record's id). */
  readonly id: string;
  readonly lan: string;
}

/** A recorded bridge and whether its record is only an intent (written before the bridge was made). */
interface BridgeRecord extends BridgeSpec {
  readonly intent: boolean;
}

/** The kernel LANs' bridges the ledger holds ("bridge" records). */
function readBridges(runDir: string): BridgeRecord[] {
  return Ledger.at(runDir)
    .list("bridge")
    .map((record) => ({ id: record.id, lan: record.data.lan, intent: record.phase === "intent" }));
}

/**
 * Whether a link is benito's bridge: it carries the mark, or it is an unmarked bridge that an
 * intent record names. The intent is written only once the name was checked free, and the mark
 * is set by a second netlink call after the bridge is made (the kernel ignores IFLA_IFALIAS on
 * RTM_NEWLINK create): a crash between the two leaves exactly such a bridge.
 */
function isOurs(link: LinkInfo, intent: boolean): boolean {
  return link.kind === "bridge" && (link.alias?.startsWith(kernelMark) === true || (intent && link.alias === undefined));
}

function writeBridgeRecord(runDir: string, spec: BridgeSpec): void {
  Ledger.at(runDir).write("bridge", spec.id, "done", { lan: spec.lan });
}

function summary(spec: BridgeSpec): string {
  return `bridge ${spec.id} (LAN ${spec.lan}, kernel datapath)`;
}

/** Deletes a bridge when it is there and benito's (see isOurs; its ports are released, not deleted). */
function deleteOurs(rtnl: Rtnl, name: string, intent: boolean): void {
  const link = rtnl.linkByName(name);
  if (link === undefined) return;
  if (!isOurs(link, intent)) throw new Error(`${name} is not a bridge carrying benito's mark: left alone`);
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
  const records = readBridges(runDir);
  const rtnl = Rtnl.open();
  try {
    for (const record of records) {
      if (!wantedIds.has(record.id)) outcomes.push(removeBridge(rtnl, runDir, record, "no longer in the topology"));
    }
    for (const spec of wanted) {
      const base = { id: spec.id, summary: summary(spec) };
      try {
        const link = rtnl.linkByName(spec.id);
        if (link !== undefined) {
          const record = records.find((entry) => entry.id === spec.id);
          if (!isOurs(link, record?.intent === true)) throw new Error(`a link named ${spec.id} exists and is not benito's bridge: left alone`);
          // Made by a run that died before marking it: the mark now.
          if (link.alias?.startsWith(kernelMark) !== true) rtnl.setLinkAlias(link.index, kernelAlias(spec.lan));
          if (!link.up) rtnl.setLinkUp(link.index, true);
          // A confirmed record of this LAN stays as it is (a boot that changes nothing writes nothing).
          if (record === undefined || record.intent || record.lan !== spec.lan) writeBridgeRecord(runDir, spec);
          outcomes.push({ ...base, action: "keep", reason: link.alias === undefined ? "present (made by a run that crashed before marking it)" : "present", ok: true });
          continue;
        }
        // The intent first (the name is free): a crash from here on leaves a record that down and the next up act on.
        Ledger.at(runDir).intend("bridge", spec.id, { lan: spec.lan });
        const bridge = rtnl.createBridge(spec.id);
        failpoint(`bridge:${spec.id}:link:${spec.id}`);
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
function removeBridge(rtnl: Rtnl, runDir: string, record: BridgeRecord, reason: string): ActionOutcome {
  const base = { action: "stop" as const, id: record.id, summary: summary(record), reason };
  try {
    deleteOurs(rtnl, record.id, record.intent);
    Ledger.at(runDir).remove("bridge", record.id);
    return { ...base, ok: true };
  } catch (error) {
    return { ...base, ok: false, error: messageOf(error) };
  }
}

/**
 * Deletes every recorded bridge (ports first released by the vnodes' stops) in one kernel batch
 * (`Rtnl.deleteLinks`: one RCU grace period, not one per LAN), then the records of those gone.
 */
export function kernelBridgesDown(runDir: string): ActionOutcome[] {
  const records = readBridges(runDir);
  const outcomes = new Map<string, ActionOutcome>();
  const stopped = (record: BridgeRecord, error?: unknown): ActionOutcome => ({ action: "stop", id: record.id, summary: summary(record), reason: "was recorded", ok: error === undefined, ...(error !== undefined && { error: messageOf(error) }) });
  // The record goes once its bridge is gone (a crash before leaves the record for the next down).
  const forget = (record: BridgeRecord): void => {
    try {
      Ledger.at(runDir).remove("bridge", record.id);
      outcomes.set(record.id, stopped(record));
    } catch (error) {
      outcomes.set(record.id, stopped(record, error));
    }
  };
  const rtnl = Rtnl.open();
  try {
    const doomed: { record: BridgeRecord; index: number }[] = [];
    for (const record of records) {
      try {
        const link = rtnl.linkByName(record.id);
        if (link === undefined) forget(record);
        else if (!isOurs(link, record.intent)) throw new Error(`${record.id} is not a bridge carrying benito's mark: left alone`);
        else doomed.push({ record, index: link.index });
      } catch (error) {
        outcomes.set(record.id, stopped(record, error));
      }
    }
    const failures = rtnl.deleteLinks(doomed.map((entry) => entry.index));
    doomed.forEach(({ record }, position) => {
      const failure = failures[position];
      if (failure === undefined) forget(record);
      else outcomes.set(record.id, stopped(record, failure));
    });
  } finally {
    rtnl.close();
  }
  Ledger.at(runDir).removeIfEmpty();
  return records.flatMap((record) => outcomes.get(record.id) ?? []);
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
