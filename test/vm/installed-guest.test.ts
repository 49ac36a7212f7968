// A busybox VM image that `benito install --role vm` wrote (detected init: rc.local) boots under QEMU: its rc.local block runs preflight, guest-config and boot, and the guest is configured and reachable.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { findCloudKernel } from "../../scripts/build-guest";
import { namespaceName } from "../../src/platforms/names";
import { benito, benitoBinary, run } from "../helpers/binary";
import { uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { startSwitch, stopSwitch, topology, type TestSwitch } from "./fixture";

const missing = [
  Bun.which("qemu-system-x86_64") === null ? "qemu-system-x86_64 (qemu-system-x86)" : "",
  Bun.which("qemu-img") === null ? "qemu-img (qemu-utils)" : "",
  Bun.which("vde_switch") === null ? "vde_switch (vde2)" : "",
  Bun.which("cpio") === null ? "cpio" : "",
  findCloudKernel() === undefined ? "/boot/vmlinuz-*-cloud-amd64 (linux-image-cloud-amd64)" : "",
  existsSync("/bin/busybox") ? "" : "/bin/busybox (busybox-static)",
].filter((what) => what !== "");
if (isRoot && missing.length > 0) console.warn(`SKIPPED: the VM booted from an image benito install wrote: missing ${missing.join(", ")}`);

/** The virtio and ACPI modules the guest loads (the cloud kernel builds them as modules). */
const modules = ["net/core/failover", "drivers/net/net_failover", "drivers/virtio/virtio_ring", "drivers/virtio/virtio", "drivers/virtio/virtio_pci_legacy_dev", "drivers/virtio/virtio_pci_modern_dev", "drivers/virtio/virtio_pci", "drivers/block/virtio_blk", "drivers/net/virtio_net", "drivers/acpi/button", "drivers/input/evdev"];

/** The image's boot script: what a small busybox image does before rc.local (mounts, drivers, loopback). */
const rcS = `#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
for module in ${modules.map((path) => basename(path)).join(" ")}; do insmod "/lib/modules/$module.ko" 2>/dev/null; done
ip link set lo up
acpid -c /etc/acpi -a /etc/acpid.conf -l /tmp/acpid.log -p /run/acpid.pid
tries=0
while [ "$tries" -lt 50 ] && ! grep -qs benito-config /sys/block/vd*/serial; do sleep 0.2; tries=$((tries + 1)); done
echo "IMAGE-GUEST running rc.local"
sh /etc/rc.local
echo "IMAGE-GUEST rc.local done"
ip -4 addr
echo "IMAGE-GUEST end"
`;

/** Builds the image root: busybox as init, rcS, an rc.local of its own, benito's libraries and the drivers; benito itself comes from `benito install`. */
function makeBusyboxImage(root: string, release: string): void {
  for (const dir of ["bin", "sbin", "dev", "etc/init.d", "etc/acpi/PWRF", "lib/modules", "proc", "run", "sys", "tmp", "var"]) mkdirSync(join(root, dir), { recursive: true });
  copyFileSync("/bin/busybox", join(root, "bin/busybox"));
  chmodSync(join(root, "bin/busybox"), 0o755);
  symlinkSync("busybox", join(root, "bin/sh"));
  symlinkSync("../bin/busybox", join(root, "sbin/init"));
  writeFileSync(join(root, "etc/inittab"), "::sysinit:/etc/init.d/rcS\n::ctrlaltdel:/bin/poweroff\n");
  writeFileSync(join(root, "etc/init.d/rcS"), rcS, { mode: 0o755 });
  writeFileSync(join(root, "etc/rc.local"), "#!/bin/sh\necho IMAGE-GUEST site rc.local\nexit 0\n", { mode: 0o755 });
  writeFileSync(join(root, "etc/acpid.conf"), "PWRF PWRF\n");
  writeFileSync(join(root, "etc/acpi/PWRF/00000080"), "#!/bin/sh\npoweroff -f\n", { mode: 0o755 });
  const ldd = Bun.spawnSync(["ldd", benitoBinary], { stdout: "pipe" }).stdout.toString();
  for (const match of ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) {
    const library = match[1] ?? "";
    mkdirSync(join(root, dirname(library)), { recursive: true });
    copyFileSync(library, join(root, library));
  }
  for (const module of modules) copyFileSync(`/lib/modules/${release}/kernel/${module}.ko`, join(root, "lib/modules", `${basename(module)}.ko`));
}

describe.skipIf(!isRoot || missing.length > 0)("a VM image benito install wrote (busybox init, rc.local, TCG)", () => {
  const prefix = uniquePrefix();
  const vm = `${prefix}iv`;
  const peer = `${prefix}ip`;
  let base = "";
  let sw: TestSwitch | undefined;
  const configDir = () => join(base, "config");
  const runDir = () => join(base, "run");

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "benito-imgvm-"));
    const root = join(base, "image");
    const kernel = findCloudKernel();
    makeBusyboxImage(root, kernel?.release ?? "");
    const installed = await benito(["install", "--root", root, "--role", "vm"]);
    if (installed.code !== 0) throw new Error(`benito install: ${installed.stderr}`);
    // The kernel starts the initramfs with /dev/console or prints nothing.
    await run(["mknod", "-m", "600", join(root, "dev/console"), "c", "5", "1"]);
    const packed = await run(["sh", "-c", 'cd "$1" && find . | cpio -o -H newc --quiet > "$2"', "sh", root, join(base, "initrd.cpio")], { timeoutMs: 60_000 });
    if (packed.code !== 0) throw new Error(`cpio: ${packed.stderr}`);
    rmSync(root, { recursive: true, force: true });
    const image = join(base, "base.qcow2");
    await run(["qemu-img", "create", "-q", "-f", "qcow2", image, "16M"]);
    mkdirSync(configDir(), { recursive: true });
    sw = await startSwitch(base);
    writeFileSync(
      join(configDir(), "topo.xml"),
      topology(sw.dir, [
        {
          name: vm,
          type: "qemu",
          address: "10.216.0.1",
          mac: "02:00:0a:d8:00:01",
          port: 1,
          attributes: { "benito:qemu_image": image, "benito:qemu_memory": "512", "benito:qemu_kernel": kernel?.kernel ?? "", "benito:qemu_initrd": join(base, "initrd.cpio"), "benito:qemu_append": "console=ttyS0 panic=-1 quiet rdinit=/sbin/init" },
        },
        { name: peer, type: "process", address: "10.216.0.2", mac: "02:00:0a:d8:00:02", port: 2 },
      ]),
    );
  }, 120_000);

  afterAll(async () => {
    for (const node of [vm, peer]) await benito(["vm", "stop", node, configDir(), "--run-dir", runDir()], { timeoutMs: 40_000 });
    await run(["ip", "netns", "del", namespaceName(peer)]);
    await stopSwitch(sw);
    rmSync(base, { recursive: true, force: true });
  }, 120_000);

  test("rc.local's block configures the guest (guest-config, then boot) and a process vnode reaches it", async () => {
    expect((await benito(["vm", "launch", peer, configDir(), "--run-dir", runDir()])).code).toBe(0);
    const launched = await benito(["vm", "launch", vm, configDir(), "--run-dir", runDir(), "--accel", "tcg"], { timeoutMs: 60_000 });
    expect(launched.stderr).toBe("");
    expect(launched.code).toBe(0);
    const log = join(runDir(), "vm", vm, "serial.log");
    const deadline = performance.now() + 150_000;
    let serial = "";
    while (performance.now() < deadline && !serial.includes("IMAGE-GUEST end")) {
      await Bun.sleep(500);
      serial = existsSync(log) ? readFileSync(log, "utf8") : "";
    }
    expect(serial).toContain("IMAGE-GUEST running rc.local");
    expect(serial).toContain(`boot ${vm}: `);
    expect(serial).not.toContain("benito boot failed");
    expect(serial).toContain("10.216.0.1/24");
    // The site's own rc.local lines still run.
    expect(serial).toContain("IMAGE-GUEST site rc.local");
    let pinged = false;
    for (let i = 0; i < 60 && !pinged; i++) pinged = (await run(["ip", "netns", "exec", namespaceName(peer), "ping", "-c", "1", "-W", "2", "10.216.0.1"], { timeoutMs: 10_000 })).code === 0;
    expect(pinged).toBe(true);
  }, 240_000);
});
