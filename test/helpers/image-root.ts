// Builds small image roots (directory trees, no debootstrap) for `benito install` tests: a shell and libc of a chosen architecture, and an init system's traces.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, lstatSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

/** ImageRootOptions interface: what the fake image looks like. */
export interface ImageRootOptions {
  /** Which init system's traces it carries (none: no init system benito install recognises). */
  readonly init: "systemd" | "sysv" | "rc.local" | "none";
  /** The architecture of its /bin/sh and libc: x86-64 copies the host's; aarch64 writes ELF headers only. */
  readonly arch?: "x86-64" | "aarch64";
  /** Its glibc: a release ("2.36"), or "none" for no libc.so.6 (default: the host's real libc for x86-64, 2.36 for aarch64). */
  readonly glibc?: string;
  /** Write an /etc/fstab with /proc and /run (default: only when the init system mounts neither itself). */
  readonly fstab?: boolean;
}

/** A 64-byte little-endian ELF64 header for machine (62 x86-64, 183 aarch64), enough for install's architecture check. */
function elfHeader(machine: number): Uint8Array {
  const header = new Uint8Array(64);
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  new DataView(header.buffer).setUint16(18, machine, true);
  return header;
}

/** Makes an image root under a fresh temporary folder (the caller removes it) and returns its path. */
export function makeImageRoot(prefix: string, options: ImageRootOptions): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const arch = options.arch ?? "x86-64";
  const triplet = arch === "x86-64" ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
  for (const dir of ["usr/bin", "usr/sbin", `usr/lib/${triplet}`, "etc", "proc", "run", "tmp", "var"]) mkdirSync(join(root, dir), { recursive: true });
  // Debian 12 is merged-/usr: /bin, /sbin and /lib are links, which install must follow inside the root.
  for (const dir of ["bin", "sbin", "lib"]) symlinkSync(`usr/${dir}`, join(root, dir));
  const libc = join(root, "usr/lib", triplet, "libc.so.6");
  if (arch === "x86-64") {
    copyFileSync("/bin/dash", join(root, "usr/bin/sh"));
    if (options.glibc === undefined) copyFileSync(`/lib/${triplet}/libc.so.6`, libc);
  } else writeFileSync(join(root, "usr/bin/sh"), elfHeader(183));
  if (options.glibc !== undefined && options.glibc !== "none") writeFileSync(libc, Buffer.concat([Buffer.from(elfHeader(arch === "x86-64" ? 62 : 183)), Buffer.from(`GLIBC_2.2.5\0GLIBC_${options.glibc}\0`)]));
  if (arch === "aarch64" && options.glibc === undefined) writeFileSync(libc, Buffer.concat([Buffer.from(elfHeader(183)), Buffer.from("GLIBC_2.17\0GLIBC_2.36\0")]));
  if (options.init === "systemd") {
    mkdirSync(join(root, "usr/lib/systemd"), { recursive: true });
    writeFileSync(join(root, "usr/lib/systemd/systemd"), elfHeader(62));
    symlinkSync("/lib/systemd/systemd", join(root, "usr/sbin/init"));
  } else if (options.init === "sysv") {
    mkdirSync(join(root, "etc/init.d"), { recursive: true });
    writeFileSync(join(root, "etc/inittab"), "id:2:initdefault:\nsi::sysinit:/etc/init.d/rcS\n");
    writeFileSync(join(root, "etc/init.d/rc"), "#!/bin/sh\n");
    writeFileSync(join(root, "etc/init.d/mountkernfs.sh"), "#!/bin/sh\n");
  } else if (options.init === "rc.local") {
    writeFileSync(join(root, "etc/rc.local"), "#!/bin/sh -e\n# site additions\necho site-start\n\nexit 0\n");
    chmodSync(join(root, "etc/rc.local"), 0o755);
  }
  if (options.fstab ?? options.init === "rc.local") writeFileSync(join(root, "etc/fstab"), "proc /proc proc defaults 0 0\ntmpfs /run tmpfs defaults 0 0\n");
  return root;
}

/** Every path under root (relative, sorted, links shown with their target), to compare a root before and after. */
export function listTree(root: string): string[] {
  const paths: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      paths.push(`${relative(root, path)} ${stat.isSymbolicLink() ? "link" : stat.isDirectory() ? "dir" : `file ${(stat.mode & 0o7777).toString(8)} ${stat.size}`}`);
      if (stat.isDirectory()) walk(path);
    }
  };
  walk(root);
  return paths.sort();
}
