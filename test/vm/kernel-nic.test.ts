// A real QEMU guest (TCG) on the kernel datapath: its NIC is a TAP on the LAN's bridge in a pnode namespace; ledger, status, repair of a deleted TAP, down.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGuest, findCloudKernel } from "../../scripts/build-guest";
import { kernelBridgeName, kernelIfbName, kernelPortName } from "../../src/plan/datapath-plan";
import { namespaceName } from "../../src/platforms/names";
import { benitoBinary, run } from "../helpers/binary";
import { NamespaceSet, ping } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { alive, pidfiles, pidIn, signalPid } from "../helpers/processes";
import { topology, waitForSerial } from "./fixture";
import { readUntil } from "../helpers/streams";

// One guest boots twice under TCG (launch, then the repair): every wait inside is bounded.
setDefaultTimeout(240_000);

const missing = [
  Bun.which("qemu-system-x86_64") === null ? "qemu-system-x86_64 (qemu-system-x86)" : "",
  Bun.which("qemu-img") === null ? "qemu-img (qemu-utils)" : "",
  Bun.which("tc") === null ? "tc (iproute2)" : "",
  Bun.which("nsenter") === null ? "nsenter (util-linux)" : "",
  findCloudKernel() === undefined ? "/boot/vmlinuz-*-cloud-amd64 (linux-image-cloud-amd64)" : "",
  existsSync("/bin/busybox") ? "" : "/bin/busybox (busybox-static)",
].filter((what) => what !== "");
if (isRoot && missing.length > 0) console.warn(`SKIPPED: QEMU on the kernel datapath: missing ${missing.join(", ")}`);

interface LinkJson {
  readonly ifname: string;
  readonly flags: readonly string[];
  readonly master?: string;
  readonly ifalias?: string;
  readonly linkinfo?: { readonly info_kind?: string };
}

