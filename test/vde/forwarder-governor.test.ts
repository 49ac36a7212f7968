// The forwarder's latency governor at work on a real LAN: real-time priority at rest with the kernel's bound on it, stepped down by a one-way stream however it is paced, taken back by a ping -f; without the permission, the normal class and one log line.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { benitoBinary, run } from "../helpers/binary";
import { inNamespace, ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { addForwarderPort } from "../../src/system/vde/forwarder-control";
import { forwarderPaths, writePortRecord } from "../../src/system/vde/forwarder-records";
import { address, hasVde, Lab, pidIn, ping, tearDownForwarderLab, waitFor } from "./fixtures";

const hasIperf3 = existsSync("/usr/bin/iperf3");

/** The scheduling policy of a process's main thread (field 41 of /proc/PID/stat; 2 = SCHED_RR, 0 = normal). */
function policy(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[38]);
}

describe.skipIf(!isRoot || !hasVde || !hasIperf3)("the forwarder's latency governor on a real LAN (root)", () => {
  const namespaces = new NamespaceSet();
  const lab = new Lab();
  const runDir = join(lab.dir, "run");
  const paths = forwarderPaths(runDir);
  const ns: string[] = [];
  let pid = 0;

  beforeAll(async () => {
    const sw = await lab.startSwitch("sw");
    mkdirSync(runDir, { recursive: true });
    lab.track(paths.pidfile);
    for (const [index, suffix] of ["a", "b"].entries()) {
      const namespace = await namespaces.add(suffix);
      ns.push(namespace);
      await ip("-n", namespace, "tuntap", "add", "vt0", "mode", "tap");
      await address(namespace, "vt0", `10.213.9.${index + 1}/24`);
      await addForwarderPort(runDir, benitoBinary, { version: 1, kind: "forwarder-port", id: `g${index}`, netns: namespace, tap: "vt0", switchDir: sw, port: 0, reconnect: true });
    }
    pid = pidIn(paths.pidfile) ?? 0;
  }, 60_000);
  afterAll(() => tearDownForwarderLab(runDir, lab, namespaces), 60_000);

  test("at rest it runs at real-time priority, bounded by RLIMIT_RTTIME (2 s soft, 3 s hard); refused only for want of permission", () => {
    expect(pid).toBeGreaterThan(1);
    const log = existsSync(paths.log) ? readFileSync(paths.log, "utf8") : "";
    if (log.includes("could not use real-time priority")) {
      // Only a missing permission (no CAP_SYS_NICE, no real-time budget in the cgroup) excuses it.
      expect(log).toContain("Operation not permitted");
      return;
    }
    expect(policy(pid)).toBe(2);
    expect(readFileSync(`/proc/${pid}/limits`, "utf8")).toMatch(/Max realtime timeout\s+2000000\s+3000000\s+us/);
  });

  test("a paced one-way stream steps it down to the normal class; a ping -f takes it back", async () => {
    if (policy(pid) !== 2) return;
    const server = Bun.spawn(["ip", "netns", "exec", ns[1]!, "iperf3", "-s", "-1", "-B", "10.213.9.2"], { stdout: "ignore", stderr: "ignore" });
    try {
      expect(await waitFor(async () => (await inNamespace(ns[1]!, ["ss", "-ltn", "sport = :5201"])).stdout.includes("5201"), 5000)).toBe(true);
      // Paced (not as fast as it can): a real-time loop keeps up with it frame by frame.
      const client = inNamespace(ns[0]!, ["iperf3", "-c", "10.213.9.2", "-u", "-l", "1400", "-b", "100M", "-t", "3"], { timeoutMs: 20_000 });
      const steppedDown = await waitFor(() => policy(pid) === 0, 2500);
      await client;
      expect(steppedDown).toBe(true);
    } finally {
      server.kill("SIGKILL");
      await server.exited;
    }
    const flood = inNamespace(ns[0]!, ["ping", "-q", "-f", "-w", "3", "10.213.9.2"], { timeoutMs: 20_000 });
    const steppedUp = await waitFor(() => policy(pid) === 2, 2500);
    await flood;
    expect(steppedUp).toBe(true);
  }, 60_000);
});

describe.skipIf(!isRoot || !hasVde || !existsSync("/usr/bin/setpriv"))("a forwarder not allowed real-time priority (root without CAP_SYS_NICE)", () => {
  const namespaces = new NamespaceSet();
  const lab = new Lab();
  const runDir = join(lab.dir, "run");
  const paths = forwarderPaths(runDir);
  afterAll(() => tearDownForwarderLab(runDir, lab, namespaces), 60_000);

  test("says so once in its log, runs in the normal class and forwards as before", async () => {
    const sw = await lab.startSwitch("sw");
    mkdirSync(runDir, { recursive: true });
    lab.track(paths.pidfile);
    const ns: string[] = [];
    for (const [index, suffix] of ["a", "b"].entries()) {
      const namespace = await namespaces.add(suffix);
      ns.push(namespace);
      await ip("-n", namespace, "tuntap", "add", "vt0", "mode", "tap");
      await address(namespace, "vt0", `10.213.10.${index + 1}/24`);
      writePortRecord(runDir, { version: 1, kind: "forwarder-port", id: `n${index}`, netns: namespace, tap: "vt0", switchDir: sw, port: 0, reconnect: true, shard: 0 });
    }
    // The forwarder as boot starts it, but with CAP_SYS_NICE out of its reach: it opens the recorded ports.
    const started = await run(["setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice", benitoBinary, "vde", "forwarder", "--run-dir", runDir, "--daemon"], { timeoutMs: 30_000 });
    expect(started.code === 0 ? "" : started.stderr).toBe("");
    const pid = pidIn(paths.pidfile) ?? 0;
    expect(pid).toBeGreaterThan(1);
    expect((await ping(ns[0]!, "10.213.10.2")).code).toBe(0);
    const log = readFileSync(paths.log, "utf8");
    expect(log.split("could not use real-time priority for the forwarding thread: Operation not permitted").length - 1).toBe(1);
    expect(policy(pid)).toBe(0);
  }, 60_000);
});
