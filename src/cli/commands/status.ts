// `benito status [CONFIG_DIR [HOSTNAME]]`: desired vs actual for this host (interfaces, routes, switches, children, control bridge).
import { join, resolve } from "node:path";
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

Compares what topo.xml wants and what the run dir's ledger says benito made with what runs,
without changing anything (and without waiting for the run dir's lock):
  interfaces  benito ifaces --dry-run: an address to add or change, a NIC down or not found
  routes      benito routes --dry-run: a route to add, change or remove
  switches    benito switch status: a switch or wirefilter that is dead or not the process
              recorded (pid and start time); a tunnel whose links or plug are gone, or
              whose VXLAN flood entries differ from the remotes recorded (one line each)
  control     benito control-bridge status (pnodes whose VMs have control NICs)
  children    benito vm status per child: its namespace, plugs and startup process; inside a
              process vnode its addresses, routes and NIC states (ifaces/routes dry runs in its
              namespace); its last launch confirmed in the ledger and each helper's result
              (a child whose ifaces or routes failed stays drift until a boot succeeds);
              a QEMU guest: the process and its monitor (inside the guest is not checked)
  links       live shaping changed with benito link set: listed as an override, never drift
Each drift is one line, "DRIFT  <check>  <object>: <what differs>"; see docs/ledger.md.
and shows the last boot's record (DIR/status.json, DIR = --run-dir, default ${defaultRunDir}).

--json prints {"host","role","drift":bool,"checks":[{"id","ok","detail"}],"lastBoot":{…}|null}.
Exit codes: 0 no drift, 1 drift (boot again to repair), 3 invalid input.`;

/** The status command. */
export const statusCommand: Command = {
  name: "status",
  help,
  run,
};

/** Check interface: one compared item. */
interface Check {
  readonly id: string;
  readonly ok: boolean;
  readonly detail: string;
  /** Each drift found, one line each (naming the object and what differs). */
  readonly drift?: readonly string[];
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
  // Absolute: every stage it runs (`vm` refuses a relative one) names the same folder.
  const runDir = resolve(values["run-dir"] ?? defaultRunDir);
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
    // Lines the check marked DRIFT are the drifts (one each); a check that failed without marks drifts as a whole.
    // (A "benito: … failed" summary line quoting the first drift is not one more drift.)
    const marked = lines.filter((line) => line.includes("DRIFT ") && !line.startsWith("benito:")).map((line) => line.replace("DRIFT ", ""));
    const drift = result.exitCode === ExitCode.ok ? [] : marked.length > 0 ? marked : [detail];
    checks.push({ id: result.id, ok: result.exitCode === ExitCode.ok, detail, drift });
  }
  // Live shaping changed with benito link set is what the experimenter asked for: shown, never drift.
  checks.push(...linkOverrideChecks(runDir));
  const drift = checks.some((check) => !check.ok);
  const lastBoot = readOptionalJson<StatusRecord>(join(runDir, "status.json")) ?? null;
  if (values.json === true) {
    ctx.io.out(JSON.stringify({ host, role: plan.role, drift, checks, lastBoot }));
  } else {
    for (const check of checks) {
      if (check.ok) ctx.io.out(`ok     ${check.id.padEnd(20)} ${check.detail}`);
      else for (const line of check.drift ?? [check.detail]) ctx.io.out(`DRIFT  ${check.id.padEnd(20)} ${line}`);
    }
    const boot = lastBoot === null ? "no boot recorded" : `last boot ${lastBoot.finishedAt}: ${lastBoot.ok ? "ok" : `exit ${lastBoot.exitCode}`}`;
    ctx.io.out(`status ${host}: ${drift ? "drift" : "as wanted"}; ${boot}`);
  }
  return drift ? ExitCode.failed : ExitCode.ok;
}
