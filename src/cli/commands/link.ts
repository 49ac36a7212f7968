// `benito link show|set|reset [LAN [NODE]]`: a running experiment's link shaping, changed live through the wirefilters' management sockets.
import { applyLinkParams, memberParams, type MemberOutcome } from "../../apply/link-apply";
import { BenitoError, ExitCode, InputError, UsageError } from "../../errors";
import { lanNodesFromDocument } from "../../model/lan-nodes";
import type { Node } from "../../model/node";
import { controlSubstrate } from "../../model/resolve";
import { describeParams, effectiveParams, figure, kernelCommands, overriddenNames, paramNames, paramWords, shapedMembers, wirefilterCommands, withReset, withSet, type KernelLan, type LinkMember, type LinkOverrides, type LinkParams, type ParamName, type ParamOverride } from "../../plan/link-plan";
import { switchLayout } from "../../plan/switch-plan";
import { defaultLockWaitSeconds, readFileBytes, readLinkOverrides, withRunLock, writeLinkOverrides } from "../os";
import { loadSiteConf } from "../../config/config-dir";
import { lanDatapaths } from "../datapaths";
import { integerOption, parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";
import { experimentOptions, experimentOptionsHelp, loadExperiment, type Experiment } from "../experiment";

const help = `Usage: benito link show  [LAN [NODE]] [--json]
       benito link set   LAN [NODE] [--latency MS] [--jitter MS] [--loss PERCENT] [--capacity KBPS] [--dry-run] [--lock-wait S]
       benito link reset [LAN [NODE]] [--dry-run] [--lock-wait S]
  (each also takes --config DIR, --run-dir DIR, --host NAME)

Live link shaping on a running experiment, on this pnode. A shaped LAN (a substrate with
capacity, latency or loss in topo.xml) has one wirefilter per member: the member's link to the
LAN. benito changes them through their management sockets: no process restarts, no frame of a
flow is lost, the change applies to the next frame. On the kernel datapath (site.conf
datapath = kernel) a member's link is its veth's tbf (and netem with site.conf netem = yes):
benito changes it with tc qdisc change; without netem only --capacity can change there.

show   every shaped LAN (or LAN, or one member) with, per member on this pnode, capacity,
       latency, jitter and loss as the topology gives them and as the wirefilter applies them
       now; --json prints [{"lan","node","iface","port","shaper","topology","now","override"}] ("now"
       is null, and the exit code 1, when a wirefilter does not answer).
       Loss is a percentage in both (topo.xml's loss is a fraction: 0.01 is shown as 1%).
set    changes ONLY the parameters named, for every member of LAN on this pnode or for member
       NODE; the others keep their values (unlike containerlab's netem set, which replaces all):
         --latency MS      one-way delay from the member into the LAN (a two-member LAN's RTT
                           is twice the latency)
         --jitter MS       ± MS around the latency (uniform)
         --loss PERCENT    0–100, frames from the member into the LAN dropped
         --capacity KBPS   kb/s both ways (0: unlimited)
reset  back to the topology's values: every LAN, LAN, or NODE's own overrides.

A LAN that spans pnodes is changed on this pnode's members only (benito says so): run the same
command on each pnode for the whole LAN. An unshaped LAN has no wirefilters to change: give it
shaping in topo.xml and boot again.

What set changes is recorded in DIR/link-overrides.json (DIR = --run-dir): a wirefilter that
boot restarts gets it back, status lists it (an override, not drift), down forgets it.

${experimentOptionsHelp}
  --dry-run      print the wirefilter (or tc) commands; change nothing
  --lock-wait S  set and reset take the run dir's lock, like every command that changes the
                 experiment: wait up to S seconds (default ${defaultLockWaitSeconds}) for another benito holding it

Exit codes: 0 done, 1 a wirefilter did not take the change (the override is still recorded;
boot restores it), 2 usage, 3 invalid input (topo.xml, no such LAN or member).`;

const options = {
  ...experimentOptions,
  json: { type: "boolean" },
  "dry-run": { type: "boolean" },
  "lock-wait": { type: "string" },
  latency: { type: "string" },
  jitter: { type: "string" },
  loss: { type: "string" },
  capacity: { type: "string" },
} as const;

const optionOf: Readonly<Record<ParamName, "latency" | "jitter" | "loss" | "capacity">> = { latencyMs: "latency", jitterMs: "jitter", lossPercent: "loss", capacityKbps: "capacity" };
const units: Readonly<Record<ParamName, string>> = { latencyMs: " ms", jitterMs: " ms", lossPercent: "%", capacityKbps: " kb/s" };

/** The `link` command. */
export const linkCommand: Command = {
  name: "link",
  help,
  async run(args, ctx) {
    const [action, ...rest] = args;
    const { values, positionals } = parseCommandArgs("link", rest, options, 2);
    const [lan, node] = positionals;
    const given = paramNames.filter((name) => values[optionOf[name]] !== undefined);
    if (action !== "set" && given.length > 0) throw new UsageError(`link ${action ?? ""}`.trim(), `--${optionOf[given[0] ?? "latencyMs"]} is for link set`);
    if (action === "show") {
      if (values["dry-run"] === true) throw new UsageError("link show", "--dry-run is for set and reset");
      return show(await loadExperiment(values), lan, node, values.json === true, ctx);
    }
    if (values.json === true) throw new UsageError(`link ${action ?? ""}`.trim(), "--json is for show");
    const lockWait = integerOption("link", "lock-wait", values["lock-wait"], defaultLockWaitSeconds);
    if (action === "set") {
      if (lan === undefined) throw new UsageError("link set", "missing LAN");
      if (given.length === 0) throw new UsageError("link set", "name at least one of --latency, --jitter, --loss, --capacity");
      const change: ParamOverride = Object.fromEntries(given.map((name) => [name, parameter(name, values[optionOf[name]] ?? "")]));
      const experiment = await loadExperiment(values);
      // A live change takes the run dir's lock (docs/ledger.md); a dry run never waits for it.
      if (values["dry-run"] === true) return set(experiment, lan, node, change, true, ctx);
      return withRunLock(experiment.runDir, lockWait, () => set(experiment, lan, node, change, false, ctx));
    }
    if (action === "reset") {
      const experiment = await loadExperiment(values);
      if (values["dry-run"] === true) return reset(experiment, lan, node, true, ctx);
      return withRunLock(experiment.runDir, lockWait, () => reset(experiment, lan, node, false, ctx));
    }
    throw new UsageError("link", 'expected "show", "set" or "reset"');
  },
};

/** A parameter value: a non-negative number (loss at most 100). */
function parameter(name: ParamName, text: string): number {
  const value = Number(text);
  const option = `--${optionOf[name]}`;
  if (text.trim() === "" || !Number.isFinite(value) || value < 0) throw new UsageError("link set", `${option} wants a number ≥ 0, got "${text}"`);
  if (name === "lossPercent" && value > 100) throw new UsageError("link set", `${option} is a percentage (0–100), got ${text}; topo.xml's loss 0.05 is --loss 5`);
  return value;
}

/**
 * The members a command acts on: every shaped member here, LAN's, or NODE's on LAN. A LAN that
 * is unknown, unshaped or has no member here, and a NODE not on it, are explained.
 */
async function select(experiment: Experiment, lan: string | undefined, node: string | undefined): Promise<LinkMember[]> {
  const { view, file } = experiment;
  // LANs on the kernel datapath are shaped by tc on their members' veths, the others by wirefilters (decided as switch up decides).
  const datapaths = lanDatapaths(await loadSiteConf(experiment.configDir), await readFileBytes(file, "reading the topology"), file, view, view.children, experiment.runDir);
  const kernel = new Map([...datapaths].flatMap(([name, datapath]): [string, KernelLan][] => (datapath.kind === "kernel" ? [[name, datapath]] : [])));
  const all = shapedMembers(view, switchLayout(view, experiment.runDir, new Set(kernel.keys())), kernel);
  if (lan === undefined) return all;
  const members = all.filter((member) => member.lan === lan);
  if (members.length === 0) {
    // This host's view holds only the LANs it uses: whether the document has the LAN at all is read from it.
    const known = lan !== controlSubstrate && (view.lans.has(lan) || (await otherMembers(experiment, lan)).substrateNames.includes(lan));
    if (!known) throw new InputError("choosing the LAN", lan, `${file} has no experiment LAN (substrate) of that name`);
    if (kernel.has(lan)) {
      throw new BenitoError("choosing the LAN", lan, `it is on the kernel datapath and not shaped in topo.xml, so its members' veths have no qdiscs to change live; give substrate ${lan} a capacity in ${file} and run benito boot`);
    }
    const plugged = [view.self, ...view.children].some((candidate) => candidate.interfaces.some((iface) => iface.substrate === lan && iface.vdeSwitch !== undefined));
    if (plugged) {
      throw new BenitoError("choosing the LAN", lan, `it is not shaped in topo.xml, so its switch runs without wirefilters and there is nothing to change live; give substrate ${lan} a capacity, latency or loss in ${file} (e.g. <capacity><rate>1000000</rate><kind>max</kind></capacity>, 1 Gb/s) and run benito boot: its members then get wirefilters that benito link set changes`);
    }
    throw new InputError("choosing the LAN", lan, `no member of it is plugged into a switch on ${view.self.name}; run benito link on the pnode that hosts its members`);
  }
  if (node === undefined) return members;
  const chosen = members.filter((member) => member.node === node);
  if (chosen.length === 0) throw new InputError("choosing the member", `${lan} ${node}`, `${node} is not a member of ${lan} on ${view.self.name} (its members here: ${[...new Set(members.map((member) => member.node))].join(", ")})`);
  return chosen;
}

/** The LAN's members on other pnodes (read from the document), and every substrate name it has. */
async function otherMembers(experiment: Experiment, lan: string): Promise<{ elsewhere: Node[]; substrateNames: readonly string[] }> {
  const { nodes, substrateNames } = lanNodesFromDocument(await readFileBytes(experiment.file, "reading the topology"), experiment.file, new Set([lan]));
  const here = new Set([experiment.view.self.name, ...experiment.view.children.map((child) => child.name)]);
  return { elsewhere: nodes.filter((node) => !here.has(node.name) && node.interfaces.some((iface) => iface.substrate === lan)), substrateNames };
}

/** Says so when the LAN has members on other pnodes: this command changed this pnode's only. */
async function spanNote(experiment: Experiment, lan: string, ctx: CommandContext): Promise<void> {
  const { elsewhere } = await otherMembers(experiment, lan);
  if (elsewhere.length === 0) return;
  const pnodes = [...new Set(elsewhere.map((node) => node.host ?? node.name))].sort();
  ctx.io.err(`benito link: ${lan} also has ${elsewhere.length} member${elsewhere.length === 1 ? "" : "s"} on ${pnodes.join(", ")}: only the members on ${experiment.view.self.name} were changed; run the same command there for the whole LAN`);
}

/** " (port 1)" on the VDE datapath, " (kernel)" on the kernel's. */
function where(member: LinkMember): string {
  return member.port === undefined ? " (kernel)" : ` (port ${member.port})`;
}

function memberName(member: LinkMember): string {
  return `${member.node}:${member.iface}`;
}

/** "LAN NODE:IFACE (port N): latency 20 → 40 ms"; a reset (onlyChanged) leaves out what did not change. */
function change(outcome: MemberOutcome, names: readonly ParamName[], onlyChanged: boolean): string {
  const before = outcome.before;
  const shown = onlyChanged && before !== undefined ? names.filter((name) => before[name] !== outcome.wanted[name]) : names;
  if (shown.length === 0) return `${outcome.member.lan} ${memberName(outcome.member)} (port ${outcome.member.port}): already ${describeParams(outcome.wanted)}`;
  const parts = shown.map((name) => `${paramWords[name]} ${before === undefined ? "?" : figure(before[name])} → ${figure(outcome.wanted[name])}${units[name]}`);
  return `${outcome.member.lan} ${memberName(outcome.member)}${where(outcome.member)}: ${parts.join(", ")}`;
}

function report(outcomes: readonly MemberOutcome[], names: readonly ParamName[], onlyChanged: boolean, ctx: CommandContext): ExitCode {
  for (const outcome of outcomes) {
    if (outcome.ok) ctx.io.out(change(outcome, names, onlyChanged));
    else ctx.io.err(`benito: while changing the link shaping on ${outcome.member.lan} ${memberName(outcome.member)}: ${outcome.error ?? "failed"} (recorded: boot restores it)`);
  }
  return outcomes.every((outcome) => outcome.ok) ? ExitCode.ok : ExitCode.failed;
}

/** What a dry run prints for a member: the wirefilter's management commands, or the tc commands (or why they cannot be run). */
function dryRunLine(member: LinkMember, overrides: LinkOverrides, names: readonly ParamName[]): string {
  const wanted = effectiveParams(member, overrides);
  if (member.shaper.kind === "wirefilter") return `${member.shaper.spec.mgmt}: ${wirefilterCommands(wanted, names).join("; ")}`;
  const commands = kernelCommands(member.shaper, wanted, names);
  return "refused" in commands ? `${member.node}:${member.iface}: refused: ${commands.refused}` : commands.map((argv) => argv.join(" ")).join("; ");
}

async function set(experiment: Experiment, lan: string, node: string | undefined, values: ParamOverride, dryRun: boolean, ctx: CommandContext): Promise<ExitCode> {
  const members = await select(experiment, lan, node);
  const names = paramNames.filter((name) => values[name] !== undefined);
  const overrides = withSet(readLinkOverrides(experiment.runDir), lan, node, values);
  // What a shaper cannot do (latency on a kernel LAN without netem) is refused before anything is recorded.
  for (const member of members) {
    const commands = member.shaper.kind === "kernel" ? kernelCommands(member.shaper, effectiveParams(member, overrides), names) : [];
    if ("refused" in commands) throw new BenitoError("changing the link shaping", `${lan} ${member.node}:${member.iface}`, commands.refused);
  }
  if (dryRun) {
    for (const member of members) ctx.io.out(dryRunLine(member, overrides, names));
    return ExitCode.ok;
  }
  // Recorded before it is applied: a wirefilter restarted meanwhile comes back with it.
  writeLinkOverrides(experiment.runDir, overrides);
  const code = report(await applyLinkParams(members, overrides, names), names, false, ctx);
  await spanNote(experiment, lan, ctx);
  return code;
}

async function reset(experiment: Experiment, lan: string | undefined, node: string | undefined, dryRun: boolean, ctx: CommandContext): Promise<ExitCode> {
  const before = readLinkOverrides(experiment.runDir);
  const members = (await select(experiment, lan, node)).filter((member) => overriddenNames(member, before).length > 0);
  const overrides = withReset(before, lan, node);
  if (dryRun) {
    for (const member of members) ctx.io.out(dryRunLine(member, overrides, overriddenNames(member, before)));
    if (members.length === 0) ctx.io.out("nothing to reset: no override in force there");
    return ExitCode.ok;
  }
  writeLinkOverrides(experiment.runDir, overrides);
  if (members.length === 0) ctx.io.out("nothing to reset: no override in force there");
  // Only what was overridden goes back: a kernel LAN without netem has nothing but its capacity to reset.
  const code = report(await applyLinkParams(members, overrides, (member) => overriddenNames(member, before)), paramNames, true, ctx);
  if (lan !== undefined) await spanNote(experiment, lan, ctx);
  return code;
}

/** ShowEntry interface: one member as `link show --json` prints it. */
interface ShowEntry {
  readonly lan: string;
  readonly node: string;
  readonly iface: string;
  readonly port?: number;
  /** "wirefilter" (VDE datapath) or "kernel" (tc on the member's veth and IFB). */
  readonly shaper: "wirefilter" | "kernel";
  readonly topology: LinkParams;
  readonly now: LinkParams | null;
  readonly error?: string;
  /** The parameters `link set` overrode (empty: the topology's values). */
  readonly override: readonly string[];
}

async function show(experiment: Experiment, lan: string | undefined, node: string | undefined, json: boolean, ctx: CommandContext): Promise<ExitCode> {
  const members = await select(experiment, lan, node);
  const overrides = readLinkOverrides(experiment.runDir);
  const entries: ShowEntry[] = [];
  for (const member of members) {
    const base = { lan: member.lan, node: member.node, iface: member.iface, ...(member.port === undefined ? {} : { port: member.port }), shaper: member.shaper.kind, topology: member.topology, override: overriddenNames(member, overrides).map((name) => paramWords[name]) };
    try {
      entries.push({ ...base, now: await memberParams(member) });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      entries.push({ ...base, now: null, error: member.shaper.kind === "wirefilter" ? `its wirefilter does not answer (${why}); benito boot restarts it` : `its qdiscs cannot be read (${why}); benito boot relaunches a vnode whose veth is gone` });
    }
  }
  const code = entries.every((entry) => entry.now !== null) ? ExitCode.ok : ExitCode.failed;
  if (json) {
    ctx.io.out(JSON.stringify(entries));
    return code;
  }
  if (entries.length === 0) ctx.io.out(`no shaped LAN on ${experiment.view.self.name}`);
  let current = "";
  for (const entry of entries) {
    if (entry.lan !== current) {
      current = entry.lan;
      ctx.io.out(`${entry.lan}:`);
    }
    const place = entry.port === undefined ? "kernel   " : `port ${String(entry.port).padEnd(4)}`;
    ctx.io.out(`  ${`${entry.node}:${entry.iface}`.padEnd(20)} ${place} topology ${describeParams(entry.topology)}`);
    const now = entry.now === null ? `unknown: ${entry.error ?? ""}` : describeParams(entry.now);
    const override = entry.override.length > 0 ? `  (override: ${entry.override.join(", ")})` : "";
    ctx.io.out(`  ${"".padEnd(20)} ${"".padEnd(9)} now      ${now}${override}`);
  }
  return code;
}
