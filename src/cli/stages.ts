// Runs the stages of a boot/status/down plan: each one a benito command run in-process, output captured, time measured.
import { BenitoError, ExitCode, headline, messageOf, osError } from "../errors";
import type { Stage } from "../plan/boot-plan";
import { stageCommandLine } from "../plan/boot-plan";
import type { Command, CommandContext, Io } from "./command";
import { loadCommand } from "./registry";
import { failpoint } from "./os";

/** StageResult interface: how one stage went (what the status file records). */
export interface StageResult {
  readonly id: string;
  /** The equivalent command line. */
  readonly command: string;
  /** "ok", "failed" (exit 1), "invalid-input" (exit 3), "skipped" (a stage it needs failed), or "interrupted" (not started: a signal came). */
  readonly outcome: "ok" | "failed" | "invalid-input" | "skipped" | "interrupted";
  readonly exitCode: number;
  /** Wall time in milliseconds. */
  readonly ms: number;
  /** Every line the stage wrote to stderr that is an error or warning ("benito: …"). */
  readonly errors: readonly string[];
  /** Everything else it printed. */
  readonly output: readonly string[];
}

/** Finds the command a stage names (the registry, which loads it; tests pass their own). */
export type CommandLookup = (name: string) => Command | undefined | Promise<Command | undefined>;

/** RunStagesOptions interface: how to run a plan's stages. */
export interface RunStagesOptions {
  /** Where commands come from (default: the registry). */
  readonly commands?: CommandLookup;
  /** How many stages of one parallel group run at once. */
  readonly parallel: number;
  /** Called when a stage starts and ends (progress lines). */
  readonly onStart?: (stage: Stage, index: number, total: number) => void;
  readonly onEnd?: (result: StageResult, index: number, total: number) => void;
  /** Asked before each stage starts: true stops the run there (a signal), the rest is "interrupted". */
  readonly shouldStop?: () => boolean;
}

function outcomeOf(code: number): StageResult["outcome"] {
  if (code === ExitCode.ok) return "ok";
  return code === ExitCode.input ? "invalid-input" : "failed";
}

/**
 * Runs one stage: the command in-process with its output captured; never throws. A stage with
 * `converge` first asks whether the thing is healthy (then it is done, untouched), else runs
 * (its command converges: it keeps what is healthy and repairs the rest).
 */
export async function runStage(stage: Stage, ctx: CommandContext, commands: CommandLookup = loadCommand): Promise<StageResult> {
  const runCommand = (args: readonly string[]) => runOne(stage, args, ctx, commands);
  if (stage.converge === undefined) return runCommand(stage.args);
  const started = performance.now();
  const health = await runCommand(stage.converge.healthy);
  if (health.exitCode === ExitCode.ok) return { ...health, command: stageCommandLine(stage), ms: elapsed(started), output: ["already running and healthy: left alone", ...health.output] };
  const result = await runCommand(stage.args);
  const drift = [...health.errors, ...health.output].filter((line) => /not running|absent|drift|failed|did not finish|no record|no monitor/.test(line));
  return { ...result, ms: elapsed(started), output: [...drift.map((line) => `(repairing) ${line}`), ...result.output] };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/** CapturedRun interface: what one in-process command printed and how it ended. */
export interface CapturedRun {
  readonly code: number;
  /** Every error or warning line ("benito: …"), a typed error's detail lines (file:line problems) after its headline. */
  readonly errors: readonly string[];
  /** Everything else it printed. */
  readonly output: readonly string[];
}

/**
 * Runs one of benito's own commands in this process with its output captured; never throws. A
 * failure is reported as the command line would print it (headline, then its detail lines), and a
 * failure without an error line still gets one naming `what`.
 */
export async function runCaptured(command: Command | undefined, name: string, args: readonly string[], ctx: CommandContext, what: string): Promise<CapturedRun> {
  const errors: string[] = [];
  const output: string[] = [];
  const io: Io = {
    out: (text) => output.push(...text.split("\n")),
    err: (text) => (text.startsWith("benito") ? errors : output).push(...text.split("\n")),
  };
  let code: number;
  try {
    if (command === undefined) throw new BenitoError("running", what, `no command "${name}"`);
    code = await command.run(args, { ...ctx, io });
  } catch (error) {
    const typed = error instanceof BenitoError ? error : osError(error);
    if (typed !== undefined) {
      errors.push(headline(typed), ...typed.details.map((line) => `  ${line}`));
      code = typed.exitCode;
    } else {
      errors.push(`benito: internal error in ${what}: ${messageOf(error)}`);
      code = ExitCode.failed;
    }
  }
  // A command that failed without an error line still gets one: errors[] never hides a failure.
  if (code !== ExitCode.ok && errors.length === 0) {
    const last = output.filter((line) => line.trim() !== "").at(-1);
    errors.push(`benito: ${what} failed (exit ${code})${last === undefined ? "" : `: ${last.trim()}`}`);
  }
  return { code, errors, output };
}

async function runOne(stage: Stage, args: readonly string[], ctx: CommandContext, commands: CommandLookup): Promise<StageResult> {
  const started = performance.now();
  const { code, errors, output } = await runCaptured(await commands(stage.command), stage.command, args, ctx, stage.id);
  return { id: stage.id, command: ["benito", stage.command, ...args].join(" "), outcome: outcomeOf(code), exitCode: code, ms: elapsed(started), errors, output };
}

/**
 * Runs stages in plan order. Consecutive stages of one group run in parallel, at most
 * `parallel` at a time; a stage whose `after` names a stage that did not succeed is skipped.
 */
export async function runStages(stages: readonly Stage[], ctx: CommandContext, options: RunStagesOptions): Promise<StageResult[]> {
  const results = new Map<string, StageResult>();
  const total = stages.length;
  let index = 0;
  while (index < stages.length) {
    const first = stages[index] as Stage;
    let end = index + 1;
    while (first.group !== undefined && end < stages.length && stages[end]?.group === first.group) end += 1;
    const batch = stages.slice(index, end);
    const offset = index;
    let next = 0;
    const worker = async () => {
      while (next < batch.length) {
        const position = next++;
        const stage = batch[position] as Stage;
        const blocked = stage.after.filter((id) => results.get(id)?.outcome !== "ok" && results.has(id));
        if (options.shouldStop?.() === true) {
          results.set(stage.id, { id: stage.id, command: stageCommandLine(stage), outcome: "interrupted", exitCode: ExitCode.failed, ms: 0, errors: [], output: [] });
          continue;
        }
        failpoint(`stage:${stage.id}`);
        options.onStart?.(stage, offset + position, total);
        const result: StageResult = blocked.length > 0
          ? { id: stage.id, command: stageCommandLine(stage), outcome: "skipped", exitCode: ExitCode.failed, ms: 0, errors: [`benito: skipped ${stage.id}: ${blocked.join(", ")} did not succeed`], output: [] }
          : await runStage(stage, ctx, options.commands);
        results.set(stage.id, result);
        options.onEnd?.(result, offset + position, total);
      }
    };
    await Promise.all(Array.from({ length: Math.min(Math.max(1, options.parallel), batch.length) }, worker));
    index = end;
  }
  return stages.map((stage) => results.get(stage.id) as StageResult);
}

/** The exit code of a whole run: 3 when any stage had invalid input, else 1 when any failed, else 0. */
export function overallExit(results: readonly StageResult[]): ExitCode {
  if (results.some((result) => result.outcome === "invalid-input")) return ExitCode.input;
  return results.some((result) => result.outcome !== "ok") ? ExitCode.failed : ExitCode.ok;
}
