// The `qemu` platform: a VM per vnode, NICs on VDE switch ports, a control NIC on a TAP, a qcow2 overlay and a config disk.
import { basename, join } from "node:path";
import * as v from "valibot";
import type { Node } from "../../model/node";
import type { Plan, Step } from "../../plan/step";
import { vmNicLinkNames } from "../names";
import { attribute, experimentalInterfaces, wholeNumberText, type AttributeProblem, type Platform, type PlatformContext, type StatusCheck } from "../platform";
import { kernelMemberRemoval, kernelPortName, kernelTapSteps, type LanDatapath } from "../../plan/datapath-plan";
import { InputError } from "../../errors";
import { formatProblem } from "../../topdl/problems";
import { hostNamePattern } from "../../guest/config-disk";
import { baseImageFormat, nicMode, qemuArgv } from "./argv";
import { cpuFloorProblem, qemuBinary, qemuTarget } from "./cpu";
import { vmLayout } from "./layout";

/** How long `vm stop` waits for the guest to power off after system_powerdown before SIGKILL. */
export const powerdownGraceMs = 15_000;

/** How long QEMU may take to create its sockets and daemonize. */
const startTimeoutMs = 20_000;

/** The most experimental NICs a VM gets (PCI slots left after disks and the control NIC). */
export const maxNics = 24;

const absolutePath = (what: string) => v.pipe(v.string(), v.regex(/^\/./, `${what} must be an absolute path`), v.check((path) => !path.split("/").includes(".."), `${what} must not contain ".."`));

const attributes = v.looseObject({
  "benito:qemu_image": v.pipe(v.string("benito:qemu_image (the base disk image) is required"), absolutePath("the base image")),
  "benito:qemu_image_format": v.optional(v.picklist(["qcow2", "raw"], "must be qcow2 or raw")),
  "benito:qemu_memory": v.optional(wholeNumberText(64, 1_048_576, "memory (MiB)")),
  "benito:qemu_cpus": v.optional(wholeNumberText(1, 64, "the CPU count")),
  "benito:qemu_kernel": v.optional(absolutePath("the kernel")),
  "benito:qemu_initrd": v.optional(absolutePath("the initrd")),
  "benito:qemu_append": v.optional(v.string()),
  "benito:qemu_cpu": v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.+=,-]{1,200}$/, "must be a QEMU -cpu value: a model, then comma-separated features (e.g. Nehalem or max,+pdpe1gb)"))),
  "benito:qemu_binary": v.optional(v.pipe(v.string(), v.regex(/^(\/[A-Za-z0-9_.+\/-]+|[A-Za-z0-9_.+-]+)$/, "must be a program name or an absolute path (e.g. qemu-system-aarch64)"), v.check((path) => !path.split("/").includes(".."), 'must not contain ".."'))),
  "benito:qemu_nic": v.optional(v.picklist(["vde", "tap"], "must be vde (QEMU's own VDE backend) or tap (a TAP plugged by benito)")),
});

const macPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Interface checks: every experimental NIC needs a unicast MAC, and one on a VDE LAN a switch folder and a port. */
function checkNode(node: Node, datapaths?: ReadonlyMap<string, LanDatapath>): AttributeProblem[] {
  const problems: AttributeProblem[] = [];
  const nics = experimentalInterfaces(node);
  const where = (name: string) => `${node.path}.interface[${name}]`;
  if (!hostNamePattern.test(node.name)) problems.push({ line: node.line, path: node.path, message: `the name "${node.name}" becomes the guest's hostname: use letters, digits, "-", "_", "." (at most 63)` });
  if (nics.length > maxNics) problems.push({ line: node.line, path: node.path, message: `a qemu node has at most ${maxNics} experimental interfaces, this one has ${nics.length}` });
  for (const nic of node.interfaces) {
    if (nic.mac !== undefined && (!macPattern.test(nic.mac) || (Number.parseInt(nic.mac.slice(0, 2), 16) & 1) === 1)) {
      problems.push({ line: node.line, path: where(nic.name), message: `benito:mac_address "${nic.mac}" is not a unicast MAC address (six hex bytes, e.g. 02:00:0a:01:01:02)` });
    }
  }
  for (const nic of nics) {
    if (nic.mac === undefined) problems.push({ line: node.line, path: where(nic.name), message: "benito:mac_address is required: the guest finds its interfaces by MAC" });
    if (nic.vdeSwitch !== undefined && !nic.vdeSwitch.startsWith("/")) problems.push({ line: node.line, path: where(nic.name), message: "benito:vde_switch must be the switch's absolute socket folder" });
  }
  // A switch and port are needed on a VDE LAN only: checked when the LANs' datapaths are known.
  if (datapaths !== undefined) problems.push(...vdeNicProblems(node, datapaths));
  const cpu = attribute(node, "qemu_cpu");
  const cpuProblem = cpu === undefined ? undefined : cpuFloorProblem(cpu, qemuTarget(node));
  if (cpuProblem !== undefined) problems.push({ line: node.line, path: node.path, message: cpuProblem });
  if (qemuTarget(node) === "aarch64" && attribute(node, "qemu_kernel") === undefined) {
    problems.push({ line: node.line, path: node.path, message: "an aarch64 VM (qemu-system-aarch64, machine virt) boots its kernel directly: give benito:qemu_kernel (disk boot needs UEFI firmware, which benito does not configure)" });
  }
  if (attribute(node, "qemu_initrd") !== undefined && attribute(node, "qemu_kernel") === undefined) {
    problems.push({ line: node.line, path: node.path, message: "benito:qemu_initrd needs benito:qemu_kernel" });
  }
  return problems;
}

/** The plug's pidfile of NIC `index` in `tap` mode. */
function plugPidfile(dir: string, index: number): string {
  return join(dir, `plug-${index}.pid`);
}

/** The kernel LAN of each experimental NIC on one (by NIC index): its TAP and datapath. */
function kernelNics(node: Node, ctx: PlatformContext): Map<number, { tap: string; datapath: Extract<LanDatapath, { kind: "kernel" }> }> {
  const found = new Map<number, { tap: string; datapath: Extract<LanDatapath, { kind: "kernel" }> }>();
  experimentalInterfaces(node).forEach((nic, index) => {
    const datapath = ctx.datapaths?.get(nic.substrate);
    if (datapath?.kind === "kernel") found.set(index, { tap: kernelPortName(node.name, nic.name, datapath.scope), datapath });
  });
  return found;
}

/** The NICs on a kernel LAN: each a TAP on the LAN's bridge (then shaped), which QEMU opens by name. */
function kernelNicSteps(node: Node, ctx: PlatformContext): Step[] {
  const nics = experimentalInterfaces(node);
  return [...kernelNics(node, ctx)].flatMap(([index, { datapath }]) => {
    const nic = nics[index];
    return nic === undefined ? [] : kernelTapSteps({ node: node.name, iface: nic.name, lan: nic.substrate, id: `net${index}` }, datapath);
  });
}

/** Each NIC on a VDE LAN without its switch and port (a NIC on a kernel LAN needs neither). */
function vdeNicProblems(node: Node, datapaths: ReadonlyMap<string, LanDatapath> | undefined): AttributeProblem[] {
  return experimentalInterfaces(node).flatMap((nic) => {
    const datapath = datapaths?.get(nic.substrate);
    if (datapath?.kind === "kernel" || (nic.vdeSwitch !== undefined && nic.vdePort !== undefined)) return [];
    return [{ line: node.line, path: `${node.path}.interface[${nic.name}]`, message: `LAN ${nic.substrate} uses the VDE datapath (${datapath?.reason ?? "the default"}): benito:vde_switch and benito:vde_port are required` }];
  });
}

