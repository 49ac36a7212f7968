// Which vde_switch and wirefilter daemons a pnode runs (from its HostView), and what `switch up` must change.
import { basename, isAbsolute, join } from "node:path";
import { InputError } from "../errors";
import type { HostView, Shaping } from "../model/node";

/** The folder under the run dir that holds the daemons' pidfiles, management sockets, records and logs. */
export const stateFolder = "vde";
/** The longest unix socket path (sun_path holds 108 bytes with the NUL). */
const maxSocketPath = 107;
/** The most ports a shaped switch member may use: VLAN ids are 12 bits and 0 is the default VLAN. */
const maxShapedPort = 2047;
/** vde_switch's default port count. */
const defaultPorts = 32;

/** DaemonSpec interface: one daemon `switch up` keeps running. */
export interface DaemonSpec {
  /** File-name-safe identity in the run dir (pidfile, record, management socket are named after it). */
  readonly id: string;
  /** "switch": a switch nodes plug into; "core": the hidden LAN switch of a shaped substrate; "wirefilter": a shaping link. */
  readonly role: "switch" | "core" | "wirefilter";
  /** The program, also the name its /proc cmdline must show (pidfiles are checked against it). */
  readonly program: "vde_switch" | "wirefilter";
  /** Full argv (daemonizing flags included). */
  readonly argv: readonly string[];
  readonly pidfile: string;
  /** Management socket. */
  readonly mgmt: string;
  /** Where the daemon's own output goes while it starts. */
  readonly log: string;
  /** Switches: the socket folder (`-s`). */
  readonly sockDir?: string;
  /** Plain and core switches: the port count (`-n`); the highest port, count - 1, is kept free for a tunnel to other pnodes (tunnel-plan.ts). */
  readonly ports?: number;
  /** Switches: the startup script (`-f`): VLANs and ports of a shaped substrate. */
  readonly rc?: { readonly path: string; readonly content: string };
  /** Ids of the switches a wirefilter joins (restarting one restarts it). */
  readonly joins: readonly string[];
  /** The substrates it serves, for reports. */
  readonly substrates: readonly string[];
  /** One line for reports, e.g. "wirefilter lan0 port 2 (delay 20 ms, loss 0.5%)". */
  readonly summary: string;
}

/** SwitchLayout interface: every daemon this pnode runs, switches before the wirefilters that join them. */
export interface SwitchLayout {
  readonly runDir: string;
  readonly daemons: readonly DaemonSpec[];
}

/** Observed interface: what the run dir says about one daemon benito started earlier. */
export interface Observed {
  readonly id: string;
  readonly program: string;
  /** {@link fingerprint} of the spec it was started with. */
  readonly fingerprint: string;
  readonly pid?: number;
  readonly alive: boolean;
  /** The role and summary recorded when it started (for stopping something no longer wanted). */
  readonly role: DaemonSpec["role"];
  readonly summary: string;
}

/** SwitchAction interface: one step of `switch up`, in execution order. */
export interface SwitchAction {
  readonly action: "keep" | "start" | "restart" | "stop";
  readonly id: string;
  /** The wanted daemon (absent for "stop"). */
  readonly spec?: DaemonSpec;
  /** Why, in words ("not running", "configuration changed", "no longer in the topology" …). */
  readonly reason: string;
  readonly summary: string;
}

/** What identifies a daemon's configuration: `up` restarts it when this changes. */
export function fingerprint(spec: DaemonSpec): string {
  return JSON.stringify({ argv: spec.argv, rc: spec.rc?.content ?? "" });
}

function isShaped(shaping: Shaping): boolean {
  return (shaping.latencyMs ?? 0) > 0 || (shaping.capacityKbps ?? 0) > 0 || (shaping.loss ?? 0) > 0;
}

/** A short, stable, file-name-safe id for a switch path: its base name plus 8 hex digits of its hash. */
function switchId(path: string): string {
  const base = basename(path).replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 32) || "switch";
  return `${base}-${new Bun.CryptoHasher("sha256").update(path).digest("hex").slice(0, 8)}`;
}

/** A number for a wirefilter flag: integers stay integers, fractions keep up to 6 decimals. */
function figure(value: number): string {
  return String(Number(value.toFixed(6)));
}

/** Member interface: one interface plugged into a switch. */
interface Member {
  readonly node: string;
  readonly iface: string;
  readonly substrate: string;
  readonly port?: number;
  readonly where: string;
}

function switchArgv(sockDir: string, mgmt: string, pidfile: string, ports: number, rcPath?: string): string[] {
  const argv = ["vde_switch", "-s", sockDir, "-M", mgmt, "-d", "-p", pidfile, "-n", String(ports)];
  if (rcPath !== undefined) argv.push("-f", rcPath);
  return argv;
}

