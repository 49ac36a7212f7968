// Golden tests of the QEMU command line, and the input errors a bad qemu element gives.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { InputError } from "../../src/errors";
import { nodeProblems } from "../../src/platforms/platform";
import { qemuPlatform } from "../../src/platforms/qemu";
import { validatedPlatform } from "../../src/platforms/planning";
import { nic, node, qemuOneNic, qemuSevenNics, qemuTapNics, testContext } from "./nodes";
import { kernelBridgeName, kernelPortName, type LanDatapath } from "../../src/plan/datapath-plan";

function golden(name: string): string[] {
  return readFileSync(resolve(import.meta.dir, "golden", name), "utf8").trimEnd().split("\n");
}

function qemuArgvOf(plan: ReturnType<typeof qemuPlatform.plan>): readonly string[] {
  const start = plan.steps.find((step) => step.kind === "process.start" && step.id === "qemu");
  if (start?.kind !== "process.start") throw new Error("no process.start step");
  return start.argv;
}

describe("qemu argv (golden)", () => {
  test("one experimental NIC plus the control NIC", () => {
    expect(qemuArgvOf(qemuPlatform.plan(qemuOneNic, testContext))).toEqual(golden("qemu-one-nic.argv"));
  });

  test("seven NICs, a raw base image, kernel/initrd/append, Containers-era image key", () => {
    const plan = qemuPlatform.plan(qemuSevenNics, testContext);
    expect(qemuArgvOf(plan)).toEqual(golden("qemu-seven-nics.argv"));
    expect(plan.steps.find((step) => step.kind === "disk.overlay")).toMatchObject({ base: "/images/router.img", baseFormat: "raw" });
  });

  test("KVM gives -accel kvm -cpu host; TCG never uses the default qemu64 model", () => {
    const kvm = qemuArgvOf(qemuPlatform.plan(qemuOneNic, { ...testContext, kvm: true }));
    expect(kvm.join(" ")).toContain("-accel kvm -cpu host");
    const tcg = qemuArgvOf(qemuPlatform.plan(qemuOneNic, testContext));
    expect(tcg.join(" ")).toContain("-accel tcg -cpu max");
  });

  test("commas in paths are doubled, as QEMU option values want", () => {
    const argv = qemuArgvOf(qemuPlatform.plan(node("vm2", "qemu", { "benito:qemu_image": "/i/base.qcow2" }, [nic(0, { vdeSwitch: "/run/vde/a,b" })]), testContext));
    expect(argv).toContain("vde,id=net0,sock=/run/vde/a,,b,port=1");
  });
});

describe("qemu NICs as TAPs plugged by benito (benito:qemu_nic = tap)", () => {
  test("each NIC: a TAP for QEMU and one for the plug, bridged; the plug on the NIC's switch port; QEMU opens its TAP", () => {
    const plan = qemuPlatform.plan(qemuTapNics, testContext);
    const argv = qemuArgvOf(plan).join(" ");
    expect(argv).not.toContain("-netdev vde");
    const bridges = plan.steps.filter((step) => step.kind === "bridge.create");
    expect(bridges).toHaveLength(3);
    for (const [index, bridge] of bridges.entries()) {
      if (bridge.kind !== "bridge.create") continue;
      const [qemuTap, plugTap] = bridge.members;
      expect(argv).toContain(`-netdev tap,id=net${index},ifname=${qemuTap},script=no,downscript=no`);
      const plug = plan.steps.find((step) => step.id === `plug-${index}`);
      expect(plug?.kind === "process.start" && plug.argv.slice(1, 8)).toEqual(["vde", "plug", "--switch", qemuTapNics.interfaces[index]?.vdeSwitch ?? "", "--port", String(qemuTapNics.interfaces[index]?.vdePort), "--tap"]);
      expect(plug?.kind === "process.start" && plug.argv[8]).toBe(plugTap);
      for (const name of [bridge.name, qemuTap ?? "", plugTap ?? ""]) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(15);
    }
    // Everything for the NICs is in place before QEMU starts.
    const ids = plan.steps.map((step) => step.id);
    expect(ids.indexOf("plug-2")).toBeLessThan(ids.indexOf("qemu"));
  });

  test("an unknown NIC mode is an input error", () => {
    const problems = nodeProblems(qemuPlatform, node("vm3", "qemu", { "benito:qemu_image": "/i/b.qcow2", "benito:qemu_nic": "vhost" }, [nic(0)]));
    expect(problems.map((p) => p.message).join("\n")).toContain("must be vde");
  });
});

