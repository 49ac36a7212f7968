// Moves the control NIC under a bridge as one transaction: journal every change, restore the snapshot on any failure.
import { BenitoError, ExitCode, messageOf } from "../errors";
import { planControlBridge, routeWords, type ControlBridgeMove, type ControlBridgePlan, type ControlBridgeWanted, type NetSnapshot } from "../plan/control-bridge-plan";
import { icmpEcho } from "../system/icmp-echo";
import { Rtnl as RtnlSocket, type Rtnl } from "../system/netlink/rtnl";
import type { AddressInfo, LinkInfo, Route } from "../system/netlink/types";
import { createTap, deleteTap, interfaceExists } from "../system/tap";
import { Ledger } from "../system/ledger";
import { failpoint } from "../system/failpoints";

/** ControlBridgeRecord interface: what `up` changed, kept in the run dir's ledger so `down` restores exactly that. */
export interface ControlBridgeRecord {
  readonly bridge: string;
  readonly nic: { readonly name: string; readonly mac: string; readonly up: boolean };
  /** The NIC's addresses before the move, in kernel order. */
  readonly addresses: readonly AddressInfo[];
  /** The routes through the NIC before the move (oif as it was). */
  readonly routes: readonly Route[];
  /** The control TAPs benito created (only these are deleted by `down`). */
  readonly taps: readonly string[];
  /** The NIC was found bridged with no record: benito did not move it, only its TAPs are benito's. */
  readonly adopted?: boolean;
}

/** The id of the control bridge's ledger record (one per run dir). */
const recordId = "control";

/** Reads the record of an earlier `up`, if any (an intent too: a move a crash may have left half done). */
export function readRecord(runDir: string): ControlBridgeRecord | undefined {
  return Ledger.at(runDir).get("control-bridge", recordId)?.data;
}

/** True when the record is only an intent: an `up` was cut short in the middle of the move. */
export function moveCutShort(runDir: string): boolean {
  return Ledger.at(runDir).get("control-bridge", recordId)?.phase === "intent";
}

/** Options of the transactional move. */
export interface MoveOptions {
  /** How long the gateway has to answer after the move (ms). */
  readonly verifyTimeoutMs: number;
  /** Progress lines (one per change). */
  readonly log: (line: string) => void;
  /** Called when a failed move was rolled back completely (nothing is left to restore). */
  readonly rolledBack?: () => void;
}

/** Something that was done and how to take it back. */
interface JournalEntry {
  readonly what: string;
  readonly undo: () => void;
}

function linkNamed(rtnl: Rtnl, name: string, doing: string): LinkInfo {
  const link = rtnl.linkByName(name);
  if (link === undefined) throw new BenitoError(doing, name, "the interface disappeared");
  return link;
}

/** Routes through one interface, as the kernel has them now. */
function withOif(routes: readonly Route[], oif: number): Route[] {
  return routes.map((route) => ({ ...route, oif }));
}

/**
 * Puts the NIC's addresses back exactly: whatever of them is left is removed, then all are
 * added in their old order (so the old primary is primary again), then its routes replaced.
 */
function restoreNic(rtnl: Rtnl, nic: LinkInfo, addresses: readonly AddressInfo[], routes: readonly Route[]): string[] {
  const failures: string[] = [];
  const attempt = (what: string, change: () => void) => {
    try {
      change();
    } catch (error) {
      failures.push(`${what}: ${messageOf(error)}`);
    }
  };
  const current = rtnl.addresses(nic.index);
  // Deleting the primary can take secondaries with it; go from the last to the first.
  for (const address of [...addresses].reverse()) {
    if (current.some((have) => have.address === address.address && have.prefixLength === address.prefixLength)) {
      attempt(`removing ${address.address} from ${nic.name}`, () => rtnl.deleteAddress(nic.index, address.address, address.prefixLength));
    }
  }
  for (const address of addresses) {
    attempt(`adding ${address.address} to ${nic.name}`, () => rtnl.addAddress(nic.index, address.address, address.prefixLength, { replace: true, broadcast: address.broadcast ?? null }));
  }
  const outcomes = rtnl.applyRoutes(withOif(routes, nic.index).map((route) => ({ action: "replace" as const, route })));
  outcomes.forEach((outcome, i) => {
    const route = routes[i];
    if (!outcome.ok && route !== undefined) failures.push(`route ${routeWords(route, nic.name)}: ${outcome.message ?? "refused"}`);
  });
  return failures;
}

/**
 * Runs the move: bridge created with the NIC's MAC (neighbours' ARP caches stay right), the NIC's
 * addresses added to the bridge before the NIC is enslaved (so the host keeps answering), routes
 * replaced onto the bridge, the NIC's addresses removed, the gateway proven to answer, then the
 * control TAPs attached. Any failure restores the snapshot and throws, naming the failed step.
 *
 * @returns The record to keep for `down`.
 */
