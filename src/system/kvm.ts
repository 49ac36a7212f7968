// Whether KVM really works here: /dev/kvm must open, and a one-instruction guest must finish under KVM within a hard timeout.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The probe's answer. */
export interface KvmProbe {
  readonly works: boolean;
  /** Why, in a few words (shown by `benito vm accel`). */
  readonly reason: string;
}

/** A boot sector that writes 1 to the isa-debug-exit port (0xf4): QEMU then exits with status (1 << 1) | 1 = 3. */
function probeBootSector(): Uint8Array {
  const sector = new Uint8Array(512);
  sector.set([0xb0, 0x01, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd], 0); // mov al,1; out 0xf4,al; hlt; jmp $-1
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/**
 * Probes KVM. On some hosts /dev/kvm exists but guests hang, so existence is not enough: a
 * tiny guest is booted with `-accel kvm` and must exit through isa-debug-exit before
 * timeoutMs, else it is SIGKILLed and the answer is no.
 *
 * @param qemu The QEMU program (default qemu-system-x86_64).
 * @param accel "tcg" runs the same test guest without KVM (tests use it to show the probe can say yes).
 */
export async function probeKvm(timeoutMs = 4_000, qemu = "qemu-system-x86_64", accel: "kvm" | "tcg" = "kvm"): Promise<KvmProbe> {
  if (accel === "kvm") {
    try {
      closeSync(openSync("/dev/kvm", "r+"));
    } catch (error) {
      return { works: false, reason: `/dev/kvm cannot be opened (${(error as { code?: string }).code ?? "error"})` };
    }
  }
  // node:os on first use only (its import costs every benito start time; this probe is rare).
  const os: typeof import("node:os") = require("node:os");
  const dir = mkdtempSync(join(os.tmpdir(), "benito-kvm-"));
  try {
    const image = join(dir, "boot.img");
    writeFileSync(image, probeBootSector());
    let child;
    try {
      child = Bun.spawn(
        [qemu, "-accel", accel, "-machine", "pc", "-cpu", accel === "kvm" ? "host" : "max", "-m", "16", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
          "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-drive", `file=${image.replaceAll(",", ",,")},format=raw,if=ide`],
        { stdin: "ignore", stdout: "ignore", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" },
      );
    } catch (error) {
      return { works: false, reason: `${qemu} cannot be started (${(error as Error).message})` };
    }
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    if (code === 3) return { works: true, reason: `a test guest ran under ${accel.toUpperCase()}` };
    if (child.signalCode === "SIGKILL") return { works: false, reason: `/dev/kvm exists but a test guest did not finish within ${timeoutMs} ms` };
    return { works: false, reason: `the KVM test guest failed (status ${code}${stderr.trim() === "" ? "" : `: ${stderr.trim().split("\n")[0]}`})` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