/** Every NIC on a VDE LAN needs its switch and port; all such problems at once (boot's validation lists them before any change). */
function checkVdeNics(node: Node, ctx: PlatformContext): void {
  const missing = vdeNicProblems(node, ctx.datapaths);
  if (missing.length > 0) throw new InputError("planning the qemu vnode", node.name, `${missing.length} interface${missing.length === 1 ? "" : "s"} without a VDE switch`, missing.map((problem) => formatProblem({ file: join(ctx.configDir, "topo.xml"), ...problem })));
}

/**
 * `tap` mode: per NIC, the TAP QEMU opens and the TAP benito's plug opens, joined by a bridge
 * (QEMU and the plug cannot share one TAP's file descriptor), and the plug on the switch port.
 */
function tapNicSteps(node: Node, ctx: PlatformContext, dir: string): Step[] {
  if (nicMode(node) !== "tap") return [];
  const kernel = kernelNics(node, ctx);
  return experimentalInterfaces(node).flatMap((nic, index): Step[] => {
    if (kernel.has(index)) return [];
    const links = vmNicLinkNames(node.name, index);
    const pidfile = plugPidfile(dir, index);
    return [
      { kind: "tap.create", id: `tap-qemu-${index}`, name: links.qemuTap },
      { kind: "tap.create", id: `tap-plug-${index}`, name: links.plugTap },
      { kind: "bridge.create", id: `bridge-${index}`, name: links.bridge, members: [links.qemuTap, links.plugTap] },
      {
        kind: "process.start",
        id: `plug-${index}`,
        argv: [ctx.benito, "vde", "plug", "--switch", nic.vdeSwitch ?? "", "--port", String(nic.vdePort ?? 0), "--tap", links.plugTap, "--reconnect", "--daemon", "--pidfile", pidfile],
        pidfile,
        log: join(dir, `plug-${index}.log`),
        daemonizes: true,
        restartWhen: [`tap-plug-${index}`],
      },
    ];
  });
}

/** The inverse of {@link tapNicSteps}, in reverse order. */
function tapNicTeardown(node: Node, ctx: PlatformContext, dir: string): Step[] {
  if (nicMode(node) !== "tap") return [];
  const kernel = kernelNics(node, ctx);
  return experimentalInterfaces(node)
    .flatMap((_, index): Step[] => {
      if (kernel.has(index)) return [];
      const links = vmNicLinkNames(node.name, index);
      return [
        { kind: "tap.delete", id: `tap-qemu-${index}`, name: links.qemuTap },
        { kind: "tap.delete", id: `tap-plug-${index}`, name: links.plugTap },
        { kind: "bridge.delete", id: `bridge-${index}`, name: links.bridge },
        { kind: "process.stop", id: `plug-${index}`, pidfile: plugPidfile(dir, index), program: basename(ctx.benito), graceMs: 5_000 },
        { kind: "file.delete", id: `rm-plug-log-${index}`, path: join(dir, `plug-${index}.log`) },
      ];
    })
    .reverse();
}

function plan(node: Node, ctx: PlatformContext): Plan {
  const layout = vmLayout(ctx.runDir, node.name);
  checkVdeNics(node, ctx);
  const kernel = kernelNics(node, ctx);
  const kernelSteps = kernelNicSteps(node, ctx);
  return {
    title: `launch ${node.name} on qemu (${ctx.kvm ? "KVM" : "TCG"})`,
    steps: [
      { kind: "dir.create", id: "vm-dir", path: layout.dir },
      ...kernelSteps,
      ...tapNicSteps(node, ctx, layout.dir),
      { kind: "disk.overlay", id: "overlay", base: attribute(node, "qemu_image") ?? "", baseFormat: baseImageFormat(node), path: layout.overlay },
      { kind: "config.disk", id: "config-disk", configDir: ctx.configDir, hostname: node.name, path: layout.configDisk },
      {
        kind: "process.start",
        id: "qemu",
        argv: qemuArgv(node, layout, ctx.kvm, new Map([...kernel].map(([index, { tap }]) => [index, tap]))),
        pidfile: layout.pidfile,
        log: layout.log,
        readyPath: layout.qmp,
        readyTimeoutMs: startTimeoutMs,
        daemonizes: true,
        // A kernel NIC's TAP made again (deleted behind benito's back): QEMU holds the old one and is restarted on the same overlay.
        ...(kernel.size > 0 && { restartWhen: kernelSteps.filter((step) => step.kind === "kernel.tap").map((step) => step.id) }),
      },
    ],
  };
}

