// Builds and removes the tunnels joining a LAN across pnodes: VXLAN (or NIC), bridge, TAP and plug on a VDE LAN, the VXLAN link (or NIC) straight on a kernel LAN's bridge; recorded in the run dir.
import { join } from "node:path";
import { BenitoError, messageOf } from "../errors";
import { tunnelAlias, tunnelFingerprint, tunnelFolder, tunnelMark, vxlanOverhead, type ForwardingDrift, type ObservedTunnel, type TunnelAction, type TunnelSpec } from "../plan/tunnel-plan";
import { Rtnl } from "../system/netlink/rtnl";
import type { AddressInfo, LinkInfo } from "../system/netlink/types";
import { pidfileState, processStartTime, removeIfPresent, startSelfDaemonizing, stopByPidfile } from "../system/processes";
import { createTap } from "../system/tap";
import type { ActionOutcome } from "./switch-apply";
import { Ledger, type LedgerData } from "../system/ledger";
import { makeDir, removeEmptyDir } from "../system/paths";
import { failpoint } from "../system/failpoints";

/** The all-zero MAC: a VXLAN link's default forwarding entry (flooded frames go to each such entry). */
const floodMac = "00:00:00:00:00:00";

/**
 * TunnelRecord type: what the ledger remembers about a tunnel benito made (intent before its links
 * are made, confirmed with its plug); `intent` while it was never confirmed.
 */
export type TunnelRecord = LedgerData<"tunnel"> & { readonly id: string; readonly intent: boolean };

/** Reads every tunnel record in the run dir's ledger (a record that cannot be read is an error naming its file). */
export function readTunnelRecords(runDir: string): TunnelRecord[] {
  return Ledger.at(runDir)
    .list("tunnel")
    .map((record) => ({ ...record.data, id: record.id, intent: record.phase === "intent" }));
}

function isMarked(link: LinkInfo | undefined): link is LinkInfo {
  return link?.alias?.startsWith(tunnelMark) === true;
}

/** The kinds of link a tunnel makes: its bridge, its TAP, its VXLAN link. */
const tunnelLinkKinds = new Set(["bridge", "tun", "vxlan"]);

/**
 * Whether a link named in a tunnel's record is benito's: it carries the mark, or (`intent`: the
 * record was never confirmed) it is an unmarked link of a kind the tunnel makes. The intent is
 * written once the names were checked free, and each link is marked by a second netlink call
 * after it is made (the kernel ignores IFLA_IFALIAS on RTM_NEWLINK create): a crash between the
 * two leaves exactly such a link.
 */
function isOurs(link: LinkInfo | undefined, intent: boolean): link is LinkInfo {
  if (link === undefined) return false;
  return link.alias?.startsWith(tunnelMark) === true || (intent && link.alias === undefined && tunnelLinkKinds.has(link.kind));
}

/** Runs work with an rtnetlink socket in this namespace, closing it afterwards. */
function withRtnl<T>(work: (rtnl: Rtnl) => T): T {
  const rtnl = Rtnl.open();
  try {
    return work(rtnl);
  } finally {
    rtnl.close();
  }
}

/** The flood entries a tunnel's VXLAN link should have: one per remote pnode, or the multicast group's. */
function wantedFlood(record: { readonly remotes?: readonly string[]; readonly group?: string }): readonly string[] {
  return record.group !== undefined ? [record.group] : (record.remotes ?? []);
}

/**
 * How a VXLAN link's flood entries (00:00:00:00:00:00 dst ADDRESS, its own table) differ from the
 * wanted remotes; undefined when they agree. Learned entries (other MACs) are the kernel's business.
 */
function floodDrift(rtnl: Rtnl, link: LinkInfo, wanted: readonly string[]): ForwardingDrift | undefined {
  const present = new Set(rtnl.fdbEntries(link.index).flatMap((entry) => (entry.self && entry.mac === floodMac && entry.dst !== undefined ? [entry.dst] : [])));
  const missing = wanted.filter((dst) => !present.has(dst));
  const foreign = [...present].filter((dst) => !wanted.includes(dst)).sort();
  return missing.length === 0 && foreign.length === 0 ? undefined : { link: link.name, missing, foreign };
}

