// `benito boot [CONFIG_DIR [HOSTNAME]]`: everything this host's role needs at boot, from one plan, with a status record.
import { join, resolve } from "node:path";
import { BenitoError, ExitCode, messageOf } from "../../errors";
import { planBoot, stageCommandLine, type BootPlan } from "../../plan/boot-plan";
import { waitForNics } from "../../apply/wait-nics";
import { appendLogLine, checkWritableFolder, defaultLockWaitSeconds, logLineFailure, watchInterrupts, withRunLock, writeFileAtomic } from "../os";
import { integerOption, parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";
import { defaultLogFile, defaultRunDir, loadHostPlanInput } from "../host-plan";
import { overallExit, runStage, runStages, type StageResult } from "../stages";

const options = {
  "dry-run": { type: "boolean" },
  strict: { type: "boolean" },
  json: { type: "boolean" },
  timings: { type: "boolean" },
  "run-dir": { type: "string" },
  "log-file": { type: "string" },
  parallel: { type: "string" },
  "hosts-file": { type: "string" },
  "wait-nics": { type: "string" },
  "lock-wait": { type: "string" },
} as const;

const help = `Usage: benito boot [--dry-run] [--strict] [--timings] [--json] [--run-dir DIR] [--log-file FILE]
                   [--parallel N] [--hosts-file PATH] [--wait-nics SECONDS] [CONFIG_DIR [HOSTNAME]]

The one entry point for init scripts: finds this host in CONFIG_DIR/topo.xml and runs its role's
plan, each stage a benito command:

  every host    wait (bounded, --wait-nics) for the NICs the topology names for this host, then
                ifaces (+ /etc/hosts when CONFIG_DIR/hosts exists), routes (when route/HOST exists)
  a pnode       then switch up (switches and shaping); control-net allocate and control-bridge up
                (when a child VM has a control NIC); then every child with vm launch, up to
                --parallel N at once (default 4), each with its platform's bounded waits

Every problem the config folder shows (topo.xml, site.conf: names, placement, switch ports,
MACs and addresses used twice, …) stops boot before any change, each listed with file:line. Otherwise every stage
runs (a stage is skipped only when one it needs failed, e.g. children when the switches did not
come up) and the exit code is the worst: 3 invalid input, 1 failed, 0 done.
Re-running converges: each command is idempotent, and a child that is running and healthy is
left alone (a dead one is cleaned up and launched again).

Record: DIR/status.json (DIR = --run-dir, default ${defaultRunDir}), written atomically, with
each stage's outcome, time and errors (see docs/boot.md). One line per stage is
appended to the log (--log-file, default ${defaultLogFile}; rotated at 1 MiB). A failed
stage's first reason is on its summary line, in the log and in the status file's errors.
A status file or log that cannot be written is a warning and makes the exit code 1; a run
folder that is read-only or full stops boot before any change (exit 1).

Options:
  --dry-run       print the plan (each stage's command and its own dry run, e.g. a forwarder
                  port a child's launch would move between forwarders); change nothing
  --strict        warnings (e.g. an unknown site.conf key) are errors too
  --timings       print each stage's wall time
  --json          print the status record instead of the summary
  --run-dir DIR   where the status file and run state go (default ${defaultRunDir})
  --log-file F    the log file (default ${defaultLogFile})
  --parallel N    children launched at once (default 4)
  --hosts-file P  write host entries to P instead of /etc/hosts
  --wait-nics S   wait up to S seconds for late NICs (by MAC) before ifaces, then name the missing
                  ones (default 30; 0 does not wait)
  --lock-wait S   wait up to S seconds (default ${defaultLockWaitSeconds}) for another benito holding the
                  run dir's lock, then exit 1 naming it (a dry run never waits)

What benito makes is written to the run dir's ledger before it is made (DIR/ledger, see
docs/ledger.md); a vnode the ledger holds that topo.xml no longer has is stopped. SIGTERM or
SIGINT: the stage under way is finished, the rest is not started, status.json says
"interrupted" with the stage, and boot exits 143 (SIGTERM) or 130 (SIGINT).`;

/** The boot command. */
export const bootCommand: Command = {
  name: "boot",
  help,
  run,
};

/** StatusRecord interface: the status file's content (documented in docs/boot.md). */
export interface StatusRecord {
  readonly version: 1;
  readonly host: string;
  readonly role: BootPlan["role"];
  readonly configDir: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The overall exit code. */
  readonly exitCode: number;
  readonly ok: boolean;
  readonly totalMs: number;
  readonly stages: readonly StageResult[];
  /** Set when a signal stopped the run: which one, and the stages under way when it came (they were finished). */
  readonly interrupted?: { readonly signal: string; readonly stages: readonly string[] };
}

async function run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs("boot", args, options, 2);
  // Absolute: every stage it runs (`vm` refuses a relative one) names the same folder.
  const runDir = resolve(values["run-dir"] ?? defaultRunDir);
  const lockWait = integerOption("boot", "lock-wait", values["lock-wait"], defaultLockWaitSeconds);
  // Every option is checked before the lock: a typo is a usage error at once, not after a wait.
  const counts: BootCounts = { parallel: integerOption("boot", "parallel", values.parallel, 4), waitNics: integerOption("boot", "wait-nics", values["wait-nics"], 30) };
  // A dry run changes nothing and never waits for the lock; a boot holds it throughout (its stages reuse it).
  if (values["dry-run"] === true) return boot(values, counts, positionals, runDir, ctx);
  return withRunLock(runDir, lockWait, () => boot(values, counts, positionals, runDir, ctx));
}