function stop(node: Node, ctx: PlatformContext): Plan {
  const layout = vmLayout(ctx.runDir, node.name);
  return {
    title: `stop ${node.name} on qemu`,
    steps: [
      { kind: "vm.powerdown", id: "qemu", qmp: layout.qmp, pidfile: layout.pidfile, program: basename(qemuBinary(node)), graceMs: powerdownGraceMs },
      ...[layout.qmp, layout.serialSocket, layout.pidfile, layout.configDisk, layout.overlay, layout.serialLog, layout.log].map((path, index) => ({ kind: "file.delete" as const, id: `rm-${index}`, path })),
      ...tapNicTeardown(node, ctx, layout.dir),
      // Every NIC's kernel links, whichever datapath it used (site.conf may have changed since): each removal is a no-op when absent.
      ...experimentalInterfaces(node).map((nic, index) => kernelMemberRemoval(node.name, nic.name, `net${index}`, ctx.runDir)).reverse().flat(),
      { kind: "dir.delete", id: "vm-dir", path: layout.dir },
    ],
  };
}

/** The `qemu` platform. */
export const qemuPlatform: Platform = {
  names: ["qemu"],
  summary: "a QEMU/KVM virtual machine (TCG when KVM does not work), NICs on VDE switch ports or TAPs on kernel LAN bridges",
  attributes,
  requirements: [
    { kind: "program", name: "qemu-img", why: "creates the copy-on-write overlay (Debian package qemu-utils)" },
    { kind: "device", path: "/dev/net/tun", why: "the control NIC is a TAP" },
  ],
  nodeRequirements: (node) => [
    { kind: "program", name: qemuBinary(node), why: `runs the VM (Debian package ${qemuTarget(node) === "aarch64" ? "qemu-system-arm" : "qemu-system-x86"})` },
  ],
  // On a kernel LAN a NIC is a TAP on the LAN's bridge (QEMU's -netdev tap), so QEMU needs no VDE socket.
  kernelDatapath: true,
  checkNode,
  plan,
  stop,
  status(node, ctx) {
    const layout = vmLayout(ctx.runDir, node.name);
    const kernel = kernelNics(node, ctx);
    const plugs = nicMode(node) === "tap" ? experimentalInterfaces(node).flatMap((_, index) => (kernel.has(index) ? [] : [{ kind: "process" as const, label: `plug ${index}`, pidfile: plugPidfile(layout.dir, index), program: basename(ctx.benito) }])) : [];
    return [
      { kind: "process", label: "qemu", pidfile: layout.pidfile, program: basename(qemuBinary(node)) },
      { kind: "qmp", label: "guest", socket: layout.qmp },
      ...plugs,
      // A kernel NIC: its TAP is there, a port of its LAN's bridge, and up.
      ...[...kernel].map(([index, { tap, datapath }]): StatusCheck => ({ kind: "link", label: `nic ${index}`, name: tap, master: datapath.bridge })),
    ];
  },
  nicDevice(node, nic, datapath) {
    // On a kernel LAN: the TAP on the bridge that QEMU opened, exactly the VM's frames.
    if (datapath?.kind === "kernel") return { kind: "device", device: kernelPortName(node.name, nic.name, datapath.scope) };
    const index = experimentalInterfaces(node).indexOf(nic);
    if (nicMode(node) !== "tap" || index < 0) {
      return { kind: "none", reason: `its NICs use QEMU's own VDE backend, which has no device on the pnode; give the node benito:qemu_nic = tap (or put its LAN on the kernel datapath) to capture its frames` };
    }
    // The TAP QEMU itself opens: exactly the VM's frames.
    return { kind: "device", device: vmNicLinkNames(node.name, index).qemuTap };
  },
};
