// A real arm64 guest (Debian's cloud-arm64 kernel, busybox-static:arm64 initramfs) boots under TCG with the argv the qemu platform plans on an arm64 pnode and runs benito's arm64 build.
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { newcArchive, withParents, type Member } from "../../scripts/build-guest";
import { run } from "../helpers/binary";
import { uniquePrefix } from "../helpers/netns";
import { pidIn, signalPid } from "../helpers/processes";
import { isRoot } from "../helpers/root";
import { alive, startSwitch, stopSwitch, type TestSwitch, waitForSerial } from "./fixture";

const repo = resolve(import.meta.dir, "../..");
/** Where scripts/fetch-arm64-guest.sh keeps the kernel and busybox (build/ is not committed; a clean clone fetches once). */
const partsDir = join(repo, "build", "arm64-guest");
const marker = "BENITO-ARM64-GUEST";

/** What test/vm/arm64-plan.ts prints: the plan's steps (only the fields used here) and the node's host requirements. */
const PlanOutput = v.object({
  hostQemuTarget: v.string(),
  steps: v.array(v.object({ kind: v.string(), id: v.string(), path: v.optional(v.string()), argv: v.optional(v.array(v.string())), pidfile: v.optional(v.string()) })),
  requirements: v.array(v.object({ name: v.optional(v.string()) })),
});

/** benito's arm64 build, run inside the guest with the loader and libraries of Debian's libc6-arm64-cross. */
const armBinary = join(repo, "build", "benito-arm64");
const sysroot = "/usr/aarch64-linux-gnu/lib";
const armLibraries = ["ld-linux-aarch64.so.1", "libc.so.6", "libpthread.so.0", "libdl.so.2", "libm.so.6"];

const missing = [
  Bun.which("qemu-system-aarch64") === null ? "qemu-system-aarch64 (qemu-system-arm)" : "",
  Bun.which("qemu-img") === null ? "qemu-img (qemu-utils)" : "",
  Bun.which("vde_switch") === null ? "vde_switch (vde2)" : "",
  Bun.which("apt-get") === null ? "apt-get" : "",
  existsSync(armBinary) ? "" : `${armBinary} (make build)`,
  ...armLibraries.filter((library) => !existsSync(join(sysroot, library))).map((library) => `${sysroot}/${library} (libc6-arm64-cross)`),
].filter((what) => what !== "");
if (isRoot && missing.length > 0) console.warn(`SKIPPED: arm64 guest boot: missing ${missing.join(", ")}`);

/** Fetches the arm64 kernel and busybox (once); the reason it could not, else undefined. */
async function fetchParts(): Promise<string | undefined> {
  const fetched = await run([join(repo, "scripts", "fetch-arm64-guest.sh"), partsDir], { timeoutMs: 300_000 });
  return fetched.code === 0 ? undefined : fetched.stderr.trim() || `scripts/fetch-arm64-guest.sh exited ${fetched.code}`;
}

const init = `#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "${marker} up: $(/bin/busybox uname -m), $(/bin/busybox grep -c ^processor /proc/cpuinfo) cpu"
echo "${marker} benito: $(/bin/benito --version 2>&1) (exit $?)"
/bin/busybox poweroff -f
`;

