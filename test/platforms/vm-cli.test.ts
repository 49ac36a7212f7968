// `benito vm` without root: dry runs print the plan, bad node types and attributes are input errors, the KVM probe answers in time.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeKvm } from "../../src/system/kvm";
import { benito } from "../helpers/binary";
import { topology } from "../vm/fixture";

const dir = mkdtempSync(join(tmpdir(), "benito-vmcli-"));
const configDir = join(dir, "config");
mkdirSync(configDir, { recursive: true });
writeFileSync(
  join(configDir, "topo.xml"),
  topology("/run/vde/lan0", [
    { name: "vm1", type: "qemu", address: "10.0.0.1", mac: "02:00:0a:00:00:01", port: 1, attributes: { "benito:qemu_image": "/images/base.qcow2" } },
    { name: "noimage", type: "qemu", address: "10.0.0.2", mac: "02:00:0a:00:00:02", port: 2 },
    { name: "p1", type: "process", address: "10.0.0.3", mac: "02:00:0a:00:00:03", port: 3, startup: "/bin/sh -c 'echo hi'" },
  ]).replace(
    "</experiment>",
    `  <elements><computer><name>ct1</name><attribute><attribute>benito:node_type</attribute><value>openvz</value></attribute></computer></elements>
  <elements><computer><name>x1</name><attribute><attribute>benito:node_type</attribute><value>xen</value></attribute></computer></elements>
  <elements><computer><name>ctlvm</name><interface><substrate>control_net</substrate><name>control</name></interface>
    <attribute><attribute>benito:node_type</attribute><value>qemu</value></attribute><attribute><attribute>benito:host</attribute><value>pnode0</value></attribute>
    <attribute><attribute>benito:qemu_image</attribute><value>/images/base.qcow2</value></attribute></computer></elements>
  <substrates><name>control_net</name></substrates>
</experiment>`,
  ),
);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasQemu = Bun.which("qemu-system-x86_64") !== null;

