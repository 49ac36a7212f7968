// Reads the site.conf keys that choose every QEMU VM's emulator and CPU model (`qemu_binary`, `qemu_cpu`); a node's own benito:qemu_* attribute wins.
import type { Node } from "../model/node";
import { cpuFloorProblem, hostQemuTarget, type QemuTarget } from "../platforms/qemu/cpu";
import type { Problem } from "../topdl/types";
import { siteValue, type SiteConf } from "./site-conf";

/** The same shape benito:qemu_binary accepts: a program name or an absolute path without "..". */
const binaryPattern = /^(\/[A-Za-z0-9_.+/-]+|[A-Za-z0-9_.+-]+)$/;

/** The guest architecture a site-wide emulator name implies. */
const targetOf = (binary: string | undefined): QemuTarget => (binary?.includes("aarch64") ? "aarch64" : binary?.includes("x86_64") ? "x86_64" : hostQemuTarget);

/** Problems with site.conf's qemu keys (the CPU floor, the emulator's name), each with its line. */
export function checkQemuSettings(site: SiteConf): Problem[] {
  const problems: Problem[] = [];
  const binary = siteValue(site, "qemu_binary");
  const at = (key: string) => ({ file: site.file, line: site.values.get(key)?.line ?? 0, path: key });
  if (binary !== undefined && (!binaryPattern.test(binary) || binary.split("/").includes(".."))) problems.push({ ...at("qemu_binary"), message: `"${binary}" is not a program name or an absolute path (e.g. qemu-system-aarch64)` });
  const cpu = siteValue(site, "qemu_cpu");
  const floor = cpu === undefined ? undefined : cpuFloorProblem(cpu, targetOf(binary));
  if (floor !== undefined) problems.push({ ...at("qemu_cpu"), message: floor.replace("benito:qemu_cpu", "qemu_cpu") });
  return problems;
}

/** A qemu node with site.conf's qemu_binary and qemu_cpu as its benito:qemu_* attributes where it gives none. */
export function withQemuDefaults(node: Node, site: SiteConf): Node {
  if (node.nodeType !== "qemu") return node;
  const attributes = new Map(node.attributes);
  let changed = false;
  for (const key of ["qemu_binary", "qemu_cpu"]) {
    const value = siteValue(site, key);
    if (value === undefined || attributes.has(`benito:${key}`) || attributes.has(`containers:${key}`)) continue;
    attributes.set(`benito:${key}`, value);
    changed = true;
  }
  return changed ? { ...node, attributes } : node;
}