/** The drift of a recorded tunnel's flood entries, when its VXLAN link is there with benito's mark. */
function recordFloodDrift(rtnl: Rtnl, record: TunnelRecord, byName: ReadonlyMap<string, LinkInfo>): ForwardingDrift | undefined {
  const link = record.vxlan === undefined ? undefined : byName.get(record.vxlan);
  return isMarked(link) ? floodDrift(rtnl, link, wantedFlood(record)) : undefined;
}

/** Puts a VXLAN link's flood entries right: the missing ones appended, the foreign ones deleted (nothing else touched). */
function repairFlood(spec: TunnelSpec): void {
  withRtnl((rtnl) => {
    const link = spec.links.vxlan === undefined ? undefined : rtnl.linkByName(spec.links.vxlan);
    if (!isMarked(link)) throw new BenitoError("repairing the tunnel's forwarding entries", spec.substrate, `its VXLAN link ${spec.links.vxlan ?? "(none)"} is missing`);
    const drift = floodDrift(rtnl, link, wantedFlood(spec));
    for (const dst of drift?.missing ?? []) rtnl.appendFdb(link.index, floodMac, dst);
    for (const dst of drift?.foreign ?? []) rtnl.deleteFdb(link.index, floodMac, dst);
  });
}

/**
 * What each recorded tunnel looks like now (links present and marked, plug alive, flood entries), and the links
 * carrying benito's tunnel mark that no record names (left by a run whose records were lost).
 */
export function observeTunnels(records: readonly TunnelRecord[]): { observed: ObservedTunnel[]; strays: string[] } {
  return withRtnl((rtnl) => {
    const links = rtnl.links();
    const byName = new Map(links.map((link) => [link.name, link]));
    const recorded = new Set(records.flatMap((record) => record.links));
    const observed = records.map((record) => {
      const missing = record.links.filter((name) => !isMarked(byName.get(name)));
      const broken = missing.length > 0 ? `link${missing.length === 1 ? "" : "s"} ${missing.join(", ")} missing` : !plugAlive(record) ? "its plug is not running" : bridgePortProblem(record, byName);
      const forwarding = broken === undefined ? recordFloodDrift(rtnl, record, byName) : undefined;
      return { id: record.id, fingerprint: record.fingerprint, summary: record.summary, ...(broken !== undefined && { broken }), ...(forwarding !== undefined && { forwarding }) };
    });
    const strays = links.filter((link) => isMarked(link) && !recorded.has(link.name)).map((link) => link.name);
    return { observed, strays };
  });
}

/** Whether a tunnel's plug runs (a kernel LAN's tunnel has none). */
function plugAlive(record: TunnelRecord): boolean {
  return record.plugPidfile === undefined || pidfileState(record.plugPidfile, record.plugProgram).alive;
}

/** The link that joins a tunnel to its LAN: its VXLAN link, or (`lan` mode) the NIC. */
function uplinkName(record: TunnelRecord): string | undefined {
  return record.vxlan ?? record.nic;
}

/** A kernel LAN's tunnel: what is wrong with its uplink as a port of the LAN's bridge (undefined when it is one, and up). */
function bridgePortProblem(record: TunnelRecord, byName: ReadonlyMap<string, LinkInfo>): string | undefined {
  if (record.bridge === undefined) return undefined;
  const uplink = uplinkName(record);
  const link = uplink === undefined ? undefined : byName.get(uplink);
  const bridge = byName.get(record.bridge);
  if (link === undefined) return `its uplink ${uplink ?? "(none)"} is missing`;
  if (bridge === undefined || link.master !== bridge.index) return `${link.name} is not a port of the LAN's bridge ${record.bridge}`;
  return link.up ? undefined : `${link.name} is down`;
}

/**
 * Deletes links by name, only benito's: those that carry its tunnel mark, and with `intent` (a
 * record never confirmed) the unmarked ones a crash left between making and marking them.
 * Someone else's link of that name is left alone.
 */