describe.skipIf(!isRoot || missing.length > 0)("a QEMU vnode on the kernel datapath (root, TCG guest, pnode in its own namespace)", () => {
  const set = new NamespaceSet();
  const p = set.prefix;
  const vm = `${p}v`;
  const proc = `${p}q`;
  let pnodeNs = "";
  let base = "";
  let config = "";
  let runDir = "";
  const tap = () => kernelPortName(vm, "inf000", runDir);
  const bridge = () => kernelBridgeName("lan0", runDir);
  const serialLog = () => join(runDir, "vm", vm, "serial.log");
  /** benito inside the pnode's network namespace only (nsenter --net): the vnodes' namespaces it names stay visible to the test. */
  const inPnode = (args: readonly string[], timeoutMs = 120_000) => run(["nsenter", `--net=/run/netns/${pnodeNs}`, benitoBinary, ...args], { timeoutMs });
  const boot = () => inPnode(["boot", "--run-dir", runDir, "--log-file", join(base, "boot.log"), config, "pnode0"], 150_000);
  const status = () => inPnode(["status", "--run-dir", runDir, config, "pnode0"]);
  const link = async (name: string): Promise<LinkJson | undefined> => {
    const result = await run(["ip", "-n", pnodeNs, "-d", "-j", "link", "show", name]);
    if (result.code !== 0) return undefined;
    const parsed = JSON.parse(result.stdout) as LinkJson[];
    return parsed[0];
  };
  const tbfOn = async (device: string) => (await run(["tc", "-n", pnodeNs, "qdisc", "show", "dev", device])).stdout;
  const qemuPid = () => pidIn(join(runDir, "vm", vm, "qemu.pid"));

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), `${p}-kvm-`));
    config = join(base, "config");
    runDir = join(base, "run");
    mkdirSync(config, { recursive: true });
    pnodeNs = await set.add("p");
    const guest = buildGuest({ benito: benitoBinary, outDir: base });
    const image = join(base, "base.qcow2");
    const created = await run(["qemu-img", "create", "-q", "-f", "qcow2", image, "16M"]);
    if (created.code !== 0) throw new Error(created.stderr);
    const attributes = {
      "benito:qemu_image": image,
      "benito:qemu_memory": "512",
      "benito:qemu_kernel": guest.kernel,
      "benito:qemu_initrd": guest.initrd,
      "benito:qemu_append": "console=ttyS0 panic=-1 quiet benito.ping=10.216.0.2",
    };
    // The switch attributes are left in on purpose: a kernel LAN ignores them. lan0 gets a capacity (tbf both ways).
    const xml = topology(join(base, "no-switch"), [
      { name: vm, type: "qemu", address: "10.216.0.1", mac: "02:00:0a:d8:00:01", port: 1, attributes },
      { name: proc, type: "process", address: "10.216.0.2", mac: "02:00:0a:d8:00:02", port: 2 },
    ]).replace("<substrates><name>lan0</name></substrates>", "<substrates><name>lan0</name><capacity><rate>50000</rate><kind>max</kind></capacity></substrates>");
    writeFileSync(join(config, "topo.xml"), xml);
    writeFileSync(join(config, "site.conf"), "[benito]\ndatapath = kernel\n");
  }, 60_000);

  afterAll(async () => {
    if (pnodeNs !== "") await inPnode(["down", "--run-dir", runDir, "--log-file", join(base, "boot.log"), config, "pnode0"], 60_000);
    // Whatever a failed down left (QEMU, a helper), by its pidfile; links die with the pnode's namespace.
    for (const pidfile of pidfiles(runDir)) {
      const pid = pidIn(pidfile);
      if (pid !== undefined && alive(pid)) signalPid(pid, "SIGKILL");
    }
    await run(["ip", "netns", "del", namespaceName(proc)]);
    await set.cleanup();
    rmSync(base, { recursive: true, force: true });
  }, 120_000);

  test("killed between making the VM's TAP and marking it (failpoint): no TAP is left, so the next boot is not refused", async () => {
    expect((await inPnode(["switch", "up", "--run-dir", runDir, config, "pnode0"])).code).toBe(0);
    const crashed = await run(["nsenter", `--net=/run/netns/${pnodeNs}`, benitoBinary, "vm", "launch", vm, config, "--run-dir", runDir, "--accel", "tcg"], { env: { BENITO_FAILPOINT: `kernel-tap:${tap()}:made`, BENITO_FAILPOINT_TRACE: join(base, "trace") }, timeoutMs: 60_000 });
    expect(crashed.code).not.toBe(0);
    // It died there: the last failpoint it reached is the armed one.
    expect(readFileSync(join(base, "trace"), "utf8").trim().split("\n").at(-1)).toBe(`kernel-tap:${tap()}:made`);
    expect(await link(tap())).toBeUndefined();
    expect(qemuPid()).toBeUndefined();
  });

  test("boot: the VM's NIC is a marked TAP on the LAN's bridge, up and shaped; the guest and a process vnode ping each other; capture reads the TAP; the ledger records it", async () => {
    const booted = await boot();
    expect(`${booted.stdout}${booted.stderr}`).not.toContain("internal error");
    expect({ code: booted.code, status: booted.code === 0 ? "" : readFileSync(join(runDir, "status.json"), "utf8") }).toEqual({ code: 0, status: "" });
    const nic = await link(tap());
    expect(nic?.linkinfo?.info_kind).toBe("tun");
    expect(nic?.master).toBe(bridge());
    expect(nic?.flags).toContain("UP");
    expect(nic?.ifalias).toBe("benito-dp lan0");
    // No VDE anywhere: no switch was started, no forwarder port recorded.
    expect(existsSync(join(base, "no-switch"))).toBe(false);
    expect(existsSync(join(runDir, "forwarder"))).toBe(false);
    // Capacity both ways: tbf on the TAP (LAN → VM), the IFB its ingress is redirected to (VM → LAN).
    expect(await tbfOn(tap())).toContain("tbf");
    expect(await tbfOn(kernelIfbName(vm, "inf000", runDir))).toContain("tbf");
    const serial = await waitForSerial(serialLog(), /BENITO-PING-(OK|FAIL) 10\.216\.0\.2/, 150_000);
    expect(serial).toContain(`BENITO-GUEST configured as ${vm}`);
    expect(serial).toContain("BENITO-PING-OK 10.216.0.2");
    expect((await ping(namespaceName(proc), "10.216.0.1", 2)).ok).toBe(true);
    // benito capture finds the VM's NIC on the kernel LAN: its TAP on the bridge.
    const capture = Bun.spawn(["nsenter", `--net=/run/netns/${pnodeNs}`, benitoBinary, "capture", "--config", config, "--run-dir", runDir, "--host", "pnode0", `${vm}:inf000`, "-c", "2", "--duration", "20"], { stdout: "pipe", stderr: "pipe" });
    const { seen: said } = await readUntil(capture.stderr, "listening on");
    expect(said).toContain(`listening on ${tap()}`);
    await ping(namespaceName(proc), "10.216.0.1", 2);
    const frames = await new Response(capture.stdout).text();
    await capture.exited;
    expect(frames).toContain("10.216.0.2 > 10.216.0.1 ICMP echo request");
    // The ledger's vnode record carries the TAP's (and IFB's) removal: down works from it, whatever topo.xml says later.
    const record = readdirSync(join(runDir, "ledger")).find((name) => name.startsWith("vnode.") && name.includes(vm));
    const teardown = (JSON.parse(readFileSync(join(runDir, "ledger", record ?? "none"), "utf8")) as { data: { teardown: { kind: string; name?: string }[] } }).data.teardown;
    expect(teardown.filter((step) => step.kind === "link.delete").map((step) => step.name)).toEqual(expect.arrayContaining([tap(), kernelIfbName(vm, "inf000", runDir)]));
    const healthy = await status();
    expect({ code: healthy.code, out: healthy.code === 0 ? "" : healthy.stdout }).toEqual({ code: 0, out: "" });
  });

  test("a TAP deleted behind benito's back is drift; boot makes it again on the bridge, shaped, and restarts that VM on the same disk overlay", async () => {
    const before = { pid: qemuPid(), overlay: statSync(join(runDir, "vm", vm, "disk.qcow2")).ino };
    expect((await run(["ip", "-n", pnodeNs, "link", "del", tap()])).code).toBe(0);
    const drifted = await status();
    expect(drifted.code).toBe(1);
    expect(drifted.stdout).toContain(`${tap()} is missing`);
    const repaired = await boot();
    expect({ code: repaired.code, status: repaired.code === 0 ? "" : readFileSync(join(runDir, "status.json"), "utf8") }).toEqual({ code: 0, status: "" });
    const nic = await link(tap());
    expect(nic?.master).toBe(bridge());
    expect(nic?.flags).toContain("UP");
    expect(await tbfOn(tap())).toContain("tbf");
    expect(qemuPid()).not.toBe(before.pid);
    expect(before.pid !== undefined && alive(before.pid)).toBe(false);
    expect(statSync(join(runDir, "vm", vm, "disk.qcow2")).ino).toBe(before.overlay);
    const serial = await waitForSerial(serialLog(), /BENITO-PING-(OK|FAIL) 10\.216\.0\.2/, 150_000);
    expect(serial).toContain("BENITO-PING-OK 10.216.0.2");
    expect((await ping(namespaceName(proc), "10.216.0.1", 2)).ok).toBe(true);
    expect((await status()).code).toBe(0);
  });

  test("down leaves nothing: no QEMU, no TAP, IFB or bridge, no run state", async () => {
    const pid = qemuPid();
    const down = await inPnode(["down", "--run-dir", runDir, "--log-file", join(base, "boot.log"), config, "pnode0"], 60_000);
    expect(down.code).toBe(0);
    expect(pid !== undefined && alive(pid)).toBe(false);
    for (const name of [tap(), kernelIfbName(vm, "inf000", runDir), bridge()]) expect(await link(name)).toBeUndefined();
    const left = (await run(["ip", "-n", pnodeNs, "-o", "link", "show"])).stdout.trim().split("\n");
    expect(left.length).toBe(1);
    expect(left[0]).toContain("lo:");
    expect(pidfiles(runDir)).toEqual([]);
    expect(existsSync(join(runDir, "ledger"))).toBe(false);
    expect(existsSync(join(runDir, "vm", vm))).toBe(false);
  });
});
