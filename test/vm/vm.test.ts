// Real VMs under TCG (root): two guests carrying the compiled benito ping each other over one vde_switch, a process vnode joins, stop cleans up.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGuest, findCloudKernel, type Guest } from "../../scripts/build-guest";
import { namespaceName } from "../../src/platforms/names";
import { benito, benitoBinary, run } from "../helpers/binary";
import { uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { pidfiles, pidIn, signalPid } from "../helpers/processes";
import { alive, startSwitch, stopSwitch, topology, type TestSwitch, waitForSerial } from "./fixture";
import { vmNicLinkNames } from "../../src/platforms/names";

const missing = [
  Bun.which("qemu-system-x86_64") === null ? "qemu-system-x86_64 (qemu-system-x86)" : "",
  Bun.which("qemu-img") === null ? "qemu-img (qemu-utils)" : "",
  Bun.which("vde_switch") === null ? "vde_switch (vde2)" : "",
  findCloudKernel() === undefined ? "/boot/vmlinuz-*-cloud-amd64 (linux-image-cloud-amd64)" : "",
  existsSync("/bin/busybox") ? "" : "/bin/busybox (busybox-static)",
].filter((what) => what !== "");
if (isRoot && missing.length > 0) console.warn(`SKIPPED: VM tests: missing ${missing.join(", ")}`);

describe.skipIf(!isRoot || missing.length > 0)("qemu platform (live, TCG)", () => {
  const prefix = uniquePrefix();
  const vmA = `${prefix}va`;
  const vmB = `${prefix}vb`;
  const proc = `${prefix}p`;
  let base = "";
  let configDir = "";
  let runDir = "";
  let sw: TestSwitch | undefined;
  let guest: Guest | undefined;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "benito-vm-"));
    configDir = join(base, "config");
    runDir = join(base, "run");
    mkdirSync(join(configDir, "route"), { recursive: true });
    guest = buildGuest({ benito: benitoBinary, outDir: base });
    const image = join(base, "base.qcow2");
    const created = await run(["qemu-img", "create", "-q", "-f", "qcow2", image, "16M"]);
    if (created.code !== 0) throw new Error(created.stderr);
    // vm-a gets a route file: `benito routes` runs inside that guest too.
    writeFileSync(join(configDir, "route", vmA), "10.215.0.0/24 via 10.214.0.2\n");
    sw = await startSwitch(base);
    const vm = (peers: string, extra: Record<string, string> = {}) => ({
      ...extra,
      "benito:qemu_image": image,
      "benito:qemu_memory": "512",
      "benito:qemu_kernel": guest!.kernel,
      "benito:qemu_initrd": guest!.initrd,
      "benito:qemu_append": `console=ttyS0 panic=-1 quiet benito.ping=${peers}`,
    });
    writeFileSync(
      join(configDir, "topo.xml"),
      topology(sw.dir, [
        { name: vmA, type: "qemu", address: "10.214.0.1", mac: "02:00:0a:d6:00:01", port: 1, attributes: vm("10.214.0.2,10.214.0.3") },
        // vm-b's NIC is a TAP plugged by benito (benito:qemu_nic = tap); vm-a's uses QEMU's VDE backend.
        { name: vmB, type: "qemu", address: "10.214.0.2", mac: "02:00:0a:d6:00:02", port: 2, attributes: vm("10.214.0.1", { "benito:qemu_nic": "tap" }) },
        { name: proc, type: "process", address: "10.214.0.3", mac: "02:00:0a:d6:00:03", port: 3 },
      ]),
    );
  }, 60_000);

  afterAll(async () => {
    for (const node of [vmA, vmB, proc]) await benito(["vm", "stop", node, configDir, "--run-dir", runDir], { timeoutMs: 40_000 });
    // Whatever a failed stop left (QEMU, the forwarder), by its pidfile, before the run dir goes.
    for (const pidfile of pidfiles(runDir)) {
      const pid = pidIn(pidfile);
      if (pid !== undefined && alive(pid)) signalPid(pid, "SIGKILL");
    }
    await run(["ip", "netns", "del", namespaceName(proc)]);
    await stopSwitch(sw);
    rmSync(base, { recursive: true, force: true });
  }, 120_000);

  test("two VMs configured by benito inside the guests ping each other; a process vnode pings a VM", async () => {
    const launchedProc = await benito(["vm", "launch", proc, configDir, "--run-dir", runDir]);
    expect(launchedProc.code).toBe(0);
    for (const node of [vmA, vmB]) {
      const launched = await benito(["vm", "launch", node, configDir, "--run-dir", runDir, "--accel", "tcg"], { timeoutMs: 60_000 });
      expect(launched.stderr).toBe("");
      expect(launched.code).toBe(0);
    }
    const logA = join(runDir, "vm", vmA, "serial.log");
    const logB = join(runDir, "vm", vmB, "serial.log");
    const serialB = await waitForSerial(logB, /BENITO-PING-(OK|FAIL) 10\.214\.0\.1/, 120_000);
    expect(serialB).toContain(`BENITO-GUEST configured as ${vmB}`);
    expect(serialB).toContain("BENITO-PING-OK 10.214.0.1");
    const serialA = await waitForSerial(logA, /BENITO-PING-(OK|FAIL) 10\.214\.0\.3/, 60_000);
    expect(serialA).toContain("BENITO-PING-OK 10.214.0.2");
    expect(serialA).toContain("BENITO-PING-OK 10.214.0.3");
    expect(serialA).toContain("benito ifaces: 1 configured");
    expect(serialA).toContain("benito routes: 1 added");
    expect(serialA).toContain("10.215.0.0/24 via 10.214.0.2 dev eth0");
    expect(serialA).not.toContain("BENITO-GUEST-FAIL");
    const fromProcess = await run(["ip", "netns", "exec", namespaceName(proc), "ping", "-c", "1", "-W", "3", "10.214.0.2"], { timeoutMs: 10_000 });
    expect(fromProcess.code).toBe(0);
    const status = await benito(["vm", "status", vmA, configDir, "--run-dir", runDir]);
    expect(status.stdout).toContain("guest: running");
    expect(status.code).toBe(0);
    // A second launch converges: the running VM and its overlay are kept as they are.
    const overlay = join(runDir, "vm", vmA, "disk.qcow2");
    const pidfile = join(runDir, "vm", vmA, "qemu.pid");
    const before = { inode: statSync(overlay).ino, pid: readFileSync(pidfile, "utf8").trim() };
    const again = await benito(["vm", "launch", vmA, configDir, "--run-dir", runDir, "--accel", "tcg"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("kept the existing disk overlay");
    expect({ inode: statSync(overlay).ino, pid: readFileSync(pidfile, "utf8").trim() }).toEqual(before);
    expect((await benito(["vm", "status", vmA, configDir, "--run-dir", runDir])).code).toBe(0);
    // QEMU killed behind benito's back: status says so; a relaunch starts it on the same overlay (the guest's disk survives).
    signalPid(Number(before.pid), "SIGKILL");
    for (let waited = 0; alive(Number(before.pid)) && waited < 5_000; waited += 50) await Bun.sleep(50);
    expect((await benito(["vm", "status", vmA, configDir, "--run-dir", runDir])).code).toBe(1);
    const relaunched = await benito(["vm", "launch", vmA, configDir, "--run-dir", runDir, "--accel", "tcg"], { timeoutMs: 60_000 });
    expect(relaunched.code).toBe(0);
    expect(statSync(overlay).ino).toBe(before.inode);
    expect(readFileSync(pidfile, "utf8").trim()).not.toBe(before.pid);
    expect((await benito(["vm", "status", vmA, configDir, "--run-dir", runDir])).stdout).toContain("guest: running");
  }, 200_000);

  test("vm stop powers the guest off and leaves no process, socket or overlay behind", async () => {
    const dir = join(runDir, "vm", vmB);
    const pid = Number(readFileSync(join(dir, "qemu.pid"), "utf8").trim());
    expect(alive(pid)).toBe(true);
    const stopped = await benito(["vm", "stop", vmB, configDir, "--run-dir", runDir], { timeoutMs: 40_000 });
    expect(stopped.code).toBe(0);
    // The guest's acpid handled the ACPI power button that QMP system_powerdown pressed.
    expect(stopped.stdout).toContain("# the guest powered off");
    expect(alive(pid)).toBe(false);
    for (const file of ["qmp.sock", "serial.sock", "disk.qcow2", "config.tar", "qemu.pid"]) expect(existsSync(join(dir, file))).toBe(false);
    expect(existsSync(dir)).toBe(false);
    // Its TAP-mode NIC's links (QEMU's TAP, the plug's TAP, their bridge) are gone too.
    const links = vmNicLinkNames(vmB, 0);
    for (const name of [links.qemuTap, links.plugTap, links.bridge]) expect(existsSync(`/sys/class/net/${name}`)).toBe(false);
    const status = await benito(["vm", "status", vmB, configDir, "--run-dir", runDir]);
    expect(status.code).toBe(1);
  }, 60_000);
});
