// Two benitos at once (boot ∥ boot, boot ∥ down, switch up ∥ switch up) wait for the run dir's lock and both end correct; SIGTERM/SIGINT finish the step under way, record "interrupted" and exit 143/130.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { benitoBinary } from "../helpers/binary";
import { makeLab, type Lab } from "../helpers/lab";
import { benitoEnded, cleanLab, labLeftovers, labPids, labState, stateDiff, type LabState } from "../helpers/lab-state";
import { uniquePrefix } from "../helpers/netns";
import { signalPid } from "../helpers/processes";
import { isRoot } from "../helpers/root";

setDefaultTimeout(300_000);

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;

describe.skipIf(!isRoot || !hasVde)("one experiment, two benitos; signals (root, real switches)", () => {
  let lab: Lab;
  let clean: LabState;
  const common = () => ["--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log")];
  const boot = () => benitoEnded(["boot", ...common(), lab.config, "pnode0"]);
  const down = () => benitoEnded(["down", ...common(), lab.config, "pnode0"]);
  const spawn = (args: readonly string[]) => Bun.spawn([benitoBinary, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  /** Waits until a log has a line containing text (the run reached that point). */
  const logReaches = async (log: string, text: string) => {
    for (let waited = 0; waited < 60_000; waited += 20) {
      if (existsSync(log) && readFileSync(log, "utf8").includes(text)) return;
      await Bun.sleep(20);
    }
    throw new Error(`${log} never said ${text}`);
  };

  beforeAll(async () => {
    lab = makeLab(uniquePrefix());
    expect((await boot()).code).toBe(0);
    clean = await labState(lab);
    expect((await down()).code).toBe(0);
  });

  afterAll(async () => {
    await cleanLab(lab);
    rmSync(lab.dir, { recursive: true, force: true });
  });

  test("boot ∥ boot: the second waits for the first; both exit 0 and the end state is one clean boot's", async () => {
    const [first, second] = await Promise.all([boot(), boot()]);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(stateDiff(clean, await labState(lab))).toEqual([]);
    // The second found everything made: every child was left alone.
    const outputs = [first.stdout, second.stdout];
    expect(outputs.some((text) => text.includes("8/8 stage(s) ok"))).toBe(true);
  });

  test("boot ∥ down: whichever gets the lock second runs after the first; both exit 0 and the end state is consistent", async () => {
    const pids = labPids(lab);
    const [downed, booted] = await Promise.all([down(), (async () => (await Bun.sleep(30), boot()))()]);
    expect([downed.code, booted.code]).toEqual([0, 0]);
    const state = await labState(lab);
    if (state.namespaces.length === 0) expect(await labLeftovers(lab, pids)).toEqual([]);
    else expect(stateDiff(clean, state)).toEqual([]);
    expect((await down()).code).toBe(0);
    expect(await labLeftovers(lab, [...pids, ...labPids(lab)])).toEqual([]);
  });

  test("switch up ∥ switch up: both exit 0, each daemon runs once", async () => {
    const args = ["switch", "up", "--run-dir", lab.runDir, lab.config, "pnode0"];
    const [a, b] = await Promise.all([benitoEnded(args), benitoEnded(args)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const argvs = labPids(lab).map((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8"));
    expect(argvs.length).toBe(6);
    expect(new Set(argvs).size).toBe(argvs.length);
    expect((await down()).code).toBe(0);
    expect(await labLeftovers(lab)).toEqual([]);
  });

  test("SIGTERM during boot: the stage under way finishes, status.json says interrupted with the stage, the log says so, exit 143; boot again converges", async () => {
    const log = join(lab.dir, "sigterm.log");
    const child = spawn(["boot", "--run-dir", lab.runDir, "--log-file", log, "--parallel", "1", lab.config, "pnode0"]);
    await logReaches(log, `vm launch ${lab.name("b")}`);
    signalPid(child.pid, "SIGTERM");
    expect(await child.exited).toBe(143);
    const record = JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8"));
    expect(record.interrupted.signal).toBe("SIGTERM");
    expect(record.interrupted.stages.length).toBe(1);
    expect(record.stages.some((stage: { outcome: string }) => stage.outcome === "interrupted")).toBe(true);
    // The stage under way was finished, not abandoned half way.
    const during = record.stages.find((stage: { id: string }) => stage.id === record.interrupted.stages[0]);
    expect(during.outcome).toBe("ok");
    expect(readFileSync(log, "utf8")).toContain("boot: interrupted by SIGTERM during");
    expect((await boot()).code).toBe(0);
    expect(stateDiff(clean, await labState(lab))).toEqual([]);
  });

  test("SIGINT during down: exit 130, status.json says interrupted; down again leaves nothing", async () => {
    const pids = labPids(lab);
    const log = join(lab.dir, "sigint.log");
    const child = spawn(["down", "--run-dir", lab.runDir, "--log-file", log, "--parallel", "1", lab.config, "pnode0"]);
    await logReaches(log, `down: [1/`);
    signalPid(child.pid, "SIGINT");
    expect(await child.exited).toBe(130);
    const record = JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8"));
    expect(record.interrupted.signal).toBe("SIGINT");
    expect(readFileSync(log, "utf8")).toContain("down: interrupted by SIGINT during");
    expect((await down()).code).toBe(0);
    expect(await labLeftovers(lab, pids)).toEqual([]);
  });

  test("boot, status and down with a relative --run-dir: every vnode starts, status is clean, down stops them and leaves nothing (each vm stage once refused it; down's switches went anyway)", async () => {
    const relative = async (command: string) => {
      const child = Bun.spawn([benitoBinary, command, "--run-dir", "run", ...(command === "status" ? [] : ["--log-file", "benito.log"]), lab.config, "pnode0"], { cwd: lab.dir, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
      return { code, stderr: stderr.split("\n").filter((line) => line.includes("benito:")) };
    };
    expect(await relative("boot")).toEqual({ code: 0, stderr: [] });
    const pids = labPids(lab);
    expect(await relative("status")).toEqual({ code: 0, stderr: [] });
    expect(await relative("down")).toEqual({ code: 0, stderr: [] });
    expect(await labLeftovers(lab, pids)).toEqual([]);
  });
});