function deleteMarkedLinks(rtnl: Rtnl, names: readonly string[], intent = false): void {
  for (const name of names) {
    const link = rtnl.linkByName(name);
    if (isOurs(link, intent)) rtnl.deleteLink(link.index);
  }
}

/** Stops a tunnel's plug (by pidfile), deletes its links (bridge first, which releases a NIC), and forgets it. */
async function removeTunnel(record: TunnelRecord, runDir: string): Promise<void> {
  if (record.plugPidfile !== undefined) await stopByPidfile(record.plugPidfile, record.plugProgram);
  withRtnl((rtnl) => {
    deleteMarkedLinks(rtnl, record.links, record.intent);
    // A kernel LAN's bridge is the LAN's, not the tunnel's: a NIC (lan mode) is only released from it.
    if (record.bridge !== undefined && record.nic !== undefined) releaseNic(rtnl, record.nic, record.bridge);
  });
  if (record.plugLog !== undefined) removeIfPresent(record.plugLog);
  Ledger.at(runDir).remove("tunnel", record.id);
}

/** Takes a NIC out of the kernel LAN's bridge, when it is still a port of it (never deletes a NIC). */
function releaseNic(rtnl: Rtnl, nic: string, bridgeName: string): void {
  const link = rtnl.linkByName(nic);
  const bridge = rtnl.linkByName(bridgeName);
  if (link !== undefined && bridge !== undefined && link.master === bridge.index) rtnl.setLinkMaster(link.index, 0);
}

/** The ledger's "addresses" record of an underlay address benito added (so `down` removes it, and only it); no host is named so. */
const underlayRecordId = "(underlay)";

/**
 * The link that should carry the underlay address: this pnode's TopDL interface on the underlay
 * substrate, found by MAC (else by name). When the control bridge has taken that NIC, the
 * bridge carries its MAC and addresses: then the bridge is the underlay interface, never the
 * enslaved NIC.
 */
function underlayLink(rtnl: Rtnl, nic: NonNullable<TunnelSpec["localNic"]>): LinkInfo | undefined {
  const found = (nic.mac !== undefined ? rtnl.linkByMac(nic.mac) : undefined) ?? (nic.ifname !== undefined ? rtnl.linkByName(nic.ifname) : undefined);
  if (found === undefined || found.master === 0) return found;
  return rtnl.linkByIndex(found.master) ?? found;
}

/**
 * The address benito added, where the record says it put it: on a link with the recorded MAC (the
 * NIC, or the control bridge that took the NIC and its MAC). The same address on any other link is
 * someone else's and is left alone.
 */
function recordedHolder(rtnl: Rtnl, added: { readonly mac: string; readonly address: string; readonly prefixLength: number }): AddressInfo | undefined {
  const onMac = new Set(rtnl.links().filter((link) => link.mac.toLowerCase() === added.mac.toLowerCase()).map((link) => link.index));
  return rtnl.addresses().find((entry) => entry.address === added.address && entry.prefixLength === added.prefixLength && onMac.has(entry.index));
}

/**
 * The device holding this pnode's underlay address, checked to carry the inner MTU plus VXLAN's
 * overhead. When no device holds it, it is added (as TopDL gives it) to the underlay NIC, next to
 * whatever addresses are there (e.g. from DHCP), and recorded so `down` removes it.
 */
