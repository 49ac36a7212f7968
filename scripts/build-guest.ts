// Builds benito's minimal test guest from Debian packages: the cloud kernel plus a busybox-static initramfs carrying the compiled benito.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";

/** What {@link buildGuest} produced: the files QEMU boots with `-kernel`/`-initrd`. */
export interface Guest {
  /** The kernel (`/boot/vmlinuz-*-cloud-amd64`, used in place). */
  readonly kernel: string;
  /** The initramfs written (uncompressed newc cpio: fastest to build and to unpack under TCG). */
  readonly initrd: string;
  /** Its size in bytes. */
  readonly bytes: number;
}

/** Options of {@link buildGuest}. */
export interface GuestOptions {
  /** The compiled benito to carry (x86-64, not stripped). */
  readonly benito: string;
  /** The /init script (default: test/fixtures/guest/init). */
  readonly init?: string;
  /** Where to write `initrd.cpio`. */
  readonly outDir: string;
}

/** The virtio and ACPI modules the guest's /init loads (the cloud kernel builds them as modules). */
const modules = [
  "kernel/net/core/failover.ko",
  "kernel/drivers/net/net_failover.ko",
  "kernel/drivers/virtio/virtio_ring.ko",
  "kernel/drivers/virtio/virtio.ko",
  "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
  "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
  "kernel/drivers/virtio/virtio_pci.ko",
  "kernel/drivers/block/virtio_blk.ko",
  "kernel/drivers/net/virtio_net.ko",
  "kernel/drivers/acpi/button.ko",
  "kernel/drivers/input/evdev.ko",
];

/** The newest installed Debian cloud kernel, or undefined when `linux-image-cloud-amd64` is absent. */
export function findCloudKernel(): { kernel: string; release: string } | undefined {
  if (!existsSync("/boot")) return undefined;
  const kernels = readdirSync("/boot")
    .filter((name) => /^vmlinuz-.*-cloud-amd64$/.test(name))
    .sort();
  const newest = kernels.at(-1);
  if (newest === undefined) return undefined;
  return { kernel: `/boot/${newest}`, release: newest.slice("vmlinuz-".length) };
}

/** One member of a newc cpio archive. */
export type Member =
  | { readonly kind: "dir"; readonly name: string }
  | { readonly kind: "file"; readonly name: string; readonly data: Uint8Array; readonly mode: number }
  | { readonly kind: "symlink"; readonly name: string; readonly target: string }
  | { readonly kind: "chardev"; readonly name: string; readonly major: number; readonly minor: number };

/** Builds the initramfs and returns where it is; throws with a plain message when a package is missing. */
export function buildGuest(options: GuestOptions): Guest {
  const found = findCloudKernel();
  if (found === undefined) throw new Error("no /boot/vmlinuz-*-cloud-amd64: install linux-image-cloud-amd64");
  if (!existsSync("/bin/busybox") || !isStatic("/bin/busybox")) throw new Error("/bin/busybox is missing or not static: install busybox-static");
  const init = options.init ?? resolve(import.meta.dir, "../test/fixtures/guest/init");

  const members: Member[] = [];
  for (const dir of ["bin", "dev", "etc", "etc/acpi", "etc/acpi/PWRF", "lib", "lib64", "lib/modules", "proc", "run", "sys", "tmp", "var", "var/benito"]) {
    members.push({ kind: "dir", name: dir });
  }
  // Without /dev/console in the archive the kernel starts /init with no stdout: nothing reaches the serial log.
  members.push({ kind: "chardev", name: "dev/console", major: 5, minor: 1 });
  members.push({ kind: "file", name: "init", data: readFileSync(init), mode: 0o755 });
  members.push({ kind: "file", name: "bin/busybox", data: readFileSync("/bin/busybox"), mode: 0o755 });
  members.push({ kind: "symlink", name: "bin/sh", target: "busybox" });
  members.push({ kind: "file", name: "bin/benito", data: readFileSync(options.benito), mode: 0o755 });
  // busybox acpid runs every script in /etc/acpi/PWRF/ when the power button (QMP system_powerdown) is pressed.
  members.push({ kind: "file", name: "etc/acpid.conf", data: new TextEncoder().encode("PWRF PWRF\n"), mode: 0o644 });
  members.push({ kind: "file", name: "etc/acpi/PWRF/00000080", data: new TextEncoder().encode("#!/bin/sh\necho BENITO-GUEST powering off\npoweroff -f\n"), mode: 0o755 });
  for (const library of sharedLibraries(options.benito)) {
    members.push({ kind: "file", name: library.slice(1), data: readFileSync(library), mode: 0o755 });
  }
  for (const module of modules) {
    const path = `/lib/modules/${found.release}/${module}`;
    members.push({ kind: "file", name: `lib/modules/${basename(path)}`, data: readFileSync(path), mode: 0o644 });
  }

  const initrd = resolve(options.outDir, "initrd.cpio");
  const archive = newcArchive(withParents(members));
  writeFileSync(initrd, archive);
  return { kernel: found.kernel, initrd, bytes: archive.length };
}

