// The checks `benito install` makes before writing anything: the binary against the image, and the image against benito's floors (pure).
import type { ElfArch, ElfFacts } from "../system/elf";
import type { InitKind } from "../system/image-root";

/** The oldest glibc Bun's Linux builds run on. */
export const glibcFloor = "2.17";

/** ImageFacts interface: what install read from the binary and the image root. */
export interface ImageFacts {
  /** The binary to install: its ELF facts (undefined: not a 64-bit ELF file or unreadable). */
  readonly binary: ElfFacts | undefined;
  readonly binaryPath: string;
  /**
   * What `BINARY --version` printed, when it could be run here (this machine's architecture, or
   * under qemu-user); undefined otherwise. Only running it tells: a stripped copy keeps every
   * section yet runs as plain Bun.
   */
  readonly binaryVersion: string | undefined;
  /** The image's /bin/sh or libc: its architecture, and which file told it. */
  readonly imageArch: { readonly arch: ElfArch; readonly from: string } | undefined;
  /** The image's glibc release, "none" when no libc.so.6 was found. */
  readonly glibc: string | "none" | undefined;
  /** Whether /proc and /run will be mounted when the image boots, and whether their folders exist. */
  readonly mounts: { readonly proc: boolean; readonly run: boolean; readonly procDir: boolean; readonly runDir: boolean };
  /** The init integration chosen (--init) or detected; undefined when neither. */
  readonly init: InitKind | undefined;
  /** The Debian package benito is installed in the image. */
  readonly packageOwned: boolean;
}

const compareVersions = (a: string, b: string) => {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let index = 0; index < Math.max(pa.length, pb.length); index++) {
    const diff = (pa[index] ?? 0) - (pb[index] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
};

/** Problems with the binary alone (a 64-bit ELF for x86-64 or aarch64, unstripped), one line each. */
export function binaryProblems(facts: Pick<ImageFacts, "binary" | "binaryPath" | "binaryVersion">): string[] {
  const problems: string[] = [];
  const { binary } = facts;
  if (binary === undefined) problems.push(`${facts.binaryPath}: not a 64-bit ELF executable`);
  else {
    if (binary.arch === "other") problems.push(`${facts.binaryPath}: built for ELF machine ${binary.machine}, not x86-64 or aarch64`);
    if (facts.binaryVersion !== undefined && !facts.binaryVersion.startsWith("benito")) {
      problems.push(`${facts.binaryPath}: --version printed "${facts.binaryVersion}", not "benito ...": a stripped copy (strip removes benito's code); use the unstripped build`);
    }
  }
  return problems;
}

/** Every problem with installing the binary into the image, one line each (empty: go ahead). */
export function imageProblems(facts: ImageFacts): string[] {
  const problems: string[] = [];
  if (facts.packageOwned) problems.push("the Debian package benito is installed in this image (/var/lib/dpkg/info/benito.list): upgrade or remove it with dpkg, not benito install");
  problems.push(...binaryProblems(facts));
  const { binary } = facts;
  if (binary !== undefined) {
    if (facts.imageArch === undefined) problems.push("the image has no /bin/sh or libc.so.6 to tell its architecture from (is --root the image's root folder?)");
    else if (binary.arch !== facts.imageArch.arch) {
      problems.push(`${facts.binaryPath} is built for ${binary.arch} but the image is ${facts.imageArch.arch} (from ${facts.imageArch.from}); pass --binary with the ${facts.imageArch.arch} build`);
    }
  }
  if (facts.glibc === "none") problems.push(`the image has no glibc (libc.so.6); benito needs glibc ${glibcFloor} or newer`);
  else if (facts.glibc === undefined) problems.push(`the image's libc.so.6 names no GLIBC_2.x version; benito needs glibc ${glibcFloor} or newer`);
  else if (compareVersions(facts.glibc, glibcFloor) < 0) problems.push(`the image's glibc is ${facts.glibc}; benito needs ${glibcFloor} or newer`);
  if (!facts.mounts.procDir) problems.push("the image has no /proc folder to mount /proc on; benito needs /proc");
  else if (!facts.mounts.proc) problems.push("nothing in the image mounts /proc at boot (not its init system, /etc/fstab, /etc/inittab or /etc/init.d/rcS); benito needs /proc");
  if (!facts.mounts.runDir) problems.push("the image has no /run folder; benito keeps its run state there (a tmpfs)");
  else if (!facts.mounts.run) problems.push("nothing in the image mounts a tmpfs on /run at boot (not its init system, /etc/fstab, /etc/inittab or /etc/init.d/rcS); benito's records need a writable /run");
  if (facts.init === undefined) problems.push("cannot tell the image's init system (no systemd, /etc/inittab or /etc/rc.local); pass --init systemd|sysv|rc.local|none");
  return problems;
}