describe("qemu input errors", () => {
  test("a missing image is an input error naming the attribute", () => {
    const bad = node("vm3", "qemu", {}, [nic(0)]);
    const problems = nodeProblems(qemuPlatform, bad);
    expect(problems.map((problem) => problem.message).join("\n")).toContain("benito:qemu_image");
    expect(() => validatedPlatform(bad).plan(bad, testContext)).toThrow(InputError);
  });

  test("a bad MAC is an input error naming the interface", () => {
    const bad = node("vm4", "qemu", { "benito:qemu_image": "/i/base.qcow2" }, [nic(0, { mac: "02:00:zz:00:00:01" }), nic(1, { mac: "01:00:5e:00:00:01" })]);
    const messages = nodeProblems(qemuPlatform, bad).map((problem) => `${problem.path}: ${problem.message}`);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toContain("interface[inf000]");
    expect(messages[1]).toContain("not a unicast MAC");
    let error: unknown;
    try {
      validatedPlatform(bad).plan(bad, testContext);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).details).toHaveLength(2);
    expect((error as InputError).exitCode).toBe(3);
  });

  test("a name that cannot be a hostname is refused", () => {
    const bad = node("vm 1/x", "qemu", { "benito:qemu_image": "/i/base.qcow2" }, [nic(0)]);
    expect(nodeProblems(qemuPlatform, bad).map((problem) => problem.message).join("\n")).toContain("becomes the guest's hostname");
  });

  test("every bad attribute is reported at once", () => {
    const bad = node("vm5", "qemu", { "benito:qemu_image": "relative.qcow2", "benito:qemu_memory": "lots", "benito:qemu_cpus": "0" }, [nic(0, { vdePort: undefined })]);
    const text = nodeProblems(qemuPlatform, bad).map((problem) => problem.message).join("\n");
    expect(text).toContain("absolute path");
    expect(text).toContain("memory (MiB) must be a whole number");
    expect(text).toContain("between 1 and 64");
  });

  test("a NIC on a VDE LAN without its switch port is refused when planning, naming the LAN's datapath", () => {
    const bad = node("vm6", "qemu", { "benito:qemu_image": "/i/base.qcow2" }, [nic(0, { vdePort: undefined }), nic(1, { vdeSwitch: undefined })]);
    expect(nodeProblems(qemuPlatform, bad)).toEqual([]);
    // With the LANs' datapaths known (boot's validation), the same two are listed with line and path.
    expect(nodeProblems(qemuPlatform, bad, new Map()).map((problem) => problem.path)).toEqual([`${bad.path}.interface[inf000]`, `${bad.path}.interface[inf001]`]);
    let error: unknown;
    try {
      qemuPlatform.plan(bad, testContext);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).details).toHaveLength(2);
    expect((error as InputError).details.join("\n")).toContain("LAN lan0 uses the VDE datapath (the default): benito:vde_switch and benito:vde_port are required");
  });

  test("on a kernel LAN a NIC is a TAP on the LAN's bridge that QEMU opens by name (no switch needed), shaped, and QEMU restarts only when the TAP is made again", () => {
    const vm = node("vm7", "qemu", { "benito:qemu_image": "/i/base.qcow2" }, [nic(0, { vdeSwitch: undefined, vdePort: undefined }), nic(1)]);
    const datapaths = new Map<string, LanDatapath>([["lan0", { kind: "kernel", reason: "test", bridge: kernelBridgeName("lan0", "/run/benito"), scope: "/run/benito", shaping: { capacityKbps: 2000 }, netem: false }]]);
    const ctx = { ...testContext, datapaths };
    const plan = qemuPlatform.plan(vm, ctx);
    const tap = kernelPortName("vm7", "inf000", "/run/benito");
    expect(plan.steps.filter((step) => step.kind === "kernel.tap")).toEqual([{ kind: "kernel.tap", id: "ktap-net0", name: tap, bridge: kernelBridgeName("lan0", "/run/benito"), alias: "benito-dp lan0" }]);
    expect(plan.steps.some((step) => step.kind === "kernel.shape" && step.port === tap && step.egress?.includes("2000kbit") === true)).toBe(true);
    const argv = qemuArgvOf(plan).join(" ");
    expect(argv).toContain(`-netdev tap,id=net0,ifname=${tap},script=no,downscript=no`);
    expect(argv).toContain("-netdev vde,id=net1,sock=/run/vde/lan1,port=2");
    const qemu = plan.steps.find((step) => step.kind === "process.start");
    expect(qemu?.kind === "process.start" ? qemu.restartWhen : undefined).toEqual(["ktap-net0"]);
    const teardown = qemuPlatform.stop(vm, ctx).steps.filter((step) => step.kind === "link.delete").map((step) => (step.kind === "link.delete" ? step.name : ""));
    expect(teardown).toContain(tap);
    expect(qemuPlatform.status(vm, ctx)).toContainEqual({ kind: "link", label: "nic 0", name: tap, master: kernelBridgeName("lan0", "/run/benito") });
    expect(qemuPlatform.nicDevice(vm, vm.interfaces[0]!, datapaths.get("lan0"))).toEqual({ kind: "device", device: tap });
  });
});