function underlayDevice(rtnl: Rtnl, spec: TunnelSpec, runDir: string): LinkInfo {
  let address = rtnl.addresses().find((entry) => entry.address === spec.local);
  if (address === undefined && spec.local !== undefined && spec.localNic !== undefined) {
    const link = underlayLink(rtnl, spec.localNic);
    if (link !== undefined) {
      // The record holds the set benito added: an earlier one (the topology changed the address)
      // stays in the intent until it is gone, so down forgets neither. It goes before the new one
      // is added: deleting a subnet's primary address takes its secondaries with it.
      const earlier = Ledger.at(runDir).get("addresses", underlayRecordId)?.data.addresses ?? [];
      const added = { mac: link.mac, address: spec.local, prefixLength: spec.localNic.prefixLength };
      Ledger.at(runDir).intend("addresses", underlayRecordId, { addresses: [...earlier.filter((entry) => entry.address !== spec.local), added] });
      for (const stale of earlier) {
        const holder = recordedHolder(rtnl, stale);
        if (holder !== undefined && stale.address !== spec.local) rtnl.deleteAddress(holder.index, stale.address, stale.prefixLength);
      }
      rtnl.addAddress(link.index, spec.local, spec.localNic.prefixLength);
      Ledger.at(runDir).confirm("addresses", underlayRecordId, { addresses: [added] });
      if (!link.up) rtnl.setLinkUp(link.index, true);
      address = rtnl.addresses().find((entry) => entry.address === spec.local);
    }
  }
  const device = address === undefined ? undefined : rtnl.linkByIndex(address.index);
  if (device === undefined) {
    const nic = spec.localNic;
    const how = nic === undefined
      ? "this pnode's TopDL interface on the underlay substrate gives no address benito could place"
      : `no NIC here has ${nic.mac !== undefined ? `MAC ${nic.mac}` : nic.ifname !== undefined ? `the name ${nic.ifname}` : "a MAC or name given"} (the TopDL interface carrying it)`;
    throw new BenitoError("building the tunnel", spec.substrate, `this pnode's underlay address ${spec.local} is on no interface here and benito cannot add it: ${how}; give that interface benito:mac_address (or benito:ifname) of the underlay NIC, configure the address before boot, or name another substrate with underlay_substrate in site.conf`);
  }
  if (device.mtu < spec.mtu + vxlanOverhead) {
    throw new BenitoError(
      "building the tunnel",
      spec.substrate,
      `the underlay device ${device.name} has MTU ${device.mtu}; VXLAN needs ${spec.mtu + vxlanOverhead} to carry ${spec.mtu}-byte frames without dropping them: raise the underlay's MTU, or set tunnel_mtu = ${device.mtu - vxlanOverhead} in site.conf and give the experiment's interfaces that MTU`,
    );
  }
  return device;
}

/** This pnode's NIC on the substrate (`lan` mode): by MAC, else by name; it must be free to bridge. */
function ownNic(rtnl: Rtnl, spec: TunnelSpec): LinkInfo {
  const nic = (spec.nic?.mac !== undefined ? rtnl.linkByMac(spec.nic.mac) : undefined) ?? (spec.nic?.ifname !== undefined ? rtnl.linkByName(spec.nic.ifname) : undefined);
  if (nic === undefined) throw new BenitoError("building the tunnel", spec.substrate, `no NIC here has ${spec.nic?.mac !== undefined ? `MAC ${spec.nic.mac}` : `the name ${spec.nic?.ifname}`}`);
  const lanBridge = spec.kernelBridge === undefined ? undefined : rtnl.linkByName(spec.kernelBridge);
  if (nic.master !== 0 && nic.master !== lanBridge?.index) throw new BenitoError("building the tunnel", spec.substrate, `NIC ${nic.name} already belongs to another bridge (index ${nic.master})`);
  if (nic.mtu < spec.mtu) throw new BenitoError("building the tunnel", spec.substrate, `NIC ${nic.name} has MTU ${nic.mtu}, below the inner MTU ${spec.mtu} (tunnel_mtu)`);
  return nic;
}

/**
 * Creates one tunnel: the VXLAN link with its flood entries (or finds the NIC), the TAP and the
 * bridge joining them, all marked and up, then the plug joining the TAP to the switch; records it.
 * On a kernel LAN the VXLAN link (or NIC) joins the LAN's bridge straight — no TAP, bridge or
 * plug of its own — and the bridge takes the tunnel's MTU. Whatever it made is removed again when
 * a step fails, so a failure leaves nothing half-built.
 */