describe.skipIf(!isRoot || missing.length > 0)("arm64 guest on the qemu platform's arm64 argv (live, TCG)", () => {
  const prefix = uniquePrefix();
  let base = "";
  let skipped: string | undefined;
  let sw: TestSwitch | undefined;
  let pidfile = "";

  beforeAll(async () => {
    skipped = await fetchParts();
    if (skipped !== undefined) {
      console.warn(`SKIPPED: arm64 guest boot: ${skipped}`);
      return;
    }
    base = mkdtempSync(join(tmpdir(), "benito-arm64-"));
    sw = await startSwitch(base);
  }, 320_000);

  afterAll(async () => {
    const pid = pidfile === "" ? undefined : pidIn(pidfile);
    if (pid !== undefined && alive(pid)) {
      signalPid(pid, "SIGKILL");
      for (let i = 0; i < 100 && alive(pid); i++) await Bun.sleep(50);
    }
    await stopSwitch(sw);
    if (base !== "") rmSync(base, { recursive: true, force: true });
  });

  test("the planned argv (qemu-system-aarch64, -machine virt, -cpu max, direct kernel) boots the guest, whose /init runs benito's arm64 build", async () => {
    if (skipped !== undefined) return;
    const members: Member[] = [
      { kind: "dir", name: "dev" },
      { kind: "dir", name: "proc" },
      // Without /dev/console in the archive the kernel starts /init with no stdout: nothing reaches the serial log.
      { kind: "chardev", name: "dev/console", major: 5, minor: 1 },
      { kind: "file", name: "init", data: new TextEncoder().encode(init), mode: 0o755 },
      { kind: "file", name: "bin/busybox", data: readFileSync(join(partsDir, "busybox")), mode: 0o755 },
      { kind: "symlink", name: "bin/sh", target: "busybox" },
      { kind: "file", name: "bin/benito", data: readFileSync(armBinary), mode: 0o755 },
      ...armLibraries.map((library): Member => ({ kind: "file", name: `lib/${library}`, data: readFileSync(join(sysroot, library)), mode: 0o755 })),
    ];
    const initrd = join(base, "initrd.cpio");
    writeFileSync(initrd, newcArchive(withParents(members)));
    const image = join(base, "base.qcow2");
    const created = await run(["qemu-img", "create", "-q", "-f", "qcow2", image, "16M"]);
    expect(created.stderr).toBe("");

    // The plan as an arm64 pnode makes it: no benito:qemu_binary, so the emulator is the pnode's own.
    const request = {
      runDir: join(base, "run"),
      configDir: join(base, "config"),
      name: `${prefix}a64`,
      attributes: {
        "benito:qemu_image": image,
        "benito:qemu_kernel": join(partsDir, "vmlinuz"),
        "benito:qemu_initrd": initrd,
        "benito:qemu_append": "console=ttyAMA0 rdinit=/init panic=-1",
      },
      vdeSwitch: sw?.dir ?? "",
      mac: "02:00:0a:64:00:02",
    };
    const planned = await run([process.execPath, join(import.meta.dir, "arm64-plan.ts"), JSON.stringify(request)], { timeoutMs: 30_000 });
    expect(planned.stderr).toBe("");
    const plan = v.parse(PlanOutput, JSON.parse(planned.stdout));
    expect(plan.hostQemuTarget).toBe("aarch64");
    expect(plan.requirements.map((requirement) => requirement.name)).toContain("qemu-system-aarch64");
    const start = plan.steps.find((step) => step.kind === "process.start" && step.id === "qemu");
    const argv = start?.argv ?? [];
    expect(argv[0]).toBe("qemu-system-aarch64");
    expect(argv.join(" ")).toContain("-machine virt -accel tcg -cpu max");

    // The steps before QEMU, done here the way apply does them: the VM folder, the overlay, the config disk.
    for (const step of plan.steps) {
      if (step.kind === "dir.create" && step.path !== undefined) mkdirSync(step.path, { recursive: true });
      if (step.kind === "disk.overlay" && step.path !== undefined) {
        const overlay = await run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image, step.path]);
        expect(overlay.stderr).toBe("");
      }
      if (step.kind === "config.disk" && step.path !== undefined) writeFileSync(step.path, new Uint8Array(10240));
    }
    pidfile = start?.pidfile ?? "";
    const serialLog = join(request.runDir, "vm", request.name, "serial.log");
    const started = await run(argv, { timeoutMs: 30_000 });
    expect(started.stderr).toBe("");
    expect(started.code).toBe(0);

    // Bounded: kernel, initramfs (~115 MB, mostly benito) and `benito --version` take ~25 s under TCG at
    // load 5 on this 2-core machine; TCG is CPU-bound, so the bound leaves room for a much busier one.
    const log = await waitForSerial(serialLog, new RegExp(`${marker} benito: .*\\(exit \\d+\\)`), 240_000);
    expect(log).toContain("Booting Linux on physical CPU");
    expect(log).toMatch(new RegExp(`${marker} up: aarch64, 1 cpu`));
    expect(log).toMatch(new RegExp(`${marker} benito: benito \\S+.*\\(exit 0\\)`));
  }, 300_000);
});
