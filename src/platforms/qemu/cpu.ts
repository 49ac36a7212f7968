// Which QEMU system emulator and CPU model a VM gets, and the CPU floor benito's build needs inside the guest.
import { basename } from "node:path";
import type { Node } from "../../model/node";
import { attribute } from "../platform";

/** The guest architectures benito's builds exist for. */
export type QemuTarget = "x86_64" | "aarch64";

/** The emulator for this pnode's own architecture (an arm64 pnode runs arm64 guests). */
export const hostQemuTarget: QemuTarget = process.arch === "arm64" ? "aarch64" : "x86_64";

/** The system emulator a node runs: `benito:qemu_binary`, else qemu-system-ARCH for this pnode's architecture. */
export function qemuBinary(node: Node): string {
  return attribute(node, "qemu_binary") ?? `qemu-system-${hostQemuTarget}`;
}

/** The guest architecture, from the emulator's name (qemu-system-aarch64 → aarch64); this pnode's when the name says neither. */
export function qemuTarget(node: Node): QemuTarget {
  const name = basename(qemuBinary(node));
  if (name.includes("aarch64")) return "aarch64";
  if (name.includes("x86_64")) return "x86_64";
  return hostQemuTarget;
}

/**
 * x86 models without SSE4.2 or POPCNT: benito's x86-64 build (and Bun) dies in them with SIGILL and
 * prints nothing. Nehalem (2008) is the first Intel model with both; AMD's Opteron_G3 has POPCNT
 * but not SSE4.2.
 */
const belowX86Floor = new Set(
  ["qemu64", "qemu32", "kvm64", "kvm32", "core2duo", "coreduo", "pentium", "pentium2", "pentium3", "486", "athlon", "phenom", "n270", "conroe", "penryn", "opteron_g1", "opteron_g2", "opteron_g3"].map((model) => model.toLowerCase()),
);

/**
 * 32-bit Arm models: Bun's arm64 build needs a 64-bit ARMv8-A core (cortex-a53 and newer, host, max).
 */
const belowAarch64Floor = /^(arm\d+\w*|cortex-a(5|7|8|9|15|17)|cortex-[mr]\d+\w*|pxa\d+\w*|sa1\d+|ti925t)$/;

/**
 * Why a `-cpu` value is below benito's floor, or undefined when it is fine. The value is QEMU's:
 * a model, then comma-separated features; "+sse4.2,+popcnt" (or "sse4.2=on") lifts an x86 model
 * to the floor, "-sse4.2" (or "=off") drops any below it. Unknown models pass (QEMU names new
 * ones every release): the list refuses the known old ones.
 */
export function cpuFloorProblem(value: string, target: QemuTarget): string | undefined {
  const [model = "", ...features] = value.split(",");
  const name = model.replace(/-v\d+$/, "").toLowerCase();
  if (target === "aarch64") {
    return belowAarch64Floor.test(name) ? `benito:qemu_cpu "${value}" is a 32-bit Arm core; benito's arm64 build needs a 64-bit ARMv8-A one (cortex-a53 or newer, host, max)` : undefined;
  }
  const set = (flag: string) => features.some((feature) => feature === `+${flag}` || feature === `${flag}=on`);
  const cleared = (flag: string) => features.some((feature) => feature === `-${flag}` || feature === `${flag}=off`);
  const missing = ["sse4.2", "popcnt"].filter((flag) => cleared(flag) || (belowX86Floor.has(name) && !set(flag)));
  if (missing.length === 0) return undefined;
  return `benito:qemu_cpu "${value}" lacks ${missing.join(" and ")}: benito's x86-64 build dies in such a guest (SIGILL, no message); use Nehalem or newer, host or max`;
}