async function buildTunnel(spec: TunnelSpec, runDir: string): Promise<number | undefined> {
  makeDir(join(runDir, tunnelFolder));
  const created = [spec.links.bridge, spec.links.tap, spec.links.vxlan].filter((name) => name !== undefined);
  const record: LedgerData<"tunnel"> = {
    substrate: spec.substrate,
    summary: spec.summary,
    fingerprint: tunnelFingerprint(spec),
    links: created,
    ...(spec.links.vxlan !== undefined && { vxlan: spec.links.vxlan, remotes: [...spec.remotes], ...(spec.group !== undefined && { group: spec.group }) }),
    ...(spec.plug !== undefined && { plugPidfile: spec.plug.pidfile, plugProgram: spec.plug.program, plugLog: spec.plug.log }),
    ...(spec.kernelBridge !== undefined && { bridge: spec.kernelBridge }),
  };
  // tunnel_mode = lan: the NIC this tunnel puts on a bridge, named in the intent so that down and
  // the next up release it even when a crash comes right after it was enslaved.
  let nicName: string | undefined;
  withRtnl((rtnl) => {
    // Leftovers of an earlier run under these names go first; a foreign link of that name stops us
    // before the intent is written (an intent vouches that its unmarked links are benito's).
    deleteMarkedLinks(rtnl, created);
    const clash = created.find((name) => rtnl.linkByName(name) !== undefined);
    if (clash !== undefined) throw new BenitoError("building the tunnel", spec.substrate, `a link named ${clash} exists and is not benito's`);
    if (spec.links.vxlan === undefined) nicName = ownNic(rtnl, spec).name;
  });
  // The intent first: a crash from here on leaves a record that down and the next up act on.
  Ledger.at(runDir).intend("tunnel", spec.id, { ...record, ...(nicName !== undefined && { nic: nicName }) });
  const alias = tunnelAlias(spec.substrate);
  try {
    withRtnl((rtnl) => {
      let uplink: LinkInfo;
      if (spec.links.vxlan !== undefined) {
        const device = underlayDevice(rtnl, spec, runDir);
        uplink = rtnl.createVxlan(spec.links.vxlan, { vni: spec.vni, local: spec.local ?? "", link: device.index, port: spec.port, learning: true, mtu: spec.mtu, ...(spec.group !== undefined && { group: spec.group }) });
        failpoint(`tunnel:${spec.id}:link:${spec.links.vxlan}`);
        rtnl.setLinkAlias(uplink.index, alias);
        for (const remote of spec.remotes) rtnl.appendFdb(uplink.index, floodMac, remote);
      } else {
        uplink = ownNic(rtnl, spec);
        nicName = uplink.name;
      }
      if (spec.kernelBridge !== undefined) {
        const bridge = rtnl.linkByName(spec.kernelBridge);
        if (bridge === undefined || bridge.kind !== "bridge") throw new BenitoError("building the tunnel", spec.substrate, `the LAN's bridge ${spec.kernelBridge} is missing (switch up makes it before the tunnels)`);
        if (uplink.master !== bridge.index) rtnl.setLinkMaster(uplink.index, bridge.index);
        if (nicName !== undefined) failpoint(`tunnel:${spec.id}:nic:${nicName}`);
        // The bridge carries what the tunnel carries: tunnel_mtu (the kernel cannot fragment a bridged frame).
        rtnl.setLinkMtu(bridge.index, spec.mtu);
        rtnl.setLinkUp(uplink.index, true);
        return;
      }
      if (spec.links.tap === undefined || spec.links.bridge === undefined) throw new BenitoError("building the tunnel", spec.substrate, "a VDE LAN's tunnel needs its bridge and TAP");
      createTap(spec.links.tap);
      const tap = rtnl.linkByName(spec.links.tap);
      if (tap === undefined) throw new BenitoError("building the tunnel", spec.substrate, `the TAP ${spec.links.tap} vanished after it was created`);
      failpoint(`tunnel:${spec.id}:link:${spec.links.tap}`);
      rtnl.setLinkAlias(tap.index, alias);
      rtnl.setLinkMtu(tap.index, spec.mtu);
      const bridge = rtnl.createBridge(spec.links.bridge);
      failpoint(`tunnel:${spec.id}:link:${spec.links.bridge}`);
      rtnl.setLinkAlias(bridge.index, alias);
      rtnl.setLinkMaster(uplink.index, bridge.index);
      rtnl.setLinkMaster(tap.index, bridge.index);
      rtnl.setLinkMtu(bridge.index, spec.mtu);
      for (const index of [uplink.index, tap.index, bridge.index]) rtnl.setLinkUp(index, true);
    });
    const nic = nicName !== undefined && { nic: nicName };
    if (spec.plug === undefined) {
      Ledger.at(runDir).confirm("tunnel", spec.id, { ...record, ...nic });
      return undefined;
    }
    const pid = await startSelfDaemonizing(spec.plug.argv, spec.plug.pidfile, spec.plug.program, spec.plug.log);
    Ledger.at(runDir).confirm("tunnel", spec.id, { ...record, ...nic, pid, startTime: processStartTime(pid) });
    return pid;
  } catch (error) {
    if (spec.plug !== undefined) await stopByPidfile(spec.plug.pidfile, spec.plug.program);
    // Under the intent: a link made but not yet marked when the step failed goes too.
    withRtnl((rtnl) => {
      deleteMarkedLinks(rtnl, created, true);
      if (spec.kernelBridge !== undefined && nicName !== undefined) releaseNic(rtnl, nicName, spec.kernelBridge);
    });
    throw error;
  }
}

