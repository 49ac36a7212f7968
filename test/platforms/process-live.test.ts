// The process platform for real (root): two namespaces whose TAPs the forwarder joins to one vde_switch ping each other; stop leaves nothing behind.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { namespaceName } from "../../src/platforms/names";
import { benito, run } from "../helpers/binary";
import { uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { alive, startSwitch, stopSwitch, topology, type TestSwitch } from "../vm/fixture";
import { pidIn, signalPid } from "../helpers/processes";

const hasVde = Bun.which("vde_switch") !== null;
if (isRoot && !hasVde) console.warn("SKIPPED: process platform live test: vde_switch is missing (Debian package vde2)");

describe.skipIf(!isRoot || !hasVde)("process platform (live)", () => {
  const prefix = uniquePrefix();
  const nodes = [`${prefix}a`, `${prefix}b`];
  /** A vnode whose startup is a script (it runs as its interpreter) leaving a process in the background. */
  const scripted = `${prefix}c`;
  let base = "";
  let configDir = "";
  let runDir = "";
  let sw: TestSwitch | undefined;
  let scriptedPids: number[] = [];

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "benito-proc-"));
    configDir = join(base, "config");
    runDir = join(base, "run");
    mkdirSync(join(configDir, "route"), { recursive: true });
    sw = await startSwitch(base);
    const script = join(base, "startup.sh");
    writeFileSync(script, "#!/bin/sh\n/bin/sleep 300 &\nexec /bin/sleep 301\n", { mode: 0o755 });
    writeFileSync(
      join(configDir, "topo.xml"),
      topology(sw.dir, [
        { name: nodes[0]!, type: "process", address: "10.213.0.1", mac: "02:00:0a:d5:00:01", port: 1, startup: "/usr/bin/printf 'startup of %s ran\\n' a" },
        { name: nodes[1]!, type: "process", address: "10.213.0.2", mac: "02:00:0a:d5:00:02", port: 2 },
        { name: scripted, type: "process", address: "10.213.0.3", mac: "02:00:0a:d5:00:03", port: 3, startup: script },
      ]),
    );
  }, 30_000);

  afterAll(async () => {
    for (const node of [...nodes, scripted]) await benito(["vm", "stop", node, configDir, "--run-dir", runDir]);
    // By pid, in case stop left them: the scripted vnode's processes.
    for (const pid of scriptedPids) signalPid(pid, "SIGKILL");
    // By name, in case stop itself failed.
    for (const node of [...nodes, scripted]) await run(["ip", "netns", "del", namespaceName(node)]);
    // The forwarder the launches started: stopped with its folder (by pidfile, in case that failed).
    await benito(["switch", "down", "--run-dir", runDir]);
    const forwarder = pidIn(join(runDir, "forwarder", "forwarder.pid"));
    if (forwarder !== undefined) signalPid(forwarder, "SIGKILL");
    await stopSwitch(sw);
    rmSync(base, { recursive: true, force: true });
  }, 60_000);

  test("two process vnodes on one switch ping each other at their TopDL addresses", async () => {
    for (const node of nodes) {
      const launched = await benito(["vm", "launch", node, configDir, "--run-dir", runDir]);
      expect(launched.stderr).toBe("");
      expect(launched.code).toBe(0);
    }
    const addresses = await run(["ip", "-n", namespaceName(nodes[0]!), "-4", "-o", "addr", "show", "dev", "inf000"]);
    expect(addresses.stdout).toContain("10.213.0.1/24");
    const ping = await run(["ip", "netns", "exec", namespaceName(nodes[0]!), "ping", "-c", "2", "-W", "2", "10.213.0.2"], { timeoutMs: 15_000 });
    expect(ping.code).toBe(0);
    expect(readFileSync(join(runDir, "ns", nodes[0]!, "startup.log"), "utf8")).toBe("startup of a ran\n");
    const status = await benito(["vm", "status", nodes[1]!, configDir, "--run-dir", runDir]);
    expect(status.stdout).toContain("namespace: " + namespaceName(nodes[1]!) + " exists");
    expect(status.code).toBe(0);
  }, 60_000);

  test("both nodes' ports are in one forwarder; stop removes the node's port, namespace and folder", async () => {
    const forwarderPid = pidIn(join(runDir, "forwarder", "forwarder.pid"));
    expect(forwarderPid).toBeDefined();
    const listed = JSON.parse((await benito(["vde", "ports", "--json", "--run-dir", runDir])).stdout) as { ports: { id: string; state: string }[] };
    expect(listed.ports.map((port) => `${port.id} ${port.state}`)).toEqual([`ns-${nodes[0]}.inf000 open`, `ns-${nodes[1]}.inf000 open`]);
    // The dry run prints what the run does: the TAP's line, then the note that its namespace takes it.
    const dry = await benito(["vm", "stop", nodes[1]!, configDir, "--run-dir", runDir, "--dry-run"]);
    expect(dry.code).toBe(0);
    const stopped = await benito(["vm", "stop", nodes[1]!, configDir, "--run-dir", runDir]);
    expect(stopped.code).toBe(0);
    // The dry run's title line aside, the run prints the same lines, then that the node stopped.
    const planned = dry.stdout.split("\n").filter((line) => line !== "" && !line.startsWith("# stop "));
    expect(stopped.stdout.split("\n").filter((line) => line !== "")).toEqual([...planned, `${nodes[1]}: stopped`]);
    // Its TAP is not deleted on its own (an RCU grace period each): the namespace's deletion takes it.
    expect(stopped.stdout).toContain(`# removed with its namespace ${namespaceName(nodes[1]!)} (netns.delete below)`);
    const after = JSON.parse((await benito(["vde", "ports", "--json", "--run-dir", runDir])).stdout) as { ports: { id: string }[] };
    expect(after.ports.map((port) => port.id)).toEqual([`ns-${nodes[0]}.inf000`]);
    expect(existsSync(join(runDir, "forwarder", "ports", `ns-${nodes[1]}.inf000.json`))).toBe(false);
    expect(alive(forwarderPid!)).toBe(true);
    expect(existsSync(`/run/netns/${namespaceName(nodes[1]!)}`)).toBe(false);
    expect(existsSync(join(runDir, "ns", nodes[1]!))).toBe(false);
  }, 30_000);

  test("a script's startup counts as running; stop ends it and what it left in the background, so nothing keeps the namespace and its TAP alive", async () => {
    const launched = await benito(["vm", "launch", scripted, configDir, "--run-dir", runDir]);
    expect(launched.code === 0 ? "" : launched.stderr).toBe("");
    const inside = async () => (await run(["ip", "netns", "pids", namespaceName(scripted)])).stdout.split("\n").filter((line) => line !== "").map(Number);
    for (let waited = 0; waited < 5000 && (await inside()).length < 2; waited += 50) await Bun.sleep(50);
    scriptedPids = await inside();
    expect(scriptedPids.length).toBe(2);
    // Known by its namespace, not by its program's name (it runs as /bin/sh, then as sleep): running, no drift.
    const status = await benito(["vm", "status", scripted, configDir, "--run-dir", runDir]);
    expect(status.stdout).toMatch(/startup: running \(pid \d+\)/);
    expect(status.code).toBe(0);
    const stopped = await benito(["vm", "stop", scripted, configDir, "--run-dir", runDir]);
    expect(stopped.code === 0 ? "" : stopped.stderr).toBe("");
    expect(stopped.stdout).toContain("process(es) still inside were stopped first");
    expect(scriptedPids.filter((pid) => alive(pid))).toEqual([]);
    expect(existsSync(`/run/netns/${namespaceName(scripted)}`)).toBe(false);
  }, 60_000);
});
