// control-bridge in throwaway namespaces: a "boss" and a "pnode" on a veth control link; the pnode never loses boss.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito, run } from "../helpers/binary";
import { inNamespace, ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";

// Real namespaces, switches and processes: each test and hook waits on them (every wait inside is bounded).
setDefaultTimeout(120_000);

const hasVde = Bun.which("vde_switch") !== null;

function topology(): string {
  const attr = (k: string, v: string) => `<attribute><attribute>${k}</attribute><value>${v}</value></attribute>`;
  return `<experiment><version>2.0</version>
  <substrates><name>control_net</name></substrates>
  <elements><computer><name>pnode0</name>
    <interface><substrate>control_net</substrate><name>control</name>${attr("ip4_address", "10.77.0.2")}${attr("ip4_netmask", "255.255.255.0")}</interface>
    ${attr("benito:node_type", "pnode")}</computer></elements>
  <elements><computer><name>vm1</name>
    <interface><substrate>control_net</substrate><name>control</name></interface>
    ${attr("benito:node_type", "qemu")}${attr("benito:host", "pnode0")}${attr("benito:qemu_image", "/nonexistent/base.qcow2")}</computer></elements>
</experiment>`;
}

/** The pnode's addresses and routes as `ip -j` prints them: what must come back byte for byte. */
async function netState(ns: string): Promise<string> {
  // IPv4 only: benito manages IPv4, and IPv6 link-local DAD changes flags on its own schedule.
  return (await ip("-4", "-n", ns, "-j", "addr", "show")) + (await ip("-4", "-n", ns, "-j", "route", "show", "table", "all"));
}

describe.skipIf(!isRoot)("control-bridge (root, namespaces)", () => {
  const namespaces = new NamespaceSet();
  let boss = "";
  let pnode = "";
  let dir = "";
  let config = "";
  let runDir = "";
  let pristine = "";

  beforeAll(async () => {
    boss = await namespaces.add("boss");
    pnode = await namespaces.add("pn");
    await namespaces.veth(boss, "ctl0", pnode, "eth0");
    await ip("-n", boss, "addr", "add", "10.77.0.1/24", "dev", "ctl0");
    await ip("-n", boss, "link", "set", "ctl0", "up");
    await ip("-n", pnode, "addr", "add", "10.77.0.2/24", "dev", "eth0");
    await ip("-n", pnode, "link", "set", "eth0", "up");
    await ip("-n", pnode, "route", "add", "default", "via", "10.77.0.1", "dev", "eth0", "metric", "5");
    await ip("-n", pnode, "route", "add", "10.78.0.0/16", "via", "10.77.0.1", "dev", "eth0", "proto", "static", "src", "10.77.0.2");
    dir = mkdtempSync(join(tmpdir(), `${namespaces.prefix}-`));
    config = join(dir, "config");
    runDir = join(dir, "run");
    mkdirSync(config);
    writeFileSync(join(config, "topo.xml"), topology());
    writeFileSync(join(config, "site.conf"), "control_pool = 10.77.0.0/24\ncontrol_mac_prefix = 02:be:c0\n[benito]\ncontrol_bridge = br-ctl\n");
    pristine = await netState(pnode);
  });

  afterAll(async () => {
    await namespaces.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a failure in the middle of the move restores the pnode exactly", async () => {
    // A dummy link already holds the control TAP's name: attaching the TAP fails after the addresses moved.
    await ip("-n", pnode, "link", "add", "bc-vm1", "type", "veth", "peer", "name", "bc-vm1-peer");
    const before = await netState(pnode);
    const result = await inNamespace(pnode, [process.env.BENITO_BIN ?? join(import.meta.dir, "../../build/benito"), "control-bridge", "up", config, "pnode0", "--run-dir", runDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not a TAP");
    expect(result.stderr).toContain("the previous state was restored");
    expect(await netState(pnode)).toBe(before);
    expect(existsSync(join(runDir, "ledger"))).toBe(false);
    await ip("-n", pnode, "link", "del", "bc-vm1");
    expect(await netState(pnode)).toBe(pristine);
  });

  test("up killed right after the NIC moved under the bridge: down restores the pnode exactly; up killed again, then up converges", async () => {
    const up = (env: Record<string, string> = {}) => inNamespace(pnode, [binary(), "control-bridge", "up", config, "pnode0", "--run-dir", runDir], { env });
    const crashAt = { BENITO_FAILPOINT: "control-bridge:control:step:attach eth0 to br-ctl" };
    expect((await up(crashAt)).code).not.toBe(0);
    expect(await ip("-n", pnode, "-d", "link", "show", "eth0")).toContain("master br-ctl");
    const status = await inNamespace(pnode, [binary(), "control-bridge", "status", config, "pnode0", "--run-dir", runDir]);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain("DRIFT control-bridge: the move of eth0 under br-ctl was cut short");
    const down = await inNamespace(pnode, [binary(), "control-bridge", "down", "--run-dir", runDir]);
    expect({ code: down.code, err: down.code === 0 ? "" : down.stderr }).toEqual({ code: 0, err: "" });
    expect(await netState(pnode)).toBe(pristine);
    expect((await ip("-n", pnode, "-o", "link", "show")).includes("br-ctl")).toBe(false);
    expect(existsSync(join(runDir, "ledger"))).toBe(false);
    // Killed again; this time up itself picks up the pieces: the half-done move undone, then made.
    expect((await up(crashAt)).code).not.toBe(0);
    const again = await up();
    expect({ code: again.code, err: again.code === 0 ? "" : again.stderr }).toEqual({ code: 0, err: "" });
    expect(await ip("-n", pnode, "route", "show", "default")).toContain("dev br-ctl");
    expect(JSON.parse(await ip("-n", pnode, "-j", "addr", "show", "eth0"))[0].addr_info.filter((a: { family: string }) => a.family === "inet")).toEqual([]);
    expect((await inNamespace(pnode, [binary(), "control-bridge", "down", "--run-dir", runDir])).code).toBe(0);
    expect(await netState(pnode)).toBe(pristine);
  });

  test("up killed at every failpoint of the move: down restores the pnode exactly; up after such a crash ends as a clean up does", async () => {
    const up = (env: Record<string, string> = {}) => inNamespace(pnode, [binary(), "control-bridge", "up", config, "pnode0", "--run-dir", runDir], { env });
    const down = () => inNamespace(pnode, [binary(), "control-bridge", "down", "--run-dir", runDir]);
    // The bridge is made afresh each time: its interface index differs, nothing else may.
    const bridgedState = async () => (await netState(pnode)).replace(/"ifindex":\d+/g, '"ifindex":0');
    const trace = join(dir, "control-bridge-failpoints");
    expect((await up({ BENITO_FAILPOINT_TRACE: trace })).code).toBe(0);
    const bridged = await bridgedState();
    expect((await down()).code).toBe(0);
    const points = [...new Set(readFileSync(trace, "utf8").split("\n").filter((line) => line.startsWith("control-bridge:")))];
    expect(points.length).toBeGreaterThanOrEqual(8);
    const failures: string[] = [];
    for (const point of points) {
      if ((await up({ BENITO_FAILPOINT: point })).code === 0) failures.push(`${point}: up was not killed there`);
      const restored = await down();
      if (restored.code !== 0 || (await netState(pnode)) !== pristine) failures.push(`${point}: down exited ${restored.code} and left ${await netState(pnode)}`);
      await up({ BENITO_FAILPOINT: point });
      const again = await up();
      if (again.code !== 0 || (await bridgedState()) !== bridged) failures.push(`${point}: up after the crash exited ${again.code}: ${again.stderr.trim().split("\n").at(-1)}`);
      if ((await down()).code !== 0 || (await netState(pnode)) !== pristine) failures.push(`${point}: down after that left ${await netState(pnode)}`);
    }
    expect(failures).toEqual([]);
  });

  test("up killed before the move touched the NIC: down and up leave the NIC's addresses and other routes alone", async () => {
    const up = (env: Record<string, string> = {}) => inNamespace(pnode, [binary(), "control-bridge", "up", config, "pnode0", "--run-dir", runDir], { env });
    const down = () => inNamespace(pnode, [binary(), "control-bridge", "down", "--run-dir", runDir]);
    const crashAt = { BENITO_FAILPOINT: "control-bridge:control:intent" };
    // An operator's route added after the crash: not in the record, and the NIC was never moved.
    const operatorRoute = ["10.79.0.0/16", "via", "10.77.0.1", "dev", "eth0"];
    for (const finish of ["down", "up"] as const) {
      expect((await up(crashAt)).code).not.toBe(0);
      await ip("-n", pnode, "route", "add", ...operatorRoute);
      const result = finish === "down" ? await down() : await up();
      expect({ finish, code: result.code, err: result.code === 0 ? "" : result.stderr }).toEqual({ finish, code: 0, err: "" });
      expect({ finish, log: result.stderr }).toEqual({ finish, log: expect.not.stringContaining("give eth0 back") });
      if (finish === "up") expect((await down()).code).toBe(0);
      expect(await ip("-n", pnode, "route", "show", "10.79.0.0/16")).toContain("via 10.77.0.1 dev eth0");
      await ip("-n", pnode, "route", "del", ...operatorRoute);
      expect(await netState(pnode)).toBe(pristine);
    }
    expect(existsSync(join(runDir, "ledger"))).toBe(false);
  });

  test("up killed between making a control TAP and recording it: down still deletes it, with or without an earlier record", async () => {
    const up = (env: Record<string, string> = {}) => inNamespace(pnode, [binary(), "control-bridge", "up", config, "pnode0", "--run-dir", runDir], { env });
    const down = () => inNamespace(pnode, [binary(), "control-bridge", "down", "--run-dir", runDir]);
    const hasTap = async () => (await ip("-n", pnode, "-o", "link", "show")).includes("bc-vm1");
    const crashAt = { BENITO_FAILPOINT: "control-bridge:control:tap:bc-vm1" };
    // The TAP is the operator's at the move (not recorded); gone later, so the next up makes it.
    await ip("-n", pnode, "tuntap", "add", "bc-vm1", "mode", "tap");
    expect((await up()).code).toBe(0);
    await ip("-n", pnode, "link", "del", "bc-vm1");
    expect((await up(crashAt)).code).not.toBe(0);
    expect(await hasTap()).toBe(true);
    // The record lost as well (the bridge in place, no record): what up makes is still recorded.
    const recordFile = join(runDir, "ledger", "control-bridge.control.json");
    const kept = readFileSync(recordFile, "utf8");
    rmSync(recordFile);
    await ip("-n", pnode, "link", "del", "bc-vm1");
    expect((await up(crashAt)).code).not.toBe(0);
    expect(await hasTap()).toBe(true);
    const adoptedDown = await down();
    expect({ code: adoptedDown.code, err: adoptedDown.code === 0 ? "" : adoptedDown.stderr }).toEqual({ code: 0, err: "" });
    expect(await hasTap()).toBe(false);
    expect(await ip("-n", pnode, "-d", "link", "show", "eth0")).toContain("master br-ctl");
    // The move's own record back: a TAP made and killed before its record was updated.
    mkdirSync(join(runDir, "ledger"), { recursive: true });
    writeFileSync(recordFile, kept);
    expect((await up(crashAt)).code).not.toBe(0);
    const restored = await down();
    expect({ code: restored.code, err: restored.code === 0 ? "" : restored.stderr }).toEqual({ code: 0, err: "" });
    expect(await hasTap()).toBe(false);
    expect(await netState(pnode)).toBe(pristine);
    expect(existsSync(join(runDir, "ledger"))).toBe(false);
  });

  test("dry run prints the move and changes nothing", async () => {
    const result = await inNamespace(pnode, [binary(), "control-bridge", "up", "--dry-run", config, "pnode0", "--run-dir", runDir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("ip link set eth0 master br-ctl");
    expect(result.stdout).toContain("ip route replace default via 10.77.0.1 dev br-ctl");
    expect(await netState(pnode)).toBe(pristine);
  });

  test("up keeps the pnode's ping to boss going, and moves addresses and routes", async () => {
    const pinger = Bun.spawn(["ip", "netns", "exec", pnode, "ping", "-n", "-i", "0.02", "-c", "150", "-W", "1", "10.77.0.1"], { stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(300);
    const result = await inNamespace(pnode, [binary(), "control-bridge", "up", config, "pnode0", "--run-dir", runDir]);
    expect(result.stderr).not.toContain("internal error");
    expect(result.code).toBe(0);
    const output = await new Response(pinger.stdout).text();
    await pinger.exited;
    const received = Number(/(\d+) received/.exec(output)?.[1] ?? 0);
    expect(received).toBeGreaterThanOrEqual(148);
    const addr = JSON.parse(await ip("-n", pnode, "-j", "addr", "show", "br-ctl"));
    expect(addr[0].addr_info.map((a: { local: string }) => a.local)).toContain("10.77.0.2");
    expect(await ip("-n", pnode, "route", "show", "default")).toContain("dev br-ctl");
    expect(await ip("-n", pnode, "route", "show", "10.78.0.0/16")).toContain("dev br-ctl proto static src 10.77.0.2");
    expect(await ip("-n", pnode, "-d", "link", "show", "bc-vm1")).toContain("master br-ctl");
  });

  test("up again changes nothing", async () => {
    const before = await netState(pnode);
    const result = await inNamespace(pnode, [binary(), "control-bridge", "up", config, "pnode0", "--run-dir", runDir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("nothing changed");
    expect(await netState(pnode)).toBe(before);
  });

  test.skipIf(!hasVde)("a VM stand-in on the control TAP, with its allocated address, is reachable from boss", async () => {
    const leases = await benito(["control-net", "allocate", "--json", "--host", "pnode0", "--run-dir", runDir, config]);
    expect(leases.code).toBe(0);
    const lease = JSON.parse(leases.stdout)[0];
    expect(lease.node).toBe("vm1");
    expect(lease.address).not.toBe("10.77.0.2");
    const vmns = await namespaces.add("vm");
    const sw = join(dir, "sw");
    const pids = [join(dir, "switch.pid"), join(dir, "plug-host.pid"), join(dir, "plug-vm.pid")];
    try {
      const started = await run(["vde_switch", "-s", sw, "-d", "-p", pids[0] as string]);
      expect(started.code).toBe(0);
      expect((await inNamespace(pnode, [binary(), "vde", "plug", "--switch", sw, "--tap", "bc-vm1", "--daemon", "--pidfile", pids[1] as string])).code).toBe(0);
      expect((await inNamespace(vmns, [binary(), "tap", "create", "eth0", "--mac", lease.mac])).code).toBe(0);
      expect((await inNamespace(vmns, [binary(), "vde", "plug", "--switch", sw, "--tap", "eth0", "--daemon", "--pidfile", pids[2] as string])).code).toBe(0);
      await ip("-n", vmns, "addr", "add", `${lease.address}/${lease.prefixLength}`, "dev", "eth0");
      await ip("-n", vmns, "link", "set", "eth0", "up");
      const ping = await inNamespace(boss, ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", lease.address]);
      expect(ping.stdout).toMatch(/[123] received/);
    } finally {
      for (const pidfile of pids.reverse()) {
        if (!existsSync(pidfile)) continue;
        const pid = Number(readFileSync(pidfile, "utf8").trim());
        if (pid > 1) {
          try {
            process.kill(pid, "SIGTERM");
          } catch {
            // Already gone.
          }
        }
      }
      await Bun.sleep(300);
    }
  });

  test("down restores the pre-bridge state byte for byte", async () => {
    const result = await inNamespace(pnode, [binary(), "control-bridge", "down", "--run-dir", runDir]);
    expect(result.code).toBe(0);
    expect(await netState(pnode)).toBe(pristine);
    expect(existsSync(join(runDir, "ledger"))).toBe(false);
  });
});

function binary(): string {
  return process.env.BENITO_BIN ?? join(import.meta.dir, "../../build/benito");
}