describe("benito vm (no root)", () => {
  test("launch --dry-run prints the plan: overlay, config disk, QEMU argv under --run-dir", async () => {
    const result = await benito(["vm", "launch", "vm1", configDir, "--run-dir", join(dir, "run"), "--accel", "tcg", "--dry-run"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("# launch vm1 on qemu (TCG)");
    expect(result.stdout).toContain(`qemu-img create -q -f qcow2 -F qcow2 -b /images/base.qcow2 ${join(dir, "run", "vm", "vm1", "disk.qcow2")}`);
    expect(result.stdout).toContain("-accel tcg -cpu max");
    expect(result.stdout).toContain("-netdev vde,id=net0,sock=/run/vde/lan0,port=1");
  });

  test("a control NIC without a MAC in topo.xml gets the MAC control-net allocate recorded", async () => {
    const runDir = join(dir, "run-lease");
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, "control-leases.json"), JSON.stringify([{ node: "ctlvm", address: "172.30.0.9", prefixLength: 16, mac: "02:be:c0:00:00:09", source: "pool" }]));
    const result = await benito(["vm", "launch", "ctlvm", configDir, "--run-dir", runDir, "--accel", "tcg", "--dry-run"]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("netdev=control,mac=02:be:c0:00:00:09");
    const without = await benito(["vm", "launch", "ctlvm", configDir, "--run-dir", join(dir, "run"), "--accel", "tcg", "--dry-run"]);
    expect(without.stdout).not.toContain("02:be:c0:00:00:09");
  });

  test("stop --dry-run prints powerdown then removal of every file", async () => {
    const result = await benito(["vm", "stop", "vm1", configDir, "--run-dir", join(dir, "run"), "--dry-run"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("system_powerdown");
    expect(result.stdout).toContain(`rm -f ${join(dir, "run", "vm", "vm1", "disk.qcow2")}`);
    expect(result.stdout).toContain(`rmdir ${join(dir, "run", "vm", "vm1")}`);
  });

  test("boot finds a QEMU NIC on a VDE LAN without its switch port before any change (exit 3, file:line, path)", async () => {
    const folder = join(dir, "noport");
    mkdirSync(folder, { recursive: true });
    const vnode = { name: "vm1", type: "qemu" as const, address: "10.0.0.1", mac: "02:00:0a:00:00:01", port: 1, attributes: { "benito:qemu_image": "/images/base.qcow2" } };
    const port = "<attribute><attribute>benito:vde_port</attribute><value>1</value></attribute>";
    const xml = topology("/run/vde/lan0", [vnode]);
    expect(xml).toContain(port);
    writeFileSync(join(folder, "topo.xml"), xml.replace(port, ""));
    const runDir = join(dir, "noport-run");
    const result = await benito(["boot", "--dry-run", folder, "pnode0", "--run-dir", runDir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/topo\.xml:\d+: \S+\.interface\[inf000\]: LAN lan0 uses the VDE datapath \(.*\): benito:vde_switch and benito:vde_port are required/);
    expect(existsSync(runDir)).toBe(false);
  });

  test("a qemu node without an image is exit 3 with the file, line and attribute", async () => {
    const result = await benito(["vm", "launch", "noimage", configDir, "--dry-run"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("benito: while checking the qemu attributes on computer noimage");
    expect(result.stderr).toMatch(/topo\.xml:\d+: .*benito:qemu_image/);
  });

  test("a startup command that is a shell is refused", async () => {
    const result = await benito(["vm", "launch", "p1", configDir, "--dry-run"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("benito never runs a shell");
  });

  test("openvz is refused and an unknown type lists the known ones", async () => {
    const openvz = await benito(["vm", "launch", "ct1", configDir, "--dry-run"]);
    expect(openvz.code).toBe(3);
    expect(openvz.stderr).toContain("OpenVZ containers are not supported");
    const xen = await benito(["vm", "launch", "x1", configDir, "--dry-run"]);
    expect(xen.code).toBe(3);
    expect(xen.stderr).toContain('unknown benito:node_type "xen"');
    expect(xen.stderr).toContain("known node types: qemu, process, embedded_pnode");
  });

  test("missing host programs are reported before anything is changed", async () => {
    const runDir = join(dir, "run-missing");
    const result = await benito(["vm", "launch", "vm1", configDir, "--run-dir", runDir, "--accel", "tcg"], { env: { PATH: join(dir, "empty-path") } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/benito: while checking what the qemu platform needs on this host: [23] requirements are not met/);
    expect(result.stderr).toContain("program qemu-system-x86_64 not found on PATH");
    expect(result.stderr).toContain("program qemu-img not found on PATH");
    expect(existsSync(runDir)).toBe(false);
  });

  test("bad usage is exit 2", async () => {
    expect((await benito(["vm", "reboot", "vm1"])).code).toBe(2);
    expect((await benito(["vm", "launch"])).code).toBe(2);
    expect((await benito(["vm", "launch", "vm1", configDir, "--accel", "fast", "--run-dir", "/x"])).code).toBe(2);
  });
});

describe.skipIf(!hasQemu)("KVM probe", () => {
  test("the probe's test guest really runs (under TCG), so a yes is possible", async () => {
    const probe = await probeKvm(10_000, "qemu-system-x86_64", "tcg");
    expect(probe).toEqual({ works: true, reason: "a test guest ran under TCG" });
  }, 20_000);

  test("benito vm accel answers kvm or tcg within its hard timeout", async () => {
    // A hang would be killed by the run's timeout and fail the exit-code check.
    const result = await benito(["vm", "accel"], { timeoutMs: 15_000 });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^(kvm|tcg): /);
  }, 20_000);
});
if (!hasQemu) console.warn("SKIPPED: KVM probe tests: qemu-system-x86_64 is missing (qemu-system-x86)");
