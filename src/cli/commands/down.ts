// `benito down [CONFIG_DIR [HOSTNAME]]`: the reverse of boot, stopping only what benito started, children first.
import { ExitCode } from "../../errors";
import { planDown, stageCommandLine } from "../../plan/boot-plan";
import { join, resolve } from "node:path";
import { appendLogLine, defaultLockWaitSeconds, tidyRunDir, watchInterrupts, withRunLock, writeFileAtomic } from "../os";
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
  "lock-wait": { type: "string" },
} as const;

const help = `Usage: benito down [--dry-run] [--json] [--run-dir DIR] [--log-file FILE] [--parallel N] [CONFIG_DIR [HOSTNAME]]

The reverse of boot, from what the run dir's ledger holds (whatever topo.xml says now): every
child the ledger records stopped with the teardown recorded when it was launched (in parallel,
up to N, default 4), then the control bridge restored (control-bridge down), then the switches,
wirefilters and tunnels stopped (switch down), then this host's own routes and addresses removed
(routes --remove-all, ifaces --remove-all). Only what benito made or marked is touched. The run
dir is left empty apart from status.json; anything else left is listed.

Takes the run dir's lock (--lock-wait SECONDS, default 120; a dry run does not). SIGTERM or
SIGINT: the stage under way is finished, status.json says "interrupted", exit 143 or 130.

Exit codes: 0 done, 1 something could not be stopped (listed), 3 invalid input.`;

/** The down command. */
export const downCommand: Command = {
  name: "down",
  help,
  run,
};

async function run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs("down", args, options, 2);
  // Absolute: every stage (`vm stop` refuses a relative one) names the same folder.
  const runDir = resolve(values["run-dir"] ?? defaultRunDir);
  const lockWait = integerOption("down", "lock-wait", values["lock-wait"], defaultLockWaitSeconds);
  if (values["dry-run"] === true) {
    const { view, ctx: planCtx } = await loadHostPlanInput(positionals[0], positionals[1], runDir);
    ctx.io.out(planDown(view, planCtx).stages.map(stageCommandLine).join("\n"));
    return ExitCode.ok;
  }
  return withRunLock(runDir, lockWait, () => down(values, positionals, runDir, ctx));
}

type DownValues = ReturnType<typeof parseCommandArgs<typeof options>>["values"];

async function down(values: DownValues, positionals: readonly string[], runDir: string, ctx: CommandContext): Promise<ExitCode> {
  const logFile = values["log-file"] ?? defaultLogFile;
  const startedAt = new Date();
  const { view, ctx: planCtx } = await loadHostPlanInput(positionals[0], positionals[1], runDir);
  const plan = planDown(view, planCtx);
  const log = (line: string) => {
    ctx.io.err(line);
    appendLogLine(logFile, `${new Date().toISOString()} ${line}`);
  };
  const interrupts = watchInterrupts();
  const underWay = new Set<string>();
  let during: string[] | undefined;
  let results;
  try {
    results = await runStages(plan.stages, ctx, {
      parallel: integerOption("down", "parallel", values.parallel, 4),
      shouldStop: () => {
        if (interrupts.received() === undefined) return false;
        during ??= [...underWay];
        return true;
      },
      onStart: (stage) => underWay.add(stage.id),
      onEnd: (result, index, total) => {
        underWay.delete(result.id);
        log(`down: [${index + 1}/${total}] ${result.id}: ${result.outcome} (${result.ms} ms)`);
        for (const line of result.errors) log(`down:   ${line}`);
      },
    });
  } finally {
    interrupts.dispose();
  }
  const signal = interrupts.received();
  if (signal !== undefined) {
    const stages = during !== undefined && during.length > 0 ? during : [results.filter((result) => result.outcome !== "interrupted").at(-1)?.id ?? "(none)"];
    log(`down: interrupted by ${signal} during ${stages.join(", ")}: finished it, started nothing more; run down again to finish`);
    const record = { version: 1, command: "down", host: plan.host, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), exitCode: interrupts.exitCode(), ok: false, stages: results, interrupted: { signal, stages } };
    try {
      writeFileAtomic(join(runDir, "status.json"), `${JSON.stringify(record, null, 2)}\n`);
    } catch {
      // A read-only run dir must not hide the interruption: it is logged.
    }
    return interrupts.exitCode();
  }
  const left = tidyRunDir(runDir);
  for (const name of left) log(`down: left in ${runDir}: ${name} (not benito's, or not stopped: see above)`);
  if (values.json === true) ctx.io.out(JSON.stringify({ host: plan.host, stages: results, left }));
  else ctx.io.out(`down ${plan.host}: ${results.filter((r) => r.outcome === "ok").length}/${results.length} stage(s) ok${left.length === 0 ? "; run dir empty apart from status.json" : `; ${left.length} file(s) left in ${runDir}`}`);
  return overallExit(results);
}