/** Removes every underlay address benito added (no tunnel needs one any more), from the kernel and then from the record. */
function removeUnderlayAddresses(runDir: string, reason: string): ActionOutcome[] {
  const ledger = Ledger.at(runDir);
  const recorded = ledger.get("addresses", underlayRecordId)?.data.addresses ?? [];
  const outcomes: ActionOutcome[] = [];
  let left = recorded;
  for (const added of recorded) {
    const base = { action: "stop" as const, id: underlayRecordId, summary: `underlay address ${added.address}/${added.prefixLength}`, reason };
    try {
      withRtnl((rtnl) => {
        const holder = recordedHolder(rtnl, added);
        if (holder !== undefined) rtnl.deleteAddress(holder.index, added.address, added.prefixLength);
      });
      left = left.filter((entry) => entry !== added);
      outcomes.push({ ...base, ok: true });
    } catch (error) {
      outcomes.push({ ...base, ok: false, error: messageOf(error) });
    }
  }
  if (left.length === recorded.length) return outcomes;
  if (left.length === 0) ledger.remove("addresses", underlayRecordId);
  else ledger.confirm("addresses", underlayRecordId, { addresses: left });
  return outcomes;
}

/** Carries out the tunnel actions of `switch up` in order; a failure is reported and the rest goes on. */
export async function applyTunnelActions(actions: readonly TunnelAction[], runDir: string): Promise<ActionOutcome[]> {
  const records = new Map(readTunnelRecords(runDir).map((record) => [record.id, record]));
  const outcomes: ActionOutcome[] = [];
  for (const step of actions) {
    const base = { action: step.action, id: step.id, summary: step.summary, reason: step.reason };
    try {
      const record = records.get(step.id);
      if (step.id.startsWith("link:")) {
        withRtnl((rtnl) => deleteMarkedLinks(rtnl, [step.id.slice("link:".length)]));
        outcomes.push({ ...base, ok: true });
        continue;
      }
      if (step.action === "keep" || step.action === "repair") {
        if (step.action === "repair" && step.spec !== undefined) repairFlood(step.spec);
        outcomes.push({ ...base, ok: true, pid: record?.plugPidfile === undefined ? undefined : pidfileState(record.plugPidfile).pid });
        continue;
      }
      if (record !== undefined) await removeTunnel(record, runDir);
      if (step.action === "stop") {
        outcomes.push({ ...base, ok: true });
        continue;
      }
      if (step.spec === undefined) throw new Error(`no configuration for ${step.id}`);
      outcomes.push({ ...base, ok: true, pid: await buildTunnel(step.spec, runDir) });
    } catch (error) {
      outcomes.push({ ...base, ok: false, error: error instanceof BenitoError ? error.reason : messageOf(error) });
    }
  }
  // The underlay address benito added goes once no wanted tunnel needs one (a changed one was replaced as its tunnel was rebuilt).
  if (!actions.some((step) => step.action !== "stop" && step.spec?.local !== undefined)) outcomes.push(...removeUnderlayAddresses(runDir, "no tunnel needs it any more"));
  return outcomes;
}

