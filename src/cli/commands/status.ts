// `benito status [CONFIG_DIR [HOSTNAME]]`: desired vs actual for this host (interfaces, routes, switches, children, control bridge).
import { join } from "node:path";
import { ExitCode } from "../../errors";
import { planStatus, type Stage } from "../../plan/boot-plan";
import { readOptionalJson } from "../os";
import { linkOverrideChecks } from "../link-status";
import { parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";
import { defaultRunDir, loadHostPlanInput } from "../host-plan";
import { runStage, runStages, type StageResult } from "../stages";
import type { StatusRecord } from "./boot";

const options = {
  json: { type: "boolean" },
  "run-dir": { type: "string" },
} as const;

const help = `Usage: benito status [--json] [--run-dir DIR] [CONFIG_DIR [HOSTNAME]]

Compares what topo.xml wants with what runs, without changing anything:
  interfaces  benito ifaces --dry-run: an address to add or change, or a NIC not found, is drift
  routes      benito routes --dry-run: a route to add, change or remove is drift
  switches    benito switch status: a switch or wirefilter benito started that is dead is drift
  control     benito control-bridge status (pnodes whose VMs have control NICs)
  children    benito vm status per child: a child that does not run is drift
  links       live shaping changed with benito link set: listed as an override, never drift
and shows the last boot's record (DIR/status.json, DIR = --run-dir, default ${defaultRunDir}).

--json prints {"host","role","drift":bool,"checks":[{"id","ok","detail"}],"lastBoot":{…}|null}.
Exit codes: 0 no drift, 1 drift (boot again to repair), 3 invalid input.`;

/** The status command. */
export const statusCommand: Command = {
  name: "status",
  summary: "show desired vs actual state for this host; exit 1 on drift",
  help,
  run,
};

/** Check interface: one compared item. */
interface Check {
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Drift in an ifaces/routes dry run, from its JSON summary. */
function dryRunCheck(id: string, result: StageResult, changeKeys: readonly string[]): Check {
  const text = result.output.find((line) => line.startsWith("{"));
  if (result.exitCode !== ExitCode.ok || text === undefined) return { id, ok: false, detail: result.errors[0] ?? `exit ${result.exitCode}` };
  const summary = (JSON.parse(text) as { summary: Record<string, number> }).summary;
  const pending = changeKeys.filter((key) => (summary[key] ?? 0) > 0).map((key) => `${summary[key]} ${key}`);
  return { id, ok: pending.length === 0, detail: pending.length === 0 ? "as wanted" : `would change: ${pending.join(", ")}` };
}

async function run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs("status", args, options, 2);
  const runDir = values["run-dir"] ?? defaultRunDir;
  const { view, ctx: planCtx, warnings } = await loadHostPlanInput(positionals[0], positionals[1], runDir, { validate: true });
  for (const warning of warnings) ctx.io.err(`benito: ${warning}`);
  const host = view.self.name;
  const checks: Check[] = [];

  const ifaces: Stage = { id: "interfaces", command: "ifaces", args: ["--dry-run", "--json", "--state-dir", runDir, planCtx.configDir, host], after: [] };
  checks.push(dryRunCheck("interfaces", await runStage(ifaces, ctx), ["configured", "changed", "missing", "failed", "forwarding"]));
  if (planCtx.hasRouteFile) {
    const routes: Stage = { id: "routes", command: "routes", args: ["--dry-run", "--json", "--wait", "0", planCtx.configDir, host], after: [] };
    checks.push(dryRunCheck("routes", await runStage(routes, ctx), ["added", "changed", "removed", "failed"]));
  }
  const plan = planStatus(view, planCtx);
  const results = await runStages(plan.stages, ctx, { parallel: 8 });
  for (const result of results) {
    // A drifting child prints several lines (one per process it checks): show them all.
    const lines = [...result.errors, ...result.output].map((line) => line.trim()).filter((line) => line !== "");
    const detail = result.exitCode === ExitCode.ok ? (lines[0] ?? "") : lines.join("; ");
    checks.push({ id: result.id, ok: result.exitCode === ExitCode.ok, detail });
  }
  // Live shaping changed with benito link set is what the experimenter asked for: shown, never drift.
  checks.push(...linkOverrideChecks(runDir));
  const drift = checks.some((check) => !check.ok);
  const lastBoot = readOptionalJson<StatusRecord>(join(runDir, "status.json")) ?? null;
  if (values.json === true) {
    ctx.io.out(JSON.stringify({ host, role: plan.role, drift, checks, lastBoot }));
  } else {
    for (const check of checks) ctx.io.out(`${check.ok ? "ok   " : "DRIFT"}  ${check.id.padEnd(20)} ${check.detail}`);
    const boot = lastBoot === null ? "no boot recorded" : `last boot ${lastBoot.finishedAt}: ${lastBoot.ok ? "ok" : `exit ${lastBoot.exitCode}`}`;
    ctx.io.out(`status ${host}: ${drift ? "drift" : "as wanted"}; ${boot}`);
  }
  return drift ? ExitCode.failed : ExitCode.ok;
}
