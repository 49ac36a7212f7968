// Gathers what `benito install` checks (the binary and the image root) through src/system, for the pure checks in image-checks.ts.
import { archOfNodeArch, readElfFacts } from "../system/elf";
import { bootScriptsMount, debianPackageOwnsBenito, existsInRoot, findLibc, fstabMountPoints, glibcVersion, probeVersion, resolveInRoot, type InitKind } from "../system/image-root";
import type { ImageFacts } from "./image-checks";

/** Reads the binary and the image; init is the chosen or detected integration. */
export function gatherImageFacts(root: string, binaryPath: string, init: InitKind | undefined): ImageFacts {
  const binary = readElfFacts(binaryPath);
  const libc = findLibc(root);
  let imageArch: ImageFacts["imageArch"];
  for (const path of ["/bin/sh", "/usr/bin/sh"]) {
    const host = resolveInRoot(root, path);
    const facts = host === undefined ? undefined : readElfFacts(host);
    if (facts !== undefined) {
      imageArch = { arch: facts.arch, from: path };
      break;
    }
  }
  if (imageArch === undefined && libc !== undefined) {
    const facts = readElfFacts(libc);
    if (facts !== undefined) imageArch = { arch: facts.arch, from: libc.slice(root.length) || libc };
  }
  const fstab = fstabMountPoints(root);
  // systemd mounts /proc and /run itself; Debian's sysvinit does in mountkernfs.sh.
  const initMounts = init === "systemd" || existsInRoot(root, "/etc/init.d/mountkernfs.sh");
  return {
    binary,
    binaryPath,
    binaryVersion: binary === undefined ? undefined : probeVersion(binaryPath, binary.arch, archOfNodeArch(process.arch), root),
    imageArch,
    glibc: libc === undefined ? "none" : glibcVersion(libc),
    mounts: {
      proc: initMounts || fstab.includes("/proc") || bootScriptsMount(root, "proc"),
      run: initMounts || fstab.includes("/run") || bootScriptsMount(root, "tmpfs"),
      procDir: existsInRoot(root, "/proc"),
      runDir: existsInRoot(root, "/run"),
    },
    init,
    packageOwned: debianPackageOwnsBenito(root),
  };
}