export function moveUnderBridge(rtnl: Rtnl, move: ControlBridgeMove, options: MoveOptions): ControlBridgeRecord {
  const journal: JournalEntry[] = [];
  const createdTaps: string[] = [];
  const nic = move.nic;
  const gatewayAnsweredBefore = move.gateway !== undefined && icmpEcho(move.gateway, Math.min(2000, options.verifyTimeoutMs));
  const step = (what: string, change: () => void, undo: () => void) => {
    options.log(what);
    change();
    journal.push({ what, undo });
    failpoint(`control-bridge:${recordId}:step:${what}`);
  };
  try {
    let bridge: LinkInfo | undefined;
    step(`create bridge ${move.bridge}`, () => {
      bridge = rtnl.createBridge(move.bridge);
    }, () => bridge && rtnl.deleteLink(bridge.index));
    const bridgeIndex = linkNamed(rtnl, move.bridge, "creating the control bridge").index;
    step(`set ${move.bridge} address ${nic.mac}`, () => rtnl.setLinkMac(bridgeIndex, nic.mac), () => undefined);
    step(`set ${move.bridge} up`, () => rtnl.setLinkUp(bridgeIndex, true), () => undefined);
    for (const address of move.addresses) {
      step(`add ${address.address}/${address.prefixLength} to ${move.bridge}`, () => rtnl.addAddress(bridgeIndex, address.address, address.prefixLength, { replace: true, broadcast: address.broadcast ?? null }), () => undefined);
    }
    step(`attach ${nic.name} to ${move.bridge}`, () => rtnl.setLinkMaster(nic.index, bridgeIndex), () => rtnl.setLinkMaster(nic.index, 0));
    const outcomes = rtnl.applyRoutes(withOif(move.routes, bridgeIndex).map((route) => ({ action: "replace" as const, route })));
    outcomes.forEach((outcome, i) => {
      const route = move.routes[i];
      if (route !== undefined) options.log(`move route ${routeWords(route, move.bridge)}`);
      if (!outcome.ok) throw new BenitoError("moving a route onto the control bridge", route ? routeWords(route, move.bridge) : move.bridge, outcome.message ?? "refused");
    });
    for (const address of move.addresses) {
      step(`remove ${address.address}/${address.prefixLength} from ${nic.name}`, () => rtnl.deleteAddress(nic.index, address.address, address.prefixLength), () => undefined);
    }
    if (move.gateway !== undefined && gatewayAnsweredBefore) {
      options.log(`verify gateway ${move.gateway} answers`);
      if (!icmpEcho(move.gateway, options.verifyTimeoutMs)) {
        throw new BenitoError("verifying the control network after the move", move.bridge, `the default gateway ${move.gateway} answered before the move and not within ${options.verifyTimeoutMs} ms after it`);
      }
    } else if (move.gateway !== undefined) {
      options.log(`warning: the default gateway ${move.gateway} did not answer before the move either; not verified`);
    }
    for (const tap of move.taps) attachControlTap(rtnl, tap, bridgeIndex, createdTaps, options.log);
  } catch (error) {
    const failures = rollback(rtnl, journal, createdTaps, move);
    if (failures.length === 0) options.rolledBack?.();
    const cause = error instanceof BenitoError ? error.message.replace(/^benito: /, "") : messageOf(error);
    const restored = failures.length === 0 ? "the previous state was restored" : `restoring the previous state failed too: ${failures.join("; ")}`;
    throw new BenitoError("bridging the control interface", nic.name, `${cause}; ${restored}`, ExitCode.failed, [], { cause: error });
  }
  return { bridge: move.bridge, nic: { name: nic.name, mac: nic.mac, up: nic.up }, addresses: move.addresses, routes: move.routes, taps: createdTaps };
}

/** Undoes a failed move: journal in reverse, then the NIC's addresses and routes exactly as they were. */
function rollback(rtnl: Rtnl, journal: JournalEntry[], createdTaps: string[], move: ControlBridgeMove): string[] {
  const failures: string[] = [];
  for (const tap of createdTaps.reverse()) {
    try {
      deleteTap(tap);
    } catch (error) {
      failures.push(`deleting ${tap}: ${messageOf(error)}`);
    }
  }
  for (const entry of journal.reverse()) {
    try {
      entry.undo();
    } catch (error) {
      failures.push(`undoing "${entry.what}": ${messageOf(error)}`);
    }
  }
  failures.push(...restoreNic(rtnl, move.nic, move.addresses, move.routes));
  return failures;
}