/** True when the ELF file has no PT_INTERP (statically linked). */
function isStatic(path: string): boolean {
  const result = Bun.spawnSync(["ldd", path], { stdout: "pipe", stderr: "pipe" });
  return result.exitCode !== 0 || /not a dynamic executable|statically linked/.test(`${result.stdout}${result.stderr}`);
}

/** The absolute paths of the shared libraries (and loader) a dynamic executable needs, as `ldd` lists them. */
function sharedLibraries(executable: string): string[] {
  const result = Bun.spawnSync(["ldd", executable], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`ldd ${executable} failed: ${result.stderr.toString().trim()}`);
  const paths = new Set<string>();
  for (const line of result.stdout.toString().split("\n")) {
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (match?.[1] !== undefined) paths.add(match[1]);
  }
  // bun:ffi dlopens "libc.so.6" by name at run time; ldd lists it already, keep the guarantee explicit.
  const libc = [...paths].find((path) => path.endsWith("/libc.so.6"));
  if (libc === undefined) throw new Error(`${executable} does not link libc.so.6: is it a compiled benito?`);
  return [...paths];
}

/** Adds a directory member before every member whose parent folder is not listed yet (the kernel does not create parents). */
export function withParents(members: readonly Member[]): Member[] {
  const dirs = new Set(members.filter((member) => member.kind === "dir").map((member) => member.name));
  const out: Member[] = [];
  for (const member of members) {
    const parts = member.name.split("/");
    for (let depth = 1; depth < parts.length; depth++) {
      const dir = parts.slice(0, depth).join("/");
      if (!dirs.has(dir)) {
        dirs.add(dir);
        out.push({ kind: "dir", name: dir });
      }
    }
    out.push(member);
  }
  return out;
}

/** Writes members as a newc ("070701") cpio archive, which the kernel unpacks as the initramfs. */
export function newcArchive(members: readonly Member[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const push = (bytes: Uint8Array) => {
    chunks.push(bytes);
    length += bytes.length;
    const pad = (4 - (length % 4)) % 4;
    if (pad > 0) {
      chunks.push(new Uint8Array(pad));
      length += pad;
    }
  };
  const encoder = new TextEncoder();
  let inode = 1;
  const entry = (name: string, mode: number, data: Uint8Array, rdev: [number, number] = [0, 0]) => {
    const fields = [inode++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], encoder.encode(name).length + 1, 0];
    push(encoder.encode(`070701${fields.map((field) => field.toString(16).padStart(8, "0")).join("")}${name}\0`));
    if (data.length > 0) push(data);
  };
  for (const member of members) {
    switch (member.kind) {
      case "dir":
        entry(member.name, 0o040755, new Uint8Array());
        break;
      case "file":
        entry(member.name, 0o100000 | member.mode, member.data);
        break;
      case "symlink":
        entry(member.name, 0o120777, encoder.encode(member.target));
        break;
      case "chardev":
        entry(member.name, 0o020600, new Uint8Array(), [member.major, member.minor]);
        break;
    }
  }
  entry("TRAILER!!!", 0, new Uint8Array());
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const value = (flag: string, fallback: string) => {
    const index = args.indexOf(flag);
    return index >= 0 && args[index + 1] !== undefined ? args[index + 1]! : fallback;
  };
  const outDir = resolve(value("--out", "build/guest"));
  mkdirSync(outDir, { recursive: true });
  const guest = buildGuest({ benito: resolve(value("--benito", "build/benito")), outDir });
  console.log(JSON.stringify(guest));
}