/**
 * Derives the daemons this pnode runs: one vde_switch per `benito:vde_switch` path used by the
 * interfaces of this node and the nodes it hosts, and for each shaped substrate a hidden core
 * switch plus one wirefilter per member port.
 *
 * Shaping layout (docs/vde.md, "Where the wirefilters sit"): on a shaped switch every member port N is put in
 * its own VLAN N together with an uplink port N+K (K = the highest member port), so members
 * cannot reach each other inside the switch; a wirefilter joins uplink port N+K to the core
 * switch. Its left-to-right direction (member → core) carries the delay and the loss, so a frame
 * from one member to another is delayed once by `latency` and dropped once with probability
 * `loss` (a 2-node link has RTT = 2 × latency); `capacity` limits both directions of every
 * member's wirefilter (each member's link to the LAN has that capacity).
 *
 * @param kernelLans LANs on the kernel datapath (src/plan/datapath-plan.ts): no switch for them.
 * @throws InputError when the topology asks for something a switch cannot do (listed all at once).
 */
export function switchLayout(view: HostView, runDir: string, kernelLans: ReadonlySet<string> = new Set()): SwitchLayout {
  const state = join(runDir, stateFolder);
  const problems: string[] = [];
  const members = new Map<string, Member[]>();
  for (const node of [view.self, ...view.children]) {
    for (const iface of node.interfaces) {
      // A LAN on the kernel datapath is a bridge, not a switch: its benito:vde_switch is not used.
      if (iface.vdeSwitch === undefined || kernelLans.has(iface.substrate)) continue;
      const list = members.get(iface.vdeSwitch) ?? [];
      list.push({ node: node.name, iface: iface.name, substrate: iface.substrate, port: iface.vdePort, where: `${node.path}:${node.line}` });
      members.set(iface.vdeSwitch, list);
    }
  }
  const switches: DaemonSpec[] = [];
  const wirefilters: DaemonSpec[] = [];
  for (const [path, list] of [...members.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const where = `switch ${path} (${list.map((member) => `${member.node}.${member.iface}`).join(", ")})`;
    if (!isAbsolute(path)) problems.push(`${where}: the switch path must be absolute`);
    if (Buffer.byteLength(join(path, "ctl")) > maxSocketPath) problems.push(`${where}: ${path}/ctl is longer than a unix socket path may be (${maxSocketPath} bytes)`);
    const substrates = [...new Set(list.map((member) => member.substrate))].sort();
    const shaped = substrates.filter((name) => isShaped(view.lans.get(name)?.shaping ?? {}));
    const ports = list.flatMap((member) => (member.port === undefined ? [] : [member.port]));
    const seen = new Set<number>();
    for (const member of list) {
      if (member.port === undefined) continue;
      if (seen.has(member.port)) problems.push(`${where}: port ${member.port} is used twice`);
      seen.add(member.port);
    }
    const id = switchId(path);
    const pidfile = join(state, `${id}.pid`);
    const mgmt = join(state, `${id}.mgmt`);
    const log = join(state, `${id}.log`);
    const highest = Math.max(0, ...ports);
    if (shaped.length === 0) {
      // One port above the members' stays free: a tunnel to other pnodes plugs in there.
      const portCount = Math.max(defaultPorts, highest + 2);
      switches.push({ id, role: "switch", program: "vde_switch", argv: switchArgv(path, mgmt, pidfile, portCount), pidfile, mgmt, log, sockDir: path, ports: portCount, joins: [], substrates, summary: `vde_switch ${path} (${substrates.join(", ")})` });
      continue;
    }
    if (substrates.length > 1) {
      problems.push(`${where}: carries substrates ${substrates.join(", ")}, of which ${shaped.join(", ")} is shaped; a shaped substrate needs a switch of its own`);
      continue;
    }
    const unported = list.filter((member) => member.port === undefined || member.port < 1 || member.port > maxShapedPort);
    if (unported.length > 0) {
      problems.push(`${where}: on a shaped substrate every member needs benito:vde_port between 1 and ${maxShapedPort}; not so for ${unported.map((member) => `${member.node}.${member.iface}`).join(", ")}`);
      continue;
    }
    const substrate = substrates[0] ?? "";
    const shaping = view.lans.get(substrate)?.shaping ?? {};
    const memberPorts = [...seen].sort((a, b) => a - b);
    const rcPath = join(state, `${id}.rc`);
    const rc = memberPorts.flatMap((port) => [`vlan/create ${port}`, `port/create ${port}`, `port/setvlan ${port} ${port}`, `port/create ${port + highest}`, `port/setvlan ${port + highest} ${port}`]);
    switches.push({
      id,
      role: "switch",
      program: "vde_switch",
      argv: switchArgv(path, mgmt, pidfile, Math.max(defaultPorts, 2 * highest + 1), rcPath),
      pidfile,
      mgmt,
      log,
      sockDir: path,
      rc: { path: rcPath, content: `${rc.join("\n")}\n` },
      joins: [],
      substrates,
      summary: `vde_switch ${path} (${substrate}: one VLAN per member port)`,
    });
    const coreId = `core-${id}`;
    const coreDir = join(state, coreId);
    if (Buffer.byteLength(join(coreDir, "ctl")) > maxSocketPath) problems.push(`${where}: the run dir ${runDir} is too long for the core switch's socket path`);
    const corePidfile = join(state, `${coreId}.pid`);
    const coreMgmt = join(state, `${coreId}.mgmt`);
    // A port per member's wirefilter, and a spare one for a tunnel to other pnodes.
    const corePorts = Math.max(defaultPorts, memberPorts.length + 2);
    switches.push({
      id: coreId,
      role: "core",
      program: "vde_switch",
      argv: switchArgv(coreDir, coreMgmt, corePidfile, corePorts),
      pidfile: corePidfile,
      mgmt: coreMgmt,
      log: join(state, `${coreId}.log`),
      sockDir: coreDir,
      ports: corePorts,
      joins: [],
      substrates,
      summary: `vde_switch ${coreDir} (core of ${substrate})`,
    });
    const flags: string[] = [];
    const intoLan: string[] = [];
    if ((shaping.latencyMs ?? 0) > 0) {
      flags.push("-d", `LR${figure(shaping.latencyMs ?? 0)}`);
      intoLan.push(`delay ${figure(shaping.latencyMs ?? 0)} ms`);
    }
    if ((shaping.loss ?? 0) > 0) {
      flags.push("-l", `LR${figure((shaping.loss ?? 0) * 100)}`);
      intoLan.push(`loss ${figure((shaping.loss ?? 0) * 100)}%`);
    }
    const effects = intoLan.length > 0 ? [`member→LAN ${intoLan.join(", ")}`] : [];
    if ((shaping.capacityKbps ?? 0) > 0) {
      // capacity is in kb/s (1000 bits); wirefilter wants bytes/s.
      flags.push("-b", figure((shaping.capacityKbps ?? 0) * 125));
      effects.push(`${figure(shaping.capacityKbps ?? 0)} kb/s both ways`);
    }
    for (const port of memberPorts) {
      const wfId = `wf-${id}-${port}`;
      const wfPidfile = join(state, `${wfId}.pid`);
      const wfMgmt = join(state, `${wfId}.mgmt`);
      wirefilters.push({
        id: wfId,
        role: "wirefilter",
        program: "wirefilter",
        argv: ["wirefilter", "-v", `${path}[${port + highest}]:${coreDir}`, ...flags, "-M", wfMgmt, "--daemon", "--pidfile", wfPidfile],
        pidfile: wfPidfile,
        mgmt: wfMgmt,
        log: join(state, `${wfId}.log`),
        joins: [id, coreId],
        substrates,
        summary: `wirefilter ${substrate} port ${port} (${effects.join("; ")})`,
      });
    }
  }
  if (problems.length > 0) throw new InputError("laying out the VDE switches", view.self.name, `${problems.length} problem${problems.length === 1 ? "" : "s"} with the switches`, problems);
  return { runDir, daemons: [...switches, ...wirefilters] };
}

/**
 * Plans `switch up`: keeps daemons that run with the wanted configuration, starts missing or
 * dead ones, restarts changed ones (and the wirefilters joined to a restarted switch), and stops
 * daemons benito started earlier that the topology no longer asks for (wirefilters first).
 */
export function planSwitchUp(layout: SwitchLayout, observed: readonly Observed[]): SwitchAction[] {
  const byId = new Map(observed.map((entry) => [entry.id, entry]));
  const wanted = new Set(layout.daemons.map((spec) => spec.id));
  const actions: SwitchAction[] = [];
  const obsolete = observed.filter((entry) => !wanted.has(entry.id)).sort((a, b) => (a.role === "wirefilter" ? 0 : 1) - (b.role === "wirefilter" ? 0 : 1));
  for (const entry of obsolete) actions.push({ action: "stop", id: entry.id, reason: "no longer in the topology", summary: entry.summary });
  const restarted = new Set<string>();
  for (const spec of layout.daemons) {
    const seen = byId.get(spec.id);
    const base = { id: spec.id, spec, summary: spec.summary };
    if (seen === undefined) {
      actions.push({ ...base, action: "start", reason: "not running" });
      restarted.add(spec.id);
    } else if (!seen.alive) {
      actions.push({ ...base, action: "start", reason: seen.pid === undefined ? "not running" : `dead (pid ${seen.pid} is gone)` });
      restarted.add(spec.id);
    } else if (seen.fingerprint !== fingerprint(spec)) {
      actions.push({ ...base, action: "restart", reason: "configuration changed" });
      restarted.add(spec.id);
    } else {
      const moved = spec.joins.find((id) => restarted.has(id));
      if (moved !== undefined) {
        actions.push({ ...base, action: "restart", reason: `switch ${moved} was (re)started` });
        restarted.add(spec.id);
      } else {
        actions.push({ ...base, action: "keep", reason: "running as configured" });
      }
    }
  }
  return actions;
}

/** Renders the plan as the dry run prints it: one line per action, argv for what starts. */
export function renderSwitchPlan(actions: readonly SwitchAction[]): string[] {
  return actions.map((step) => {
    const command = step.spec !== undefined && step.action !== "keep" ? `: ${step.spec.argv.join(" ")}` : "";
    return `${step.action} ${step.summary} — ${step.reason}${command}`;
  });
}
