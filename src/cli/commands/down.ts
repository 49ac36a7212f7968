// `benito down [CONFIG_DIR [HOSTNAME]]`: the reverse of boot, stopping only what benito started, children first.
import { ExitCode } from "../../errors";
import { planDown, stageCommandLine } from "../../plan/boot-plan";
import { appendLogLine } from "../os";
import { integerOption, parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";
import { defaultLogFile, defaultRunDir, loadHostPlanInput } from "../host-plan";
import { overallExit, runStages } from "../stages";

const options = {
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  "run-dir": { type: "string" },
  "log-file": { type: "string" },
  parallel: { type: "string" },
} as const;

const help = `Usage: benito down [--dry-run] [--json] [--run-dir DIR] [--log-file FILE] [--parallel N] [CONFIG_DIR [HOSTNAME]]

The reverse of boot: every child stopped through its platform (in parallel, up to N, default 4),
then the control bridge restored (control-bridge down), then the switches and wirefilters
stopped (switch down), then this host's own routes and addresses removed (routes --remove-all,
ifaces --remove-all). Only what benito started or marked is touched: processes by their
pidfiles, the bridge by the record control-bridge up left, routes by benito's protocol number,
addresses by benito's own record.

Exit codes: 0 done, 1 something could not be stopped (listed), 3 invalid input.`;

/** The down command. */
export const downCommand: Command = {
  name: "down",
  summary: "undo boot: children, control bridge, switches, then own routes and addresses",
  help,
  run,
};

async function run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs("down", args, options, 2);
  const runDir = values["run-dir"] ?? defaultRunDir;
  const logFile = values["log-file"] ?? defaultLogFile;
  const { view, ctx: planCtx } = await loadHostPlanInput(positionals[0], positionals[1], runDir);
  const plan = planDown(view, planCtx);
  if (values["dry-run"] === true) {
    ctx.io.out(plan.stages.map(stageCommandLine).join("\n"));
    return ExitCode.ok;
  }
  const log = (line: string) => {
    ctx.io.err(line);
    appendLogLine(logFile, `${new Date().toISOString()} ${line}`);
  };
  const results = await runStages(plan.stages, ctx, {
    parallel: integerOption("down", "parallel", values.parallel, 4),
    onEnd: (result, index, total) => {
      log(`down: [${index + 1}/${total}] ${result.id}: ${result.outcome} (${result.ms} ms)`);
      for (const line of result.errors) log(`down:   ${line}`);
    },
  });
  if (values.json === true) ctx.io.out(JSON.stringify({ host: plan.host, stages: results }));
  else ctx.io.out(`down ${plan.host}: ${results.filter((r) => r.outcome === "ok").length}/${results.length} stage(s) ok`);
  return overallExit(results);
}