type BootValues = ReturnType<typeof parseCommandArgs<typeof options>>["values"];

/** The numeric options, parsed once before the lock. */
interface BootCounts {
  readonly parallel: number;
  readonly waitNics: number;
}

async function boot(values: BootValues, { parallel, waitNics }: BootCounts, positionals: readonly string[], runDir: string, ctx: CommandContext): Promise<ExitCode> {
  const logFile = values["log-file"] ?? defaultLogFile;
  const statusPath = join(runDir, "status.json");
  const startedAt = new Date();
  const ifacesArgs = values["hosts-file"] !== undefined ? ["--hosts-file", values["hosts-file"]] : [];

  let input;
  try {
    input = await loadHostPlanInput(positionals[0], positionals[1], runDir, { ifacesArgs, validate: true, strict: values.strict === true });
    // A read-only or full run folder is found now, before any change, not by a daemon's socket timeout.
    if (values["dry-run"] !== true) checkWritableFolder(runDir, "checking the run folder");
  } catch (error) {
    // Nothing was changed; still leave a record of why boot stopped.
    if (values["dry-run"] !== true && error instanceof BenitoError) {
      recordFailure(statusPath, logFile, startedAt, error);
    }
    throw error;
  }
  const plan = planBoot(input.view, input.ctx);

  if (values["dry-run"] === true) {
    for (const warning of input.warnings) ctx.io.err(`benito: ${warning}`);
    ctx.io.out(`# benito boot plan for ${plan.host} (${plan.role}), ${plan.stages.length} stage(s)`);
    for (const [index, stage] of plan.stages.entries()) {
      ctx.io.out(`\n# [${index + 1}/${plan.stages.length}] ${stageCommandLine(stage)}${stage.after.length ? `   (after ${stage.after.join(", ")})` : ""}`);
      const preview = await runStage({ ...stage, args: withDryRun(stage.command, stage.args), converge: undefined }, ctx);
      for (const line of [...preview.output, ...preview.errors]) ctx.io.out(`  ${line}`);
    }
    return ExitCode.ok;
  }

  // A log or status file that cannot be written does not stop boot, but it is said once on
  // stderr and makes the exit code 1: an init system must not believe a record exists.
  let recordFailed = false;
  const log = (line: string) => {
    ctx.io.err(line);
    const failure = logLineFailure(logFile, `${new Date().toISOString()} ${line}`);
    if (failure !== undefined && !recordFailed) ctx.io.err(`benito: warning: while writing the log on ${logFile}: ${failure}`);
    if (failure !== undefined) recordFailed = true;
  };
  log(`boot: ${plan.host} (${plan.role}): ${plan.stages.length} stage(s) from ${input.ctx.configDir}`);
  for (const warning of input.warnings) log(`benito: ${warning}`);
  const interrupts = watchInterrupts();
  const underWay = new Set<string>();
  let interruptedDuring: string[] | undefined;
  let results: StageResult[];
  try {
    const missingNics = await waitForNics(input.view.self.interfaces, waitNics * 1000);
    if (missingNics.length > 0) log(`boot: after waiting ${waitNics} s, no NIC for ${missingNics.join(", ")}`);
    results = await runStages(plan.stages, ctx, {
      parallel,
      shouldStop: () => {
        if (interrupts.received() === undefined) return false;
        interruptedDuring ??= [...underWay];
        return true;
      },
      onStart: (stage, index, total) => {
        underWay.add(stage.id);
        log(`boot: [${index + 1}/${total}] ${stageCommandLine(stage)}`);
      },
      onEnd: (result, index, total) => {
        underWay.delete(result.id);
        log(`boot: [${index + 1}/${total}] ${result.id}: ${result.outcome} (${result.ms} ms)`);
        for (const line of result.errors) log(`boot:   ${line}`);
      },
    });
  } finally {
    interrupts.dispose();
  }
  const signal = interrupts.received();
  let exitCode = signal === undefined ? overallExit(results) : interrupts.exitCode();
  if (signal !== undefined) {
    // Noticed between stages (or after the last): the stage just finished is the one it came during.
    if (interruptedDuring === undefined || interruptedDuring.length === 0) interruptedDuring = [results.filter((result) => result.outcome !== "interrupted").at(-1)?.id ?? "(none)"];
    log(`boot: interrupted by ${signal} during ${interruptedDuring.join(", ")}: finished it, started nothing more; boot again to converge`);
  }
  // An unwritable log already made this run a failure: the status file says so too.
  if (recordFailed && exitCode === ExitCode.ok) exitCode = ExitCode.failed;
  const record: StatusRecord = {
    version: 1,
    host: plan.host,
    role: plan.role,
    configDir: input.ctx.configDir,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    exitCode,
    ok: exitCode === ExitCode.ok,
    totalMs: Math.round(Date.now() - startedAt.getTime()),
    stages: results,
    ...(signal !== undefined && { interrupted: { signal, stages: interruptedDuring ?? [] } }),
  };
  try {
    writeFileAtomic(statusPath, `${JSON.stringify(record, null, 2)}\n`);
  } catch (error) {
    log(`benito: warning: while writing the status file on ${statusPath}: ${messageOf(error)}`);
    if (exitCode === ExitCode.ok) exitCode = ExitCode.failed;
  }
  if (values.json === true) ctx.io.out(JSON.stringify(record));
  else {
    for (const result of results) {
      const why = result.outcome === "ok" ? "" : firstReason(result);
      ctx.io.out(`${result.outcome === "ok" ? "ok     " : result.outcome.padEnd(7)} ${result.id}${values.timings === true ? `  ${result.ms} ms` : ""}${why === "" ? "" : `: ${why}`}`);
    }
    ctx.io.out(`boot ${plan.host}: ${results.filter((r) => r.outcome === "ok").length}/${results.length} stage(s) ok in ${record.totalMs} ms${signal === undefined ? "" : `, interrupted by ${signal}`}; status in ${statusPath}`);
  }
  return exitCode;
}

/** A failed stage's first reason, without the "benito: " every error line starts with. */
function firstReason(result: StageResult): string {
  const line = result.errors.find((text) => text.startsWith("benito")) ?? result.errors[0] ?? "";
  return line.replace(/^benito: /, "");
}

/** The same stage, asked for its dry run (commands that have one). */
function withDryRun(command: string, args: readonly string[]): string[] {
  if (command === "switch" || command === "control-bridge" || command === "vm" || command === "control-net") return [args[0] ?? "", "--dry-run", ...args.slice(1)];
  return ["--dry-run", ...args];
}

function recordFailure(statusPath: string, logFile: string, startedAt: Date, error: BenitoError): void {
  const lines = [error.message, ...error.details.map((line) => `  ${line}`)];
  try {
    writeFileAtomic(statusPath, `${JSON.stringify({ version: 1, startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), exitCode: error.exitCode, ok: false, stages: [], errors: lines }, null, 2)}\n`);
  } catch {
    // The error itself is what the caller reports; a read-only /run must not hide it.
  }
  for (const line of lines) appendLogLine(logFile, `${new Date().toISOString()} boot: ${line}`);
}
