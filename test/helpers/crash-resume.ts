// Crash-resume, one shard of it: boot killed at a fixed-seed sample of failpoints (all with BENITO_CRASH_ALL=1) and at random times; the next run converges to a clean boot's state and down leaves nothing.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { benitoBinary } from "./binary";
import { makeLab, type Lab } from "./lab";
import { benitoEnded, cleanLab, labLeftovers, labPids, labState, stateDiff, type LabState } from "./lab-state";
import { uniquePrefix } from "./netns";
import { signalPid } from "./processes";
import { isRoot } from "./root";
import { random } from "./random";

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;
const all = process.env.BENITO_CRASH_ALL === "1";
/** How many failpoints one CI run crashes at, over all shards (a fixed-seed sample); BENITO_CRASH_ALL=1 (make test-crash) takes every one. */
const sampleSize = all ? Infinity : Number(process.env.BENITO_CRASH_SAMPLE ?? 40);
/** How many random-time kill -9 points of boot, switch up and down one run tries, over all shards. */
const randomKills = all ? 24 : Number(process.env.BENITO_CRASH_RANDOM ?? 20);
const seed = Number(process.env.BENITO_CRASH_SEED ?? 11);
/** How many of down's failpoints one CI run kills down at, over all shards (every one with BENITO_CRASH_ALL=1). */
const downSampleSize = all ? Infinity : Number(process.env.BENITO_CRASH_DOWN_SAMPLE ?? 16);

/** A Fisher-Yates sample of `size` items, by the seeded generator. */
function sample<T>(items: readonly T[], size: number, next: () => number): T[] {
  const pool = [...items];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, Math.min(size, pool.length));
}

/**
 * A failpoint's name with what differs from one lab copy to another taken out (the node name
 * prefix, the 8-hex-digit hashes of switch folders), so every shard draws the same sample.
 */
function canonical(name: string, prefix: string): string {
  return name.replaceAll(prefix, "<lab>").replace(/-[0-9a-f]{8}\b/g, "-<hash>");
}

/**
 * Defines shard `shard` (1-based) of `shards` of the crash-resume test: its own copy of the
 * example lab (6 vnodes, 2 LANs, a shaped LAN, a router) booted once cleanly as the reference
 * state, then every `shards`-th failpoint of the common sample, then its share of the random kills.
 * The shards are separate test files, so `make test` runs them in parallel processes.
 */