/**
 * Creates (when absent) a control TAP, attaches it to the bridge and sets it up. `record`, when
 * given, is called with the TAP's name before it is made, so the ledger names it first.
 */
export function attachControlTap(rtnl: Rtnl, tap: string, bridgeIndex: number, createdTaps: string[], log: (line: string) => void, record?: (tap: string) => void): void {
  if (!interfaceExists(tap)) {
    log(`create control TAP ${tap}`);
    record?.(tap);
    createTap(tap);
    failpoint(`control-bridge:${recordId}:tap:${tap}`);
    createdTaps.push(tap);
  }
  const link = linkNamed(rtnl, tap, "attaching a control TAP");
  if (link.kind !== "tun") throw new BenitoError("attaching a control TAP", tap, `an interface of that name exists and is a ${link.kind || "plain"} device, not a TAP`);
  if (link.master !== bridgeIndex) {
    log(`attach ${tap} to the control bridge`);
    rtnl.setLinkMaster(link.index, bridgeIndex);
  }
  if (!link.up) rtnl.setLinkUp(link.index, true);
}

/**
 * Restores the state before `up` from its record: NIC released and given back its addresses and
 * routes, the TAPs benito made deleted, the bridge deleted. Returns what could not be restored.
 */
export function restoreFromRecord(rtnl: Rtnl, record: ControlBridgeRecord, log: (line: string) => void): string[] {
  const failures: string[] = [];
  if (record.adopted === true) return deleteTaps(record.taps, log);
  const nic = rtnl.linkByName(record.nic.name);
  const bridge = rtnl.linkByName(record.bridge);
  if (nic === undefined) return [`the control interface ${record.nic.name} no longer exists`];
  if (nic.master !== 0) {
    log(`release ${nic.name} from ${record.bridge}`);
    rtnl.setLinkMaster(nic.index, 0);
  }
  // A move cut short before it touched the NIC leaves nothing to give back; re-adding the
  // addresses would delete the primary first, and that flushes every route through it (DHCP's, an
  // operator's), not only the recorded ones.
  if (nic.master !== 0 || !nicAsRecorded(rtnl, nic, record)) {
    log(`give ${nic.name} back its addresses and routes`);
    failures.push(...restoreNic(rtnl, nic, record.addresses, record.routes));
  }
  if (record.nic.up !== nic.up) rtnl.setLinkUp(nic.index, record.nic.up);
  failures.push(...deleteTaps(record.taps, log));
  if (bridge !== undefined && bridge.kind === "bridge") {
    log(`delete bridge ${record.bridge}`);
    rtnl.deleteLink(bridge.index);
  }
  return failures;
}

/** True when the NIC still has every address and route the record holds (the move never changed it). */
function nicAsRecorded(rtnl: Rtnl, nic: LinkInfo, record: ControlBridgeRecord): boolean {
  const addresses = rtnl.addresses(nic.index);
  const routes = rtnl.routes().filter((route) => route.oif === nic.index);
  const hasAddress = (want: AddressInfo) => addresses.some((have) => have.address === want.address && have.prefixLength === want.prefixLength);
  const hasRoute = (want: Route) =>
    routes.some((have) => have.dst === want.dst && have.prefixLength === want.prefixLength && have.table === want.table && have.gateway === want.gateway && (have.metric ?? 0) === (want.metric ?? 0));
  return record.addresses.every(hasAddress) && record.routes.every(hasRoute);
}

/** Deletes the control TAPs benito made (those still there); returns what failed. */
function deleteTaps(taps: readonly string[], log: (line: string) => void): string[] {
  const failures: string[] = [];
  for (const tap of taps) {
    if (!interfaceExists(tap)) continue;
    log(`delete control TAP ${tap}`);
    try {
      deleteTap(tap);
    } catch (error) {
      failures.push(`deleting ${tap}: ${messageOf(error)}`);
    }
  }
  return failures;
}

/** Saves the record (confirmed) in the ledger, or removes it. */
export function saveRecord(runDir: string, record: ControlBridgeRecord | undefined): void {
  if (record === undefined) {
    Ledger.at(runDir).remove("control-bridge", recordId);
    Ledger.at(runDir).removeIfEmpty();
  } else Ledger.at(runDir).confirm("control-bridge", recordId, toData(record));
}

/** The record as ledger data (plain arrays). */
function toData(record: ControlBridgeRecord) {
  return { ...record, addresses: [...record.addresses], routes: [...record.routes], taps: [...record.taps] };
}

/** ControlBridgeResult interface: what `control-bridge up` did. */
export interface ControlBridgeResult {
  readonly bridge: string;
  readonly nic: string;
  readonly changed: boolean;
  readonly tapsAdded: string[];
}

