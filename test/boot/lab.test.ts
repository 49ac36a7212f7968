// The demo lab end to end: benito boot for the pnode, pings across two LANs and a router, the shaped link, convergence, repair, down.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benito, run } from "../helpers/binary";
import { makeLab, labNodes, type Lab } from "../helpers/lab";
import { ping, uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { alive, pidfiles, pidIn, signalPid } from "../helpers/processes";

// Real namespaces, switches and processes: each test and hook waits on them (every wait inside is bounded).
setDefaultTimeout(120_000);

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;



describe.skipIf(!isRoot || !hasVde)("demo lab end to end (root, namespaces, real vde_switch)", () => {
  let lab: Lab;
  const boot = (...extra: string[]) => benito(["boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), ...extra, lab.config, "pnode0"], { timeoutMs: 90_000 });

  beforeAll(() => {
    lab = makeLab(uniquePrefix());
  });

  afterAll(async () => {
    await benito(["down", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 60_000 });
    // Whatever down could not stop: by pidfile, then the namespaces by their exact names.
    for (const pidfile of pidfiles(lab.runDir)) {
      const pid = Number(readFileSync(pidfile, "utf8").trim());
      if (pid > 1) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
    for (const node of labNodes) await run(["ip", "netns", "del", lab.namespace(node)]);
    rmSync(lab.dir, { recursive: true, force: true });
  });

  test("boot brings up switches, shaping and six process vnodes", async () => {
    const result = await boot("--timings");
    expect(result.stderr).not.toContain("internal error");
    expect(result.code).toBe(0);
    const status = JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8"));
    expect(status.ok).toBe(true);
    expect(status.stages.map((stage: { id: string }) => stage.id)).toEqual(["ifaces", "switch", ...labNodes.map((node) => `child:${lab.name(node)}`)]);
    for (const stage of status.stages) expect(stage.ms).toBeGreaterThan(0);
  });

  test("every node pings every other node's addresses, through router r and the shaped link", async () => {
    const addresses: Record<string, string[]> = { a: ["10.0.1.1"], b: ["10.0.1.2"], c: ["10.0.2.1"], d: ["10.0.2.2", "10.0.3.1"], e: ["10.0.3.2"], r: ["10.0.1.254", "10.0.2.254"] };
    const failures: string[] = [];
    for (const source of labNodes) {
      for (const target of labNodes) {
        if (source === target) continue;
        for (const address of addresses[target] ?? []) {
          if (!(await ping(lab.namespace(source), address)).ok) failures.push(`${source} -> ${target} ${address}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  test("the shaped link d–e has the configured delay (20 ms each way) and the LAN a–b does not", async () => {
    const slow = await ping(lab.namespace("d"), "10.0.3.2", 5);
    const fast = await ping(lab.namespace("a"), "10.0.1.2", 5);
    // The smallest of 5 RTTs (the ping helper): wirefilter's timers round a little under 2 × 20 ms (39.8 ms seen).
    expect(slow.rtt).toBeGreaterThanOrEqual(39);
    expect(slow.rtt).toBeLessThan(200);
    expect(fast.rtt).toBeLessThan(20);
  });

  test("boot again converges: every stage ok, nothing restarted", async () => {
    const before = pidfiles(lab.runDir).map((file) => `${file}=${readFileSync(file, "utf8").trim()}`).sort();
    const result = await boot();
    expect(result.code).toBe(0);
    const after = pidfiles(lab.runDir).map((file) => `${file}=${readFileSync(file, "utf8").trim()}`).sort();
    expect(after).toEqual(before);
    const status = JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8"));
    const child = status.stages.find((stage: { id: string }) => stage.id === `child:${lab.name("a")}`);
    expect(child.output[0]).toContain("already running");
  });

  test("the forwarder killed is drift for status (exit 1), and boot restores every port", async () => {
    const forwarders = pidfiles(join(lab.runDir, "forwarder")).map((file) => pidIn(file) ?? 0);
    expect(forwarders.length).toBeGreaterThan(0);
    for (const pid of forwarders) signalPid(pid, "SIGKILL");
    await Bun.sleep(200);
    const drift = await benito(["status", "--json", "--run-dir", lab.runDir, lab.config, "pnode0"]);
    expect(drift.code).toBe(1);
    const report = JSON.parse(drift.stdout);
    expect(report.drift).toBe(true);
    const failing = report.checks.filter((check: { ok: boolean }) => !check.ok).map((check: { id: string }) => check.id);
    expect(failing).toContain("switch");
    for (const node of labNodes) expect(failing).toContain(`status:${lab.name(node)}`);
    const repaired = await boot();
    expect(repaired.code).toBe(0);
    const status = JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8"));
    // The forwarder came back with every recorded port: no child had to be relaunched.
    for (const node of labNodes) expect(status.stages.find((stage: { id: string }) => stage.id === `child:${lab.name(node)}`).output[0]).toContain("already running");
    for (const pid of forwarders) expect(alive(pid)).toBe(false);
    expect(pidfiles(join(lab.runDir, "forwarder")).map((file) => pidIn(file)).filter((pid) => pid !== undefined && alive(pid)).length).toBe(forwarders.length);
    expect((await benito(["status", "--run-dir", lab.runDir, lab.config, "pnode0"])).code).toBe(0);
    for (const [source, target] of [["a", "10.0.1.2"], ["b", "10.0.2.1"], ["d", "10.0.3.2"], ["e", "10.0.1.1"]] as const) expect((await ping(lab.namespace(source), target)).ok).toBe(true);
  });

  test("a TAP deleted behind benito's back fails only its port; boot relaunches that node alone", async () => {
    const forwarders = pidfiles(join(lab.runDir, "forwarder")).map((file) => pidIn(file)).sort();
    expect((await run(["ip", "-n", lab.namespace("c"), "link", "del", "inf000"])).code).toBe(0);
    await Bun.sleep(200);
    const ports = JSON.parse((await benito(["vde", "ports", "--json", "--run-dir", lab.runDir])).stdout) as { ports: { id: string; state: string }[] };
    expect(ports.ports.filter((port) => port.state !== "open").map((port) => port.id)).toEqual([`ns-${lab.name("c")}.inf000`]);
    expect((await ping(lab.namespace("a"), "10.0.1.2")).ok).toBe(true);
    const drift = await benito(["status", "--json", "--run-dir", lab.runDir, lab.config, "pnode0"]);
    expect(drift.code).toBe(1);
    expect(JSON.parse(drift.stdout).checks.filter((check: { ok: boolean }) => !check.ok).map((check: { id: string }) => check.id).sort()).toEqual(["status:" + lab.name("c"), "switch"].sort());
    expect((await boot()).code).toBe(0);
    expect(pidfiles(join(lab.runDir, "forwarder")).map((file) => pidIn(file)).sort()).toEqual(forwarders);
    expect((await ping(lab.namespace("c"), "10.0.2.2")).ok).toBe(true);
    expect((await benito(["status", "--run-dir", lab.runDir, lab.config, "pnode0"])).code).toBe(0);
  });

  test("down stops everything benito started and leaves no namespace, process or socket", async () => {
    const started = pidfiles(lab.runDir).map((file) => Number(readFileSync(file, "utf8").trim()));
    const result = await benito(["down", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 60_000 });
    expect(result.code).toBe(0);
    const namespaces = (await run(["ip", "netns", "list"])).stdout;
    for (const node of labNodes) expect(namespaces).not.toContain(lab.namespace(node));
    expect(started.filter(alive)).toEqual([]);
    expect(existsSync(join(lab.runDir, "forwarder"))).toBe(false);
    expect(existsSync(join(lab.dir, "sw")) ? readdirSync(join(lab.dir, "sw"), { recursive: true }).filter((name) => String(name).endsWith("ctl")) : []).toEqual([]);
  });
});

describe("boot refuses bad input before any change", () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab(uniquePrefix());
  });
  afterAll(() => rmSync(lab.dir, { recursive: true, force: true }));

  test("a bad topo.xml: exit 3, every problem listed, nothing created, status file says why", async () => {
    const topo = join(lab.config, "topo.xml");
    writeFileSync(topo, readFileSync(topo, "utf8").replace("<substrate>lan1</substrate>", "<substrate>lan9</substrate>").replace("02:be:00:00:00:02", "02:be:zz"));
    const result = await benito(["boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('no substrate named "lan9"');
    expect(result.stderr).not.toContain("    at ");
    const status = JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8"));
    expect(status.ok).toBe(false);
    expect(status.errors.join("\n")).toContain("lan9");
    expect(existsSync(join(lab.dir, "sw"))).toBe(false);
  });
});

describe("boot checks the children's platform attributes before any change", () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab(uniquePrefix());
  });
  afterAll(() => rmSync(lab.dir, { recursive: true, force: true }));

  test("a startup that runs a shell: exit 3 naming the node, nothing created", async () => {
    const topo = join(lab.config, "topo.xml");
    const startup = "<attribute><attribute>startup</attribute><value>/bin/sh -c reboot</value></attribute>";
    writeFileSync(topo, readFileSync(topo, "utf8").replace(`<name>${lab.name("c")}</name>`, `<name>${lab.name("c")}</name>${startup}`));
    const result = await benito(["boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("never runs a shell");
    expect(existsSync(join(lab.dir, "sw"))).toBe(false);
  });
});

describe.skipIf(!isRoot || !hasVde)("boot goes on past a bad route file (root)", () => {
  let lab: Lab;
  beforeAll(() => {
    lab = makeLab(uniquePrefix());
  });
  afterAll(async () => {
    await benito(["down", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 60_000 });
    for (const node of labNodes) await run(["ip", "netns", "del", lab.namespace(node)]);
    rmSync(lab.dir, { recursive: true, force: true });
  });

  test("interfaces, switches and children still come up; exit 3; the status file names the line", async () => {
    writeFileSync(join(lab.config, "route", "pnode0"), "# the pnode's own routes\n10.9.0.0/16 via nowhere\n");
    const result = await benito(["boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 90_000 });
    expect(result.code).toBe(3);
    const status = JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8"));
    const outcome = (id: string) => status.stages.find((stage: { id: string }) => stage.id === id);
    expect(outcome("routes").outcome).toBe("invalid-input");
    expect(outcome("routes").errors.join("\n")).toContain("route/pnode0:2");
    expect(outcome("ifaces").outcome).toBe("ok");
    expect(outcome("switch").outcome).toBe("ok");
    for (const node of labNodes) expect(outcome(`child:${lab.name(node)}`).outcome).toBe("ok");
    expect((await ping(lab.namespace("a"), "10.0.1.2")).ok).toBe(true);
  });
});