/** Removes every recorded tunnel and every stray marked link (`switch down`, before the switches stop). */
export async function tunnelsDown(runDir: string): Promise<ActionOutcome[]> {
  const records = readTunnelRecords(runDir);
  const { strays } = observeTunnels(records);
  const outcomes: ActionOutcome[] = [];
  for (const record of records) {
    const state = record.plugPidfile === undefined ? { alive: true, pid: undefined } : pidfileState(record.plugPidfile, record.plugProgram);
    const base = { action: "stop" as const, id: record.id, summary: record.summary, reason: state.alive ? "was up" : "was not running (cleaned up)" };
    try {
      await removeTunnel(record, runDir);
      outcomes.push({ ...base, ok: true, pid: state.pid });
    } catch (error) {
      outcomes.push({ ...base, ok: false, error: messageOf(error) });
    }
  }
  for (const name of strays) {
    const base = { action: "stop" as const, id: `link:${name}`, summary: `link ${name}`, reason: "marked by benito, in no record" };
    try {
      withRtnl((rtnl) => deleteMarkedLinks(rtnl, [name]));
      outcomes.push({ ...base, ok: true });
    } catch (error) {
      outcomes.push({ ...base, ok: false, error: messageOf(error) });
    }
  }
  // The underlay addresses benito added, once no tunnel needs them (an address that was there before is never recorded).
  outcomes.push(...removeUnderlayAddresses(runDir, "added by benito"));
  Ledger.at(runDir).removeIfEmpty();
  try {
    removeEmptyDir(join(runDir, tunnelFolder));
  } catch {
    // Absent, or holding files that are not benito's: left alone.
  }
  return outcomes;
}

/** TunnelStatus interface: one tunnel as `switch status` shows it. */
export interface TunnelStatus {
  readonly id: string;
  readonly role: "tunnel";
  readonly substrate: string;
  readonly summary: string;
  /** The plug's pid (a VDE LAN's tunnel) and whether the tunnel is whole. */
  readonly pid?: number;
  readonly alive: boolean;
  /** A kernel LAN's tunnel: the LAN's bridge, and what is wrong with its uplink as a port of it (absent when it is one, up). */
  readonly bridge?: string;
  readonly bridgeProblem?: string;
  /** Each recorded link and whether it is there with benito's mark. */
  readonly links: readonly { readonly name: string; readonly present: boolean }[];
  /** Its VXLAN link's flood entries that differ from the record (each one a drift). */
  readonly forwarding?: ForwardingDrift;
}

/** Reports every recorded tunnel: its links, its plug and its VXLAN link's flood entries. */
export function tunnelStatus(runDir: string): TunnelStatus[] {
  const records = readTunnelRecords(runDir);
  if (records.length === 0) return [];
  return withRtnl((rtnl) => {
    const byName = new Map(rtnl.links().map((link) => [link.name, link]));
    return records.map((record) => {
      const pid = record.plugPidfile === undefined ? undefined : pidfileState(record.plugPidfile, record.plugProgram).pid;
      const links = record.links.map((name) => ({ name, present: isMarked(byName.get(name)) }));
      const forwarding = recordFloodDrift(rtnl, record, byName);
      const bridgeProblem = bridgePortProblem(record, byName);
      const alive = plugAlive(record) && links.every((link) => link.present) && bridgeProblem === undefined;
      return { id: record.id, role: "tunnel" as const, substrate: record.substrate, summary: record.summary, pid, alive, links, ...(record.bridge !== undefined && { bridge: record.bridge }), ...(bridgeProblem !== undefined && { bridgeProblem }), ...(forwarding !== undefined && { forwarding }) };
    });
  });
}