/** The kernel's links, addresses and routes now: what the control-bridge plan compares against. */
function snapshot(rtnl: Rtnl): NetSnapshot {
  return { links: rtnl.links(), addresses: rtnl.addresses(), routes: rtnl.routes() };
}

/** Plans the control bridge against the machine as it is now (reads the kernel, changes nothing). */
export function planControlBridgeHere(wanted: ControlBridgeWanted): ControlBridgePlan {
  const rtnl = RtnlSocket.open();
  try {
    return planControlBridge(snapshot(rtnl), wanted);
  } finally {
    rtnl.close();
  }
}

/**
 * Carries out `control-bridge up`: when the NIC is bridged already, the missing control TAPs are
 * attached (and recorded); otherwise the NIC moves under the bridge (recorded before the move,
 * rolled back on failure). The plan is made again on the same socket, so it is current.
 *
 * @throws BenitoError when the plan refuses (the reason says why) or the move fails.
 */
export function controlBridgeUp(wanted: ControlBridgeWanted, runDir: string, options: MoveOptions): ControlBridgeResult {
  const rtnl = RtnlSocket.open();
  try {
    // A move a crash left half done (its intent is in the ledger): undone first, then made afresh.
    const earlier = Ledger.at(runDir).get("control-bridge", recordId);
    if (earlier?.phase === "intent") {
      options.log(`undo the move a crashed run left half done`);
      const failures = restoreFromRecord(rtnl, earlier.data, options.log);
      if (failures.length > 0) throw new BenitoError("undoing the control bridge's half-done move", earlier.data.nic.name, `${failures.length} change(s) failed`, ExitCode.failed, failures);
      saveRecord(runDir, undefined);
    }
    const plan = planControlBridge(snapshot(rtnl), wanted);
    if (plan.state === "refused") throw new BenitoError("planning the control bridge", wanted.bridge, plan.reason);
    if (plan.state === "bridged") {
      // Each TAP's name goes into the record before the TAP is made, so a crash in between leaves
      // a TAP `down` deletes. With no record (the bridge was there before benito, or its record is
      // lost) the record made says so: only the TAPs are benito's, the NIC and bridge are left alone.
      const nic = plan.nic;
      let record: ControlBridgeRecord = readRecord(runDir) ?? { bridge: plan.bridge.name, nic: { name: nic.name, mac: nic.mac, up: nic.up }, addresses: [], routes: [], taps: [], adopted: true };
      const created: string[] = [];
      const recordTap = (tap: string) => {
        if (record.taps.includes(tap)) return;
        record = { ...record, taps: [...record.taps, tap] };
        saveRecord(runDir, record);
      };
      for (const tap of plan.missingTaps) attachControlTap(rtnl, tap, plan.bridge.index, created, options.log, recordTap);
      return { bridge: plan.bridge.name, nic: plan.nic.name, changed: created.length > 0, tapsAdded: created };
    }
    // The intent first: what the NIC looks like now and the TAPs the move will make, so `down`
    // after a crash anywhere in the move restores the NIC.
    const move = plan.move;
    const ledger = Ledger.at(runDir);
    ledger.intend("control-bridge", recordId, toData({ bridge: move.bridge, nic: { name: move.nic.name, mac: move.nic.mac, up: move.nic.up }, addresses: move.addresses, routes: move.routes, taps: move.taps.filter((tap) => !interfaceExists(tap)) }));
    const record = moveUnderBridge(rtnl, move, { ...options, rolledBack: () => saveRecord(runDir, undefined) });
    saveRecord(runDir, record);
    return { bridge: record.bridge, nic: record.nic.name, changed: true, tapsAdded: [...record.taps] };
  } finally {
    rtnl.close();
  }
}

/**
 * Carries out `control-bridge down` from the record: the NIC leaves the bridge and gets its
 * addresses and routes back, benito's control TAPs and the bridge go, the record is removed.
 *
 * @returns The record it restored from, or undefined when benito set up no control bridge here.
 * @throws BenitoError listing the changes that failed.
 */
export function controlBridgeDown(runDir: string, log: (line: string) => void): ControlBridgeRecord | undefined {
  const record = readRecord(runDir);
  if (record === undefined) return undefined;
  const rtnl = RtnlSocket.open();
  try {
    const failures = restoreFromRecord(rtnl, record, log);
    if (failures.length > 0) throw new BenitoError("restoring the control interface", record.nic.name, `${failures.length} change(s) failed`, ExitCode.failed, failures);
    saveRecord(runDir, undefined);
    return record;
  } finally {
    rtnl.close();
  }
}
