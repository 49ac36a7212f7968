// Reads an image root (a mounted disk image, a staging folder, or /) for `benito install`: its init system, libc, mounts and package database.
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { join, posix } from "node:path";
import { writeFileAtomic } from "./state-files";

/** The init integrations `benito install` can install. */
export type InitKind = "systemd" | "sysv" | "rc.local" | "none";

/**
 * Resolves path inside root the way the image's own kernel would: symlinks are followed, and an
 * absolute link target (e.g. /bin → usr/bin, /lib/x86_64-linux-gnu/libc.so.6) is read relative to
 * root, never the machine running install. Returns the host path, or undefined if it does not exist.
 */
export function resolveInRoot(root: string, path: string): string | undefined {
  let parts = path.split("/").filter((part) => part !== "" && part !== ".");
  const done: string[] = [];
  for (let hops = 0; parts.length > 0; ) {
    const [part, ...rest] = parts;
    parts = rest;
    if (part === undefined) break;
    if (part === "..") {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let stat;
    try {
      stat = lstatSync(host);
    } catch {
      return undefined;
    }
    if (!stat.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++hops > 40) return undefined;
    const target = readlinkSync(host);
    const targetParts = target.split("/").filter((p) => p !== "" && p !== ".");
    if (target.startsWith("/")) done.length = 0;
    parts = [...targetParts, ...parts];
  }
  return join(root, ...done);
}

/** True when path exists inside root (following the image's symlinks). */
export function existsInRoot(root: string, path: string): boolean {
  return resolveInRoot(root, path) !== undefined;
}

/** Reads a text file inside root, or undefined. */
export function readTextInRoot(root: string, path: string): string | undefined {
  const host = resolveInRoot(root, path);
  if (host === undefined) return undefined;
  try {
    return readFileSync(host, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Detects the image's init system: systemd when /sbin/init is (a link to) systemd or systemd is
 * installed without another init; sysv when /etc/inittab and /etc/init.d exist; rc.local when
 * only /etc/rc.local (or busybox's /etc/init.d/rcS) is there; undefined otherwise.
 */
export function detectInit(root: string): InitKind | undefined {
  const init = resolveInRoot(root, "/sbin/init");
  const systemdInstalled = existsInRoot(root, "/lib/systemd/systemd") || existsInRoot(root, "/usr/lib/systemd/systemd");
  if (init !== undefined && posix.basename(init) === "systemd") return "systemd";
  if (existsInRoot(root, "/etc/inittab") && existsInRoot(root, "/etc/init.d") && !existsInRoot(root, "/etc/init.d/rcS")) return "sysv";
  if (existsInRoot(root, "/etc/inittab") && existsInRoot(root, "/etc/init.d/rc")) return "sysv";
  if (systemdInstalled && init === undefined) return "systemd";
  if (existsInRoot(root, "/etc/rc.local") || existsInRoot(root, "/etc/init.d/rcS")) return "rc.local";
  return undefined;
}

/** Where glibc's libc.so.6 lives in Debian-style and other layouts, per architecture. */
const libcPaths = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/usr/lib64/libc.so.6", "/lib/libc.so.6", "/usr/lib/libc.so.6"];

/** The host path of the image's glibc (libc.so.6), or undefined when it has none (musl, static busybox). */
export function findLibc(root: string): string | undefined {
  for (const path of libcPaths) {
    const host = resolveInRoot(root, path);
    if (host !== undefined) return host;
  }
  return undefined;
}

/** The newest GLIBC_2.N symbol version a libc.so.6 defines (its release), e.g. "2.36"; undefined when none is found. */
export function glibcVersion(libcPath: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(libcPath, "latin1");
  } catch {
    return undefined;
  }
  let best: [number, number] | undefined;
  for (const match of text.matchAll(/GLIBC_2\.(\d{1,2})(?:\.(\d{1,2}))?\0/g)) {
    const minor = Number(match[1]);
    const patch = Number(match[2] ?? 0);
    if (best === undefined || minor > best[0] || (minor === best[0] && patch > best[1])) best = [minor, patch];
  }
  return best === undefined ? undefined : `2.${best[0]}${best[1] > 0 ? `.${best[1]}` : ""}`;
}

/** The mount points listed in the image's /etc/fstab. */
export function fstabMountPoints(root: string): string[] {
  const text = readTextInRoot(root, "/etc/fstab") ?? "";
  const points: string[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 2 && !(fields[0] ?? "").startsWith("#")) points.push(fields[1] ?? "");
  }
  return points;
}

/** True when the image's /etc/inittab or /etc/init.d/rcS mounts the given file system type (busybox images). */
export function bootScriptsMount(root: string, fsType: string): boolean {
  const pattern = new RegExp(`mount\\b[^\\n]*-t\\s+${fsType}\\b|mount\\s+-a\\b`);
  return ["/etc/inittab", "/etc/init.d/rcS"].some((path) => pattern.test(readTextInRoot(root, path) ?? ""));
}

/** True when the image's dpkg database says the Debian package "benito" is installed. */
export function debianPackageOwnsBenito(root: string): boolean {
  return existsInRoot(root, "/var/lib/dpkg/info/benito.list");
}

/**
 * What `BINARY --version` prints (first line, printable characters only), run directly when the
 * binary is for this machine, or under qemu-user when it is an aarch64 build and
 * qemu-aarch64(-static) is installed, with the image's own loader (or Debian's cross libc,
 * libc6-arm64-cross); undefined when it cannot be run here.
 */
export function probeVersion(binary: string, binaryArch: string, hostArch: string, root: string): string | undefined {
  let argv: string[];
  if (binaryArch === hostArch) argv = [binary, "--version"];
  else {
    const emulator = binaryArch === "aarch64" ? (Bun.which("qemu-aarch64-static") ?? Bun.which("qemu-aarch64")) : null;
    const sysroot = [root, "/usr/aarch64-linux-gnu"].find((dir) => existsInRoot(dir, "/lib/ld-linux-aarch64.so.1"));
    if (emulator === null || sysroot === undefined) return undefined;
    argv = [emulator, "-L", sysroot, binary, "--version"];
  }
  try {
    const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "ignore", stdin: "ignore", timeout: 30_000 });
    return (result.stdout.toString().split("\n")[0] ?? "").replace(/[^\x20-\x7e]/g, "").slice(0, 60);
  } catch {
    return "";
  }
}

/**
 * Makes a folder inside root (following the image's own symlinks, never out of root) and every
 * missing parent; returns the image paths it created, outermost first.
 */
export function makeDirInRoot(root: string, dir: string, mode: number): string[] {
  const created: string[] = [];
  const parts = dir.split("/").filter((part) => part !== "");
  for (let index = 1; index <= parts.length; index++) {
    const imagePath = `/${parts.slice(0, index).join("/")}`;
    if (resolveInRoot(root, imagePath) !== undefined) continue;
    const parent = resolveInRoot(root, `/${parts.slice(0, index - 1).join("/")}`) ?? root;
    mkdirSync(join(parent, parts[index - 1] ?? ""), { mode: index === parts.length ? mode : 0o755 });
    created.push(imagePath);
  }
  return created;
}

/** The host path of an image path whose folder exists (the folder resolved inside root, the last part not followed). */
export function hostPathInRoot(root: string, path: string): string {
  const folder = resolveInRoot(root, posix.dirname(path)) ?? join(root, posix.dirname(path));
  return join(folder, posix.basename(path));
}

/** Reads a link's target, or undefined when path is not a symlink. */
export function readLinkOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Reads a file's bytes, or undefined when it does not exist. */
export function readBytesOrUndefined(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Writes a file by a temporary file and rename (a running binary is replaced, never written
 * over: ETXTBSY), with its mode; replaces a symlink there rather than writing through it.
 */
export function writeFileInRoot(hostPath: string, data: string | Uint8Array, mode: number): void {
  writeFileAtomic(hostPath, data, { mode, makeFolder: false });
}

/** Copies a file by a temporary file and rename, with its mode (the copy is made by the kernel, never read into memory). */
export function copyFileInRoot(source: string, hostPath: string, mode: number): void {
  writeFileAtomic(hostPath, { copyOf: source }, { mode, makeFolder: false });
}

/** Makes (or re-points) a symlink. */
export function linkInRoot(hostPath: string, target: string): void {
  rmSync(hostPath, { force: true });
  symlinkSync(target, hostPath);
}

/** The mode bits of a file, or undefined. */
export function modeOf(path: string): number | undefined {
  try {
    return lstatSync(path).mode & 0o7777;
  } catch {
    return undefined;
  }
}
