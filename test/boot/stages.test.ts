// The stage runner: order, bounded parallel groups, skipping after a failed dependency, convergence, exit codes.
import { describe, expect, test } from "bun:test";
import type { Command, CommandContext } from "../../src/cli/command";
import { overallExit, runCaptured, runStages } from "../../src/cli/stages";
import { InputError } from "../../src/errors";
import type { Stage } from "../../src/plan/boot-plan";

const ctx: CommandContext = { io: { out: () => undefined, err: () => undefined }, env: {}, debug: false };

/** Fake commands: "ok" prints its args, "fail" exits 1, "bad" throws an input error, "slow" tracks concurrency. */
function fakes() {
  const calls: string[] = [];
  let running = 0;
  let peak = 0;
  const command = (name: string, run: Command["run"]): Command => ({ name, help: "", run });
  const table: Record<string, Command> = {
    ok: command("ok", async (args, c) => {
      calls.push(`ok ${args.join(" ")}`);
      c.io.out(`did ${args.join(" ")}`);
      return 0;
    }),
    fail: command("fail", async (args, c) => {
      calls.push(`fail ${args.join(" ")}`);
      c.io.err("benito: while failing on purpose on x: because");
      return 1;
    }),
    bad: command("bad", async () => {
      throw new InputError("reading", "f", "bad line", ["f:3: nonsense"]);
    }),
    slow: command("slow", async (args) => {
      running += 1;
      peak = Math.max(peak, running);
      await Bun.sleep(20);
      running -= 1;
      calls.push(`slow ${args.join(" ")}`);
      return args[0] === "status" ? 1 : 0;
    }),
  };
  return { calls, peak: () => peak, commands: (name: string) => table[name] };
}

const stage = (id: string, command: string, args: string[] = [], extra: Partial<Stage> = {}): Stage => ({ id, command, args, after: [], ...extra });

describe("runStages", () => {
  test("a failure says why: a command that fails without an error line still gets one in errors[]; an OS error is typed, not internal", async () => {
    const mute: Command = { name: "mute", help: "", run: async (_args, c) => (c.io.out("FAILED vde_switch /x — not running: the folder is full"), 1) };
    const os: Command = { name: "os", help: "", run: async () => { throw Object.assign(new Error("EACCES: permission denied, open '/run/x'"), { code: "EACCES", syscall: "open", path: "/run/x" }); } };
    const table: Record<string, Command> = { mute, os };
    const [silent, refused] = await runStages([stage("a", "mute"), stage("b", "os")], ctx, { parallel: 1, commands: (name) => table[name] });
    expect(silent?.errors).toEqual(["benito: a failed (exit 1): FAILED vde_switch /x — not running: the folder is full"]);
    expect(refused?.errors).toEqual(["benito: while calling open on /run/x: EACCES: permission denied, open '/run/x'"]);
    expect(refused?.outcome).toBe("failed");
  });

  test("a stage after a failed one is skipped and says why; the others still run; the worst exit wins", async () => {
    const f = fakes();
    const results = await runStages([stage("a", "fail"), stage("b", "ok", ["1"], { after: ["a"] }), stage("c", "ok", ["2"]), stage("d", "bad")], ctx, { parallel: 2, commands: f.commands });
    expect(results.map((r) => r.outcome)).toEqual(["failed", "skipped", "ok", "invalid-input"]);
    expect(results[1]?.errors[0]).toContain("a did not succeed");
    expect(results[0]?.errors).toEqual(["benito: while failing on purpose on x: because"]);
    expect(results[3]?.errors).toEqual(["benito: while reading on f: bad line", "  f:3: nonsense"]);
    expect(f.calls).toEqual(["fail ", "ok 2"]);
    expect(overallExit(results)).toBe(3);
    expect(overallExit(results.slice(0, 3))).toBe(1);
    expect(overallExit(results.slice(2, 3))).toBe(0);
  });

  test("a group runs in parallel, at most `parallel` at once, and results keep plan order", async () => {
    const f = fakes();
    const group = Array.from({ length: 6 }, (_, i) => stage(`s${i}`, "slow", [`launch${i}`], { group: "children" }));
    const results = await runStages(group, ctx, { parallel: 3, commands: f.commands });
    expect(f.peak()).toBe(3);
    expect(results.map((r) => r.id)).toEqual(group.map((s) => s.id));
  });

  test("convergence: a healthy thing is left alone; an unhealthy one is run (its launch converges, nothing is stopped first)", async () => {
    const f = fakes();
    const healthy = stage("h", "ok", ["launch"], { converge: { healthy: ["status"] } });
    const unhealthy = stage("u", "slow", ["launch"], { converge: { healthy: ["status"] } });
    const results = await runStages([healthy, unhealthy], ctx, { parallel: 1, commands: f.commands });
    expect(results[0]?.output[0]).toContain("left alone");
    expect(f.calls).toEqual(["ok status", "slow status", "slow launch"]);
    expect(results.map((r) => r.outcome)).toEqual(["ok", "ok"]);
  });
});

describe("runCaptured (a command run in this process, as vm launch runs a process vnode's ifaces and routes)", () => {
  test("a typed error keeps its detail lines (file:line problems) after its headline, with its exit code", async () => {
    const { commands } = fakes();
    const run = await runCaptured(commands("bad"), "bad", [], ctx, "benito bad");
    expect(run.code).toBe(3);
    expect(run.errors).toEqual(["benito: while reading on f: bad line", "  f:3: nonsense"]);
  });

  test("an unknown command is an error in benito's form, never a silent success", async () => {
    const run = await runCaptured(undefined, "nope", [], ctx, "benito nope");
    expect(run.code).toBe(1);
    expect(run.errors).toEqual(['benito: while running on benito nope: no command "nope"']);
  });
});