export function crashResumeShard(shard: number, shards: number): void {
  setDefaultTimeout(900_000);
  describe.skipIf(!isRoot || !hasVde)(`crash-resume of a pnode boot, shard ${shard} of ${shards} (root, real switches, 6 process vnodes)`, () => {
    let lab: Lab;
    let clean: LabState;
    let failpoints: string[] = [];
    let downFailpoints: string[] = [];
    /** How long a clean down of the lab took: random kills of down land inside it. */
    let downMs = 0;
    let prefix = "";
    const common = () => ["--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log")];
    const boot = (env: Record<string, string> = {}) => benitoEnded(["boot", ...common(), lab.config, "pnode0"], env);
    const down = (env: Record<string, string> = {}) => benitoEnded(["down", ...common(), lab.config, "pnode0"], env);

    beforeAll(async () => {
      prefix = uniquePrefix();
      lab = makeLab(prefix);
      const trace = join(lab.dir, "failpoints");
      const first = await boot({ BENITO_FAILPOINT_TRACE: trace });
      expect(first.code).toBe(0);
      clean = await labState(lab);
      failpoints = [...new Set(readFileSync(trace, "utf8").split("\n").filter((line) => line !== ""))];
      const downTrace = join(lab.dir, "down-failpoints");
      const started = performance.now();
      expect((await down({ BENITO_FAILPOINT_TRACE: downTrace })).code).toBe(0);
      downMs = performance.now() - started;
      downFailpoints = [...new Set(readFileSync(downTrace, "utf8").split("\n").filter((line) => line !== ""))];
      expect(await labLeftovers(lab)).toEqual([]);
    });

    afterAll(async () => {
      await cleanLab(lab);
      rmSync(lab.dir, { recursive: true, force: true });
    });

    test("the clean boot passes every kind of failpoint: stages, ledger intents and confirmations, plan steps", () => {
      for (const kind of ["stage:", "daemon:", "vnode:", "step:"]) expect(failpoints.some((name) => name.startsWith(kind))).toBe(true);
      expect(clean.ledger.every((line) => line.endsWith(" done"))).toBe(true);
      expect(clean.namespaces.length).toBe(6);
    });

    test("killed at each failpoint of its share, the next boot converges to the clean state, and down leaves nothing", async () => {
      const byName = new Map(failpoints.map((name) => [canonical(name, prefix), name]));
      const chosen = sample([...byName.keys()].sort(), sampleSize, random(seed)).filter((_, index) => index % shards === shard - 1);
      const failures: string[] = [];
      for (const key of chosen) {
        const name = byName.get(key) ?? key;
        const crashed = await boot({ BENITO_FAILPOINT: name });
        if (crashed.signal !== "SIGKILL") failures.push(`${name}: boot was not killed there (exit ${crashed.code})`);
        const again = await boot();
        if (again.code !== 0) failures.push(`${name}: the boot after the crash exited ${again.code}: ${again.stderr.split("\n").slice(-4).join(" / ")}`);
        const diff = stateDiff(clean, await labState(lab));
        if (diff.length > 0) failures.push(`${name}: state differs from a clean boot: ${diff.join(" ; ")}`);
        const started = labPids(lab);
        const gone = await down();
        const left = await labLeftovers(lab, started);
        if (gone.code !== 0 || left.length > 0) failures.push(`${name}: down exited ${gone.code}, left ${left.join(", ")}`);
      }
      expect(failures).toEqual([]);
    });

    test("down killed at each failpoint of its share (steps of every vnode's teardown, record removals, stages): down again leaves nothing", async () => {
      expect(downFailpoints.some((name) => name.startsWith("step:"))).toBe(true);
      const byName = new Map(downFailpoints.map((name) => [canonical(name, prefix), name]));
      const chosen = sample([...byName.keys()].sort(), downSampleSize, random(seed + 1)).filter((_, index) => index % shards === shard - 1);
      const failures: string[] = [];
      for (const key of chosen) {
        const name = byName.get(key) ?? key;
        if ((await boot()).code !== 0) failures.push(`${name}: the boot before down failed`);
        const started = labPids(lab);
        const crashed = await down({ BENITO_FAILPOINT: name });
        if (crashed.signal !== "SIGKILL") failures.push(`${name}: down was not killed there (exit ${crashed.code})`);
        const again = await down();
        const left = await labLeftovers(lab, started);
        if (again.code !== 0 || left.length > 0) failures.push(`${name}: down again exited ${again.code}, left ${left.join(", ")}: ${again.stderr.split("\n").filter((line) => line.includes("benito")).join(" / ")}`);
      }
      expect(failures).toEqual([]);
    });

    test("kill -9 at random times of boot, switch up and down: the next run converges, down leaves nothing", async () => {
      const next = random(seed + shard);
      const failures: string[] = [];
      const share = Math.floor(randomKills / shards) + (shard <= randomKills % shards ? 1 : 0);
      for (let point = 0; point < share; point++) {
        const which = (["boot", "switch", "down"] as const)[(point + shard) % 3] ?? "boot";
        if (which === "down") {
          if ((await boot()).code !== 0) failures.push(`#${point}: the boot before down failed`);
        }
        const started = labPids(lab);
        const args = which === "switch" ? ["switch", "up", "--run-dir", lab.runDir, lab.config, "pnode0"] : [which, ...common(), lab.config, "pnode0"];
        const child = Bun.spawn([benitoBinary, ...args], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
        // A kill of down lands while it runs (it takes a few hundred ms since its link deletions are batched).
        const delay = Math.floor(next() * (which === "switch" ? 400 : which === "down" ? Math.max(100, downMs) : 1500));
        await Bun.sleep(delay);
        signalPid(child.pid, "SIGKILL");
        await child.exited;
        if (which === "down") {
          const again = await down();
          const left = await labLeftovers(lab, [...started, ...labPids(lab)]);
          if (again.code !== 0 || left.length > 0) failures.push(`#${point} down killed after ${delay} ms: down again exited ${again.code}, left ${left.join(", ")}: ${again.stderr.split("\n").filter((line) => line.includes("benito")).join(" / ")}`);
          continue;
        }
        const again = await boot();
        const diff = stateDiff(clean, await labState(lab));
        if (again.code !== 0 || diff.length > 0) failures.push(`#${point} ${which} killed after ${delay} ms: boot again exited ${again.code}; ${diff.join(" ; ")}`);
        const before = labPids(lab);
        const gone = await down();
        const left = await labLeftovers(lab, before);
        if (gone.code !== 0 || left.length > 0) failures.push(`#${point} ${which}: down exited ${gone.code}, left ${left.join(", ")}`);
      }
      expect(failures).toEqual([]);
    });
  });
}
