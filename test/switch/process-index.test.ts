// switch up's orphan search: one /proc scan for all its daemons, each candidate checked again when asked.
import { afterAll, describe, expect, test } from "bun:test";
import { ProcessIndex } from "../../src/system/processes";
import type { Subprocess } from "bun";
import { alive } from "../helpers/processes";

describe("ProcessIndex", () => {
  // A unique argv: sleep accepts fractional seconds, so the duration names this test run.
  const argv = ["sleep", `297.${process.pid}`];
  const started: Subprocess[] = [];
  afterAll(() => {
    // Our own children only, and only while they run (a reaped child's pid may be another's by now).
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  test("finds a process by its exact argv from one scan; one that exited since is not returned; one started after the scan is not seen", async () => {
    const child = Bun.spawn(argv, { stdio: ["ignore", "ignore", "ignore"] });
    started.push(child);
    // Until /proc shows the new program's argv (after exec).
    for (let tries = 0; tries < 100 && !(await Bun.file(`/proc/${child.pid}/cmdline`).text()).startsWith("sleep"); tries++) await Bun.sleep(10);
    const index = new ProcessIndex();
    expect(index.withArgv(argv)).toEqual([child.pid]);
    expect(index.withArgv(["sleep", `298.${process.pid}`])).toEqual([]);
    const later = Bun.spawn(["sleep", `298.${process.pid}`], { stdio: ["ignore", "ignore", "ignore"] });
    started.push(later);
    await Bun.sleep(50);
    expect(index.withArgv(["sleep", `298.${process.pid}`])).toEqual([]);
    child.kill("SIGKILL");
    await child.exited;
    expect(alive(child.pid)).toBe(false);
    expect(index.withArgv(argv)).toEqual([]);
  });
});
