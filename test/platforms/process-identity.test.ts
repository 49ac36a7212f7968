// A process vnode's startup is known by its network namespace, not its program's name: a pid outside that namespace (a reused pid) is never taken for it, so never signalled.
import { afterAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { isRunning, stopByPidfile } from "../../src/system/processes";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alive } from "../helpers/processes";
import { NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";

describe.skipIf(!isRoot)("a startup's identity is its namespace (root)", () => {
  const namespaces = new NamespaceSet();
  const started: Subprocess[] = [];
  const folder = mkdtempSync(join(tmpdir(), "benito-identity-"));
  afterAll(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await namespaces.cleanup();
    rmSync(folder, { recursive: true, force: true });
  });

  /** A sleep, inside the namespace or not; resolves once /proc shows it there (after exec). */
  async function sleeper(netns?: string): Promise<number> {
    const argv = netns === undefined ? ["sleep", `296.${process.pid}`] : ["ip", "netns", "exec", netns, "sleep", `296.${process.pid}`];
    const child = Bun.spawn(argv, { stdio: ["ignore", "ignore", "ignore"] });
    started.push(child);
    for (let tries = 0; tries < 200 && !(await Bun.file(`/proc/${child.pid}/cmdline`).text()).startsWith("sleep"); tries++) await Bun.sleep(10);
    return child.pid;
  }

  test("inside: running, whatever its program; outside or with the namespace gone: not running, and stop leaves it alone", async () => {
    const netns = await namespaces.add("id");
    const inside = await sleeper(netns);
    const outside = await sleeper();
    expect(isRunning(inside, { netns })).toBe(true);
    expect(isRunning(outside, { netns })).toBe(false);
    expect(isRunning(inside, { netns: `${namespaces.prefix}absent` })).toBe(false);
    // A stale pidfile naming a pid now outside the namespace: removed, the process untouched.
    const pidfile = join(folder, "startup.pid");
    writeFileSync(pidfile, `${outside}\n`);
    expect(await stopByPidfile(pidfile, { netns }, 100)).toBe("not-running");
    expect(existsSync(pidfile)).toBe(false);
    expect(alive(outside)).toBe(true);
    // The one inside is stopped.
    writeFileSync(pidfile, `${inside}\n`);
    expect(await stopByPidfile(pidfile, { netns }, 2000)).toBe("stopped");
    for (let tries = 0; tries < 100 && alive(inside); tries++) await Bun.sleep(20);
    expect(alive(inside)).toBe(false);
  });
});
