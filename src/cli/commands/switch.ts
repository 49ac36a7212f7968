// `benito switch up|down|status`: the VDE switches (and wirefilter shaping) this pnode runs, by pidfile.
import { resolve } from "node:path";
import { applySwitchActions, observe, readRecords, switchDown, switchStatus, type ActionOutcome } from "../../apply/switch-apply";
import { forwarderDown, forwarderStatus, forwarderUp } from "../../apply/forwarder-apply";
import { kernelBridgesDown, kernelBridgesUp, kernelBridgeStatus } from "../../apply/kernel-apply";
import { foreignFolder, forgetLinkOverrides, netemAvailable, readFileBytes, switchFolderOwner } from "../os";
import { lanDatapaths } from "../datapaths";
import { formatPort } from "./vde";
import { restoreLinkOverrides } from "../../apply/link-apply";
import { applyTunnelActions, observeTunnels, readTunnelRecords, tunnelsDown, tunnelStatus } from "../../apply/tunnel-apply";
import { loadSiteConf, resolveConfigDir, resolveHostName, topologyPath } from "../../config/config-dir";
import { tunnelSettings } from "../../config/tunnel-conf";
import { ExitCode, InputError, UsageError } from "../../errors";
import { hostViewFromDocument } from "../../model/host-view";
import { lanNodesFromDocument, switchedLans } from "../../model/lan-nodes";
import { planSwitchUp, renderSwitchPlan, switchLayout } from "../../plan/switch-plan";
import { describeForwarding, experimentTunnels, planTunnelUp, renderTunnelPlan, tunnelLayout } from "../../plan/tunnel-plan";
import { defaultLockWaitSeconds, withRunLock } from "../os";
import { integerOption, parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";
import { defaultRunDir } from "../../model/run-dir";

/** Where run state (pidfiles, management sockets, records) lives unless --run-dir says otherwise. */

const help = `Usage: benito switch up [--dry-run] [--json] [--run-dir DIR] [CONFIG_DIR [HOSTNAME]]
       benito switch down [--json] [--run-dir DIR] [CONFIG_DIR [HOSTNAME]]
       benito switch status [--json] [--run-dir DIR] [CONFIG_DIR [HOSTNAME]]

up    starts the vde_switch daemons this pnode must run: one per benito:vde_switch path used by
      the interfaces of this node and the nodes it hosts (topo.xml in CONFIG_DIR). A substrate
      with latency, capacity or loss gets wirefilter shaping: each member port sits in its own
      VLAN with an uplink port, and a wirefilter joins that uplink to a hidden core switch,
      delaying and dropping the member's frames into the LAN (capacity limits both ways).
      A LAN whose members sit on several pnodes is joined to the other pnodes' switches by a
      tunnel: a VXLAN link (or, with tunnel_mode = lan, this pnode's own NIC on that LAN)
      bridged with a TAP that a benito vde plug joins to the LAN's switch (its core switch when
      shaped); on a LAN of the kernel datapath (site.conf datapath = kernel) the VXLAN link (or
      NIC) is a port of the LAN's Linux bridge, which takes tunnel_mtu, with no TAP or plug.
      site.conf: tunnel_mode, underlay_substrate, tunnel_group, tunnel_port, tunnel_mtu.
      Idempotent: daemons and tunnels as wanted are kept, dead or changed ones are (re)made, ones
      benito made that are no longer wanted are removed; each is reported. A VXLAN link whose
      flood entries differ from the recorded remotes is repaired in place (plug kept).
      Then the pnode's forwarder (benito vde forwarder, which moves the process vnodes' frames):
      started when ports are recorded and it does not run (it reopens every recorded port),
      else asked to reopen failed ports.
      A wirefilter (re)started gets back the live override benito link set recorded.
down  removes every tunnel and stops every daemon benito started (recorded in the run dir), by
      pidfile and benito's link mark, never by name pattern, with their sockets, pidfiles and
      records; the forwarder goes before the switches, with its folder.
status lists each recorded daemon (pid, alive or not — the very process recorded: pid and start
      time —, switch ports in use), tunnel (links, plug, VXLAN flood entries), and the forwarder
      with each port; exit 1 when a daemon is dead, a tunnel broken or its flood entries not the
      recorded remotes, the forwarder down or a recorded port not open.
      down and status act on what the run dir records; CONFIG_DIR and HOSTNAME are accepted
      for symmetry with up and not read.

Options:
  --run-dir DIR  where pidfiles, management sockets and records live (default ${defaultRunDir})
  --dry-run      (up) print what would be done; change nothing
  --json         machine-readable output
  --lock-wait S  (up, down) wait up to S seconds (default 120) for the run dir's lock

CONFIG_DIR defaults to /var/benito/config (then /var/containers/config); HOSTNAME to the
kernel hostname cut at the first dot. Exit: 0 done, 1 a daemon failed, 2 usage, 3 bad input.`;

const options = {
  "run-dir": { type: "string" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  "lock-wait": { type: "string" },
} as const;

function verb(outcome: ActionOutcome): string {
  if (!outcome.ok) return "FAILED";
  return { keep: "kept", start: "started", restart: "restarted", stop: "stopped", repair: "repaired" }[outcome.action];
}

function report(outcomes: readonly ActionOutcome[], json: boolean, ctx: CommandContext): ExitCode {
  if (json) ctx.io.out(JSON.stringify(outcomes, null, 2));
  else {
    for (const outcome of outcomes) {
      const pid = outcome.pid === undefined ? "" : ` (pid ${outcome.pid})`;
      const detail = outcome.ok ? outcome.reason : `${outcome.reason}: ${outcome.error ?? "failed"}`;
      ctx.io.out(`${verb(outcome)} ${outcome.summary}${pid} — ${detail}`);
    }
    if (outcomes.length === 0) ctx.io.out("nothing to do: no VDE switches");
  }
  // Each failure is also an error line, so boot's console, log and status file say why.
  const actions = { keep: "keeping", start: "starting", restart: "restarting", stop: "stopping", repair: "repairing" } as const;
  for (const outcome of outcomes) {
    if (!outcome.ok) ctx.io.err(`benito: while ${actions[outcome.action]} ${outcome.summary}: ${outcome.error ?? outcome.reason}`);
  }
  return outcomes.every((outcome) => outcome.ok) ? ExitCode.ok : ExitCode.failed;
}

async function up(positionals: readonly string[], runDir: string, dryRun: boolean, json: boolean, ctx: CommandContext): Promise<ExitCode> {
  const configDir = await resolveConfigDir(positionals[0]);
  const host = resolveHostName(positionals[1]);
  const file = topologyPath(configDir);
  const bytes = await readFileBytes(file, "reading the topology");
  // Only this host's parts of a large topo.xml are read, and for its tunnels only the members of its LANs and their pnodes.
  const { view } = hostViewFromDocument(bytes, file, host);
  const site = await loadSiteConf(configDir);
  // LANs on the kernel datapath get a bridge here instead of a switch (decided from the topology and site.conf).
  const datapaths = lanDatapaths(site, bytes, file, view, view.children, runDir);
  const kernel = [...datapaths].flatMap(([lan, datapath]) => (datapath.kind === "kernel" ? [{ lan, datapath }] : []));
  const layout = switchLayout(view, runDir, new Set(kernel.map((entry) => entry.lan)));
  const settings = tunnelSettings(site);
  // A kernel LAN's members need no switch: its members are read too, and a spanning one's VXLAN joins its bridge.
  const kernelLans = new Set(kernel.map((entry) => entry.lan));
  const lans = lanNodesFromDocument(bytes, file, new Set([...switchedLans(view), ...kernelLans]));
  const kernelBridges = new Map(kernel.map(({ lan, datapath }) => [lan, datapath.bridge]));
  const tunnels = tunnelLayout(view, experimentTunnels(lans.nodes, settings, lans.substrateNames, kernelLans), layout, settings, runDir, process.execPath, kernelBridges);
  const records = readRecords(runDir);
  const actions = planSwitchUp(layout, observe(records));
  // A switch pointed into a folder benito did not make is refused before anything starts (a
  // recorded switch's folder left empty and unmarked by a crash is benito's: see switchFolderOwner).
  const recordedFolders = new Set(records.flatMap((record) => (record.sockDir === undefined ? [] : [record.sockDir])));
  const foreign = actions.flatMap((step) => (step.spec?.sockDir !== undefined && (step.action === "start" || step.action === "restart") && switchFolderOwner(step.spec.sockDir, recordedFolders.has(step.spec.sockDir)) === "foreign" ? [step.spec.sockDir] : []));
  if (foreign.length > 0) {
    const first = foreignFolder(foreign[0] ?? "");
    if (foreign.length === 1) throw first;
    throw new InputError("starting the switches", `${foreign.length} folders`, "they exist and were not made by benito; benito never takes over, empties or chmods them", foreign);
  }
  const { observed, strays } = observeTunnels(readTunnelRecords(runDir));
  const willStart = new Set(actions.filter((step) => step.action === "start" || step.action === "restart").map((step) => step.id));
  const bridges = kernel.map(({ lan, datapath }) => ({ id: datapath.bridge, lan, netem: datapath.netem }));
  if (dryRun) {
    const tunnelActions = planTunnelUp(tunnels, observed, strays, willStart);
    for (const bridge of bridges) ctx.io.out(`bridge ${bridge.id} for LAN ${bridge.lan} (kernel datapath${bridge.netem ? ", latency/loss by netem" : ""}): ip link add ${bridge.id} type bridge`);
    if (json) ctx.io.out(JSON.stringify([...actions.map(({ spec, ...rest }) => ({ ...rest, argv: spec?.argv })), ...tunnelActions.map(({ spec, ...rest }) => ({ ...rest, tunnel: spec }))], null, 2));
    else for (const line of [...renderSwitchPlan(actions), ...renderTunnelPlan(tunnelActions)]) ctx.io.out(line);
    return ExitCode.ok;
  }
  // netem = yes vouches for every pnode's kernel; this one checks and refuses its LANs if it has none.
  const needNetem = bridges.filter((bridge) => bridge.netem);
  const refused = needNetem.length > 0 && !(await netemAvailable()) ? new Set(needNetem.map((bridge) => bridge.id)) : new Set<string>();
  const refusals: ActionOutcome[] = bridges
    .filter((bridge) => refused.has(bridge.id))
    .map((bridge) => ({ action: "start", id: bridge.id, summary: `bridge ${bridge.id} (LAN ${bridge.lan}, kernel datapath)`, reason: "refused", ok: false, error: `LAN ${bridge.lan} has latency or loss and site.conf says netem = yes, but this kernel has no netem qdisc (sch_netem): give it netem, or remove netem = yes (the LAN then uses VDE + wirefilter)` }));
  const bridgeOutcomes = [...refusals, ...kernelBridgesUp(runDir, bridges.filter((bridge) => !refused.has(bridge.id)).map(({ id, lan }) => ({ id, lan })))];
  const outcomes = await applySwitchActions(actions, runDir);
  // A tunnel whose switch was (re)started (or failed to) is rebuilt, so its plug holds a fresh port.
  const restarted = new Set([...outcomes, ...bridgeOutcomes].filter((outcome) => outcome.action === "start" || outcome.action === "restart" || !outcome.ok).map((outcome) => outcome.id));
  // A wirefilter (re)started comes back with the topology's values: a live override (benito link set) is given back.
  const overrides = await restoreLinkOverrides(view, layout, runDir, new Set(outcomes.filter((outcome) => outcome.ok && outcome.action !== "keep").map((outcome) => outcome.id)));
  const tunnelOutcomes = await applyTunnelActions(planTunnelUp(tunnels, observed, strays, restarted), runDir);
  // The forwarder after the switches its ports sit on: restarted (every recorded port reopened) when it died.
  const forwarder = await forwarderUp(runDir, process.execPath);
  return report([...bridgeOutcomes, ...outcomes, ...overrides, ...tunnelOutcomes, ...forwarder], json, ctx);
}

async function status(runDir: string, json: boolean, ctx: CommandContext): Promise<ExitCode> {
  const entries = await switchStatus(runDir);
  const tunnels = tunnelStatus(runDir);
  const forwarder = await forwarderStatus(runDir, process.execPath);
  const bridges = kernelBridgeStatus(runDir);
  // A dead daemon, a broken tunnel, a dead forwarder or a recorded port it does not forward, a missing kernel bridge: drift, exit 1 (boot repairs it).
  const forwarderOk = forwarder === undefined || (forwarder.alive && forwarder.missing.length === 0 && forwarder.ports.every((port) => port.state === "open"));
  const code = entries.every((entry) => entry.alive) && tunnels.every((tunnel) => tunnel.alive && tunnel.forwarding === undefined) && forwarderOk && bridges.every((bridge) => bridge.present && bridge.up) ? ExitCode.ok : ExitCode.failed;
  if (json) {
    ctx.io.out(JSON.stringify([...entries, ...tunnels, ...(forwarder === undefined ? [] : [forwarder]), ...bridges], null, 2));
    return code;
  }
  if (entries.length === 0 && tunnels.length === 0 && forwarder === undefined && bridges.length === 0) ctx.io.out(`no VDE daemons or bridges recorded in ${runDir}`);
  for (const bridge of bridges) ctx.io.out(`${bridge.summary}: ${bridge.present ? `${bridge.up ? "up" : "down"}, ${bridge.ports} port(s)` : "missing"}`);
  for (const entry of entries) {
    const state = entry.alive ? `alive, pid ${entry.pid}` : entry.pid === undefined ? "not running" : `dead (pid ${entry.pid})`;
    ctx.io.out(`${entry.alive ? "" : "DRIFT "}${entry.summary}: ${state}`);
    for (const port of entry.ports ?? []) ctx.io.out(`  port ${port.port} vlan ${port.vlan}: ${port.endpoints.join("; ") || "(no endpoint)"}`);
    if (entry.portsError !== undefined) ctx.io.out(`  ports unknown: ${entry.portsError}`);
  }
  for (const tunnel of tunnels) {
    const plug = tunnel.bridge !== undefined ? `${tunnel.bridgeProblem ?? `a port of the LAN's bridge ${tunnel.bridge}`}` : tunnel.pid === undefined ? "plug not running" : `plug pid ${tunnel.pid}`;
    ctx.io.out(`${tunnel.alive ? "" : "DRIFT "}${tunnel.summary}: ${tunnel.alive ? "up" : "broken"}, ${plug}; links ${tunnel.links.map((link) => `${link.name}${link.present ? "" : " (missing)"}`).join(", ")}`);
    // Each flood entry that differs is a drift of its own (boot re-adds or removes exactly it).
    for (const line of tunnel.forwarding === undefined ? [] : describeForwarding(tunnel.forwarding)) ctx.io.out(`  DRIFT ${tunnel.summary}: ${line}`);
  }
  if (forwarder !== undefined) {
    const state = forwarder.alive ? `alive, pid ${forwarder.pids.join(", ")}` : forwarder.pids.length === 0 ? "not running" : `not all running (alive: pid ${forwarder.pids.join(", ")})`;
    ctx.io.out(`${forwarder.alive ? "" : "DRIFT "}${forwarder.summary}: ${state}${forwarder.error === undefined ? "" : ` (${forwarder.error})`}`);
    for (const port of forwarder.ports) ctx.io.out(`  ${port.state === "open" ? "" : "DRIFT "}${formatPort(port)}`);
    for (const port of forwarder.missing) ctx.io.out(`  DRIFT ${port}: recorded, not forwarded`);
  }
  return code;
}

/** The `switch` command. */
export const switchCommand: Command = {
  name: "switch",
  help,
  async run(args, ctx) {
    const [action, ...rest] = args;
    const { values, positionals } = parseCommandArgs("switch", rest, options, 2);
    const runDir = resolve(values["run-dir"] ?? defaultRunDir);
    const json = values.json === true;
    const lockWait = integerOption("switch", "lock-wait", values["lock-wait"], defaultLockWaitSeconds);
    if (action === "up" && values["dry-run"] === true) return up(positionals, runDir, true, json, ctx);
    if (action === "up") return withRunLock(runDir, lockWait, () => up(positionals, runDir, false, json, ctx));
    if (values["dry-run"] === true) throw new UsageError("switch", "--dry-run applies to up only");
    // Tunnels go first: their plugs sit on the switches.
    if (action === "down") {
      return withRunLock(runDir, lockWait, async () => {
        // With the wirefilters gone, a live override (benito link set) means nothing: forgotten.
        forgetLinkOverrides(runDir);
        const tunnels = await tunnelsDown(runDir);
        // The forwarder before the switches: its ports would otherwise keep reconnecting to them.
        const forwarder = await forwarderDown(runDir, process.execPath);
        return report([...tunnels, ...(forwarder === undefined ? [] : [forwarder]), ...(await switchDown(runDir)), ...kernelBridgesDown(runDir)], json, ctx);
      });
    }
    if (action === "status") return status(runDir, json, ctx);
    throw new UsageError("switch", 'expected "up", "down" or "status"');
  },
};
