// QEMU choices: benito:qemu_cpu (refused below benito's CPU floor at validation), benito:qemu_binary and the aarch64 machine.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeProblems } from "../../src/platforms/platform";
import { qemuPlatform } from "../../src/platforms/qemu";
import { cpuFloorProblem } from "../../src/platforms/qemu/cpu";
import { benito } from "../helpers/binary";
import { topology } from "../vm/fixture";
import { nic, node, testContext } from "./nodes";

const argvOf = (attributes: Record<string, string>) => {
  const plan = qemuPlatform.plan(node("vm1", "qemu", { "benito:qemu_image": "/i/base.qcow2", ...attributes }, [nic(0)]), testContext);
  const start = plan.steps.find((step) => step.kind === "process.start" && step.id === "qemu");
  return start?.kind === "process.start" ? start.argv : [];
};

describe("the CPU floor", () => {
  test.each(["qemu64", "kvm64", "core2duo", "Penryn", "Opteron_G3", "qemu64-v1", "Nehalem,-sse4.2", "max,popcnt=off"])("x86 %s is refused", (model) => {
    expect(cpuFloorProblem(model, "x86_64")).toContain(`"${model}" lacks`);
  });
  test.each(["Nehalem", "Westmere-v2", "Skylake-Server", "EPYC", "host", "max", "qemu64,+sse4.2,+popcnt", "kvm64,sse4.2=on,popcnt=on"])("x86 %s passes", (model) => {
    expect(cpuFloorProblem(model, "x86_64")).toBeUndefined();
  });
  test("aarch64: 32-bit cores are refused, ARMv8-A ones pass", () => {
    for (const model of ["cortex-a15", "cortex-a7", "cortex-m3", "arm1176"]) expect(cpuFloorProblem(model, "aarch64")).toContain("32-bit Arm core");
    for (const model of ["cortex-a53", "cortex-a72", "neoverse-n1", "max", "host"]) expect(cpuFloorProblem(model, "aarch64")).toBeUndefined();
  });
  test("a qemu element below the floor is a validation problem naming its path", () => {
    const problems = nodeProblems(qemuPlatform, node("vm1", "qemu", { "benito:qemu_image": "/i/b.qcow2", "benito:qemu_cpu": "qemu64" }, [nic(0)]));
    expect(problems.map((problem) => problem.message)).toContain('benito:qemu_cpu "qemu64" lacks sse4.2 and popcnt: benito\'s x86-64 build dies in such a guest (SIGILL, no message); use Nehalem or newer, host or max');
  });
});

describe("QEMU choices in the argv", () => {
  test("benito:qemu_cpu chooses the model; the default stays max under TCG", () => {
    expect(argvOf({ "benito:qemu_cpu": "Nehalem" }).join(" ")).toContain("-accel tcg -cpu Nehalem");
    expect(argvOf({}).join(" ")).toContain("-cpu max");
  });
  test("benito:qemu_binary chooses the emulator; an aarch64 one gets machine virt and needs a kernel", () => {
    const argv = argvOf({ "benito:qemu_binary": "/opt/qemu/bin/qemu-system-aarch64", "benito:qemu_kernel": "/k/Image" });
    expect(argv[0]).toBe("/opt/qemu/bin/qemu-system-aarch64");
    expect(argv.join(" ")).toContain("-machine virt");
    const problems = nodeProblems(qemuPlatform, node("vm1", "qemu", { "benito:qemu_image": "/i/b.qcow2", "benito:qemu_binary": "qemu-system-aarch64" }, [nic(0)]));
    expect(problems.map((problem) => problem.message).join("\n")).toContain("an aarch64 VM (qemu-system-aarch64, machine virt) boots its kernel directly: give benito:qemu_kernel");
  });
});

test("boot refuses a qemu64 vnode before any change: exit 3 naming the file, line and element", async () => {
  const dir = mkdtempSync(join(tmpdir(), "benito-qemu-cpu-"));
  try {
    writeFileSync(join(dir, "topo.xml"), topology("/run/benito-test-none/sw", [{ name: "vmold", type: "qemu", address: "10.9.0.2", mac: "02:be:09:00:00:02", port: 1, attributes: { "benito:qemu_image": "/i/b.qcow2", "benito:qemu_cpu": "qemu64" } }]));
    const result = await benito(["boot", "--dry-run", "--run-dir", join(dir, "run"), dir, "pnode0"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/topo\.xml:\d+: elements\[1\]\.computer: benito:qemu_cpu "qemu64" lacks sse4\.2 and popcnt/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("site.conf qemu_cpu and qemu_binary", () => {
  const lab = (siteConf: string, attributes: Record<string, string> = {}) => {
    const dir = mkdtempSync(join(tmpdir(), "benito-qemu-site-"));
    writeFileSync(join(dir, "topo.xml"), topology("/run/benito-test-none/sw", [{ name: "vmsite", type: "qemu", address: "10.9.0.2", mac: "02:be:09:00:00:02", port: 1, attributes: { "benito:qemu_image": "/i/b.qcow2", ...attributes } }]));
    writeFileSync(join(dir, "site.conf"), siteConf);
    return dir;
  };

  test("a site-wide qemu_cpu below the floor stops boot before any change, naming site.conf's line", async () => {
    const dir = lab("[benito]\nqemu_cpu = kvm64\n");
    try {
      const result = await benito(["boot", "--dry-run", "--run-dir", join(dir, "run"), dir, "pnode0"]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain(`${join(dir, "site.conf")}:2: qemu_cpu: qemu_cpu "kvm64" lacks sse4.2 and popcnt`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("site.conf chooses the model and the emulator for every VM; a node's own attribute wins", async () => {
    const dir = lab("qemu_cpu = Nehalem\nqemu_binary = /opt/qemu/bin/qemu-system-x86_64\n");
    const own = lab("qemu_cpu = Nehalem\n", { "benito:qemu_cpu": "Skylake-Client" });
    try {
      const site = await benito(["vm", "launch", "vmsite", dir, "--dry-run", "--run-dir", join(dir, "run")]);
      expect(site.stderr).toBe("");
      expect(site.stdout).toContain("/opt/qemu/bin/qemu-system-x86_64 -name guest=vmsite");
      expect(site.stdout).toContain("-cpu Nehalem");
      const node = await benito(["vm", "launch", "vmsite", own, "--dry-run", "--run-dir", join(own, "run")]);
      expect(node.stdout).toContain("-cpu Skylake-Client");
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(own, { recursive: true, force: true });
    }
  });
});
