// `benito switch up|down|status`: the VDE switches (and wirefilter shaping) this pnode runs, by pidfile.
import { resolve } from "node:path";
import { applySwitchActions, observe, readRecords, switchDown, switchStatus, type ActionOutcome } from "../../apply/switch-apply";
import { resolveConfigDir, resolveHostName, topologyPath } from "../../config/config-dir";
import { ExitCode, UsageError } from "../../errors";
import { resolveHostView } from "../../model/resolve";
import { planSwitchUp, renderSwitchPlan, switchLayout } from "../../plan/switch-plan";
import { readFileBytes } from "../../system/files";
import { parseTopology } from "../../topdl/parse";
import { parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";

/** Where run state (pidfiles, management sockets, records) lives unless --run-dir says otherwise. */
export const defaultRunDir = "/run/benito";

const help = `Usage: benito switch up [--dry-run] [--json] [--run-dir DIR] [CONFIG_DIR [HOSTNAME]]
       benito switch down [--json] [--run-dir DIR] [CONFIG_DIR [HOSTNAME]]
       benito switch status [--json] [--run-dir DIR] [CONFIG_DIR [HOSTNAME]]

up    starts the vde_switch daemons this pnode must run: one per benito:vde_switch path used by
      the interfaces of this node and the nodes it hosts (topo.xml in CONFIG_DIR). A substrate
      with latency, capacity or loss gets wirefilter shaping: each member port sits in its own
      VLAN with an uplink port, and a wirefilter joins that uplink to a hidden core switch,
      delaying and dropping the member's frames into the LAN (capacity limits both ways).
      Idempotent: daemons running with the wanted configuration are kept, dead or changed ones
      are (re)started, ones benito started that are no longer wanted are stopped; each is reported.
down  stops every daemon benito started (recorded in the run dir), by pidfile, never by name,
      and removes their sockets, pidfiles and records.
status lists each recorded daemon: pid, alive or not, and for switches the ports in use.
      down and status act on what the run dir records; CONFIG_DIR and HOSTNAME are accepted
      for symmetry with up and not read.

Options:
  --run-dir DIR  where pidfiles, management sockets and records live (default ${defaultRunDir})
  --dry-run      (up) print what would be done; change nothing
  --json         machine-readable output

CONFIG_DIR defaults to /var/benito/config (then /var/containers/config); HOSTNAME to the
kernel hostname cut at the first dot. Exit: 0 done, 1 a daemon failed, 2 usage, 3 bad input.`;

const options = {
  "run-dir": { type: "string" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
} as const;

function verb(outcome: ActionOutcome): string {
  if (!outcome.ok) return "FAILED";
  return { keep: "kept", start: "started", restart: "restarted", stop: "stopped" }[outcome.action];
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
  return outcomes.every((outcome) => outcome.ok) ? ExitCode.ok : ExitCode.failed;
}

async function up(positionals: readonly string[], runDir: string, dryRun: boolean, json: boolean, ctx: CommandContext): Promise<ExitCode> {
  const configDir = await resolveConfigDir(positionals[0]);
  const host = resolveHostName(positionals[1]);
  const file = topologyPath(configDir);
  const view = resolveHostView(parseTopology(await readFileBytes(file, "reading the topology"), file), host);
  const layout = switchLayout(view, runDir);
  const actions = planSwitchUp(layout, observe(readRecords(runDir)));
  if (dryRun) {
    if (json) ctx.io.out(JSON.stringify(actions.map(({ spec, ...rest }) => ({ ...rest, argv: spec?.argv })), null, 2));
    else for (const line of renderSwitchPlan(actions)) ctx.io.out(line);
    return ExitCode.ok;
  }
  return report(await applySwitchActions(actions, runDir), json, ctx);
}

async function status(runDir: string, json: boolean, ctx: CommandContext): Promise<ExitCode> {
  const entries = await switchStatus(runDir);
  if (json) {
    ctx.io.out(JSON.stringify(entries, null, 2));
    return ExitCode.ok;
  }
  if (entries.length === 0) ctx.io.out(`no VDE daemons recorded in ${runDir}`);
  for (const entry of entries) {
    const state = entry.alive ? `alive, pid ${entry.pid}` : entry.pid === undefined ? "not running" : `dead (pid ${entry.pid})`;
    ctx.io.out(`${entry.summary}: ${state}`);
    for (const port of entry.ports ?? []) ctx.io.out(`  port ${port.port} vlan ${port.vlan}: ${port.endpoints.join("; ") || "(no endpoint)"}`);
    if (entry.portsError !== undefined) ctx.io.out(`  ports unknown: ${entry.portsError}`);
  }
  return ExitCode.ok;
}

/** The `switch` command. */
export const switchCommand: Command = {
  name: "switch",
  summary: "start, stop or list this pnode's VDE switches and wirefilter shaping",
  help,
  async run(args, ctx) {
    const [action, ...rest] = args;
    const { values, positionals } = parseCommandArgs("switch", rest, options, 2);
    const runDir = resolve(values["run-dir"] ?? defaultRunDir);
    const json = values.json === true;
    if (action === "up") return up(positionals, runDir, values["dry-run"] === true, json, ctx);
    if (values["dry-run"] === true) throw new UsageError("switch", "--dry-run applies to up only");
    if (action === "down") return report(await switchDown(runDir), json, ctx);
    if (action === "status") return status(runDir, json, ctx);
    throw new UsageError("switch", 'expected "up", "down" or "status"');
  },
};
