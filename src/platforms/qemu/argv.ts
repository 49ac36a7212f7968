// The QEMU command line of one VM, built as an argv array from the node and its folder layout.
import { configDiskSerial } from "../../guest/config-disk";
import type { Node } from "../../model/node";
import { attribute, experimentalInterfaces } from "../platform";
import { controlTapName, vmNicLinkNames } from "../names";
import { qemuBinary, qemuTarget } from "./cpu";
import type { VmLayout } from "./layout";

/** Default guest memory in MiB: a compiled benito alone is ~110 MB, and an initramfs guest holds it in RAM. */
export const defaultMemoryMib = 512;

/** QEMU option values are comma-separated: a literal comma is written twice. */
function escapeValue(value: string): string {
  return value.replaceAll(",", ",,");
}

/** How the VM's experimental NICs reach their switches: QEMU's VDE backend (default) or TAPs benito plugs. */
export function nicMode(node: Node): "vde" | "tap" {
  return attribute(node, "qemu_nic") === "tap" ? "tap" : "vde";
}

/** The overlay's base format: the attribute when given, else "raw" for .raw/.img files and "qcow2" otherwise. */
export function baseImageFormat(node: Node): "qcow2" | "raw" {
  const given = attribute(node, "qemu_image_format");
  if (given === "raw" || given === "qcow2") return given;
  return /\.(raw|img)$/i.test(attribute(node, "qemu_image") ?? "") ? "raw" : "qcow2";
}

/**
 * The full argv (argv[0] = the emulator, {@link qemuBinary}) for a node that passed validation.
 *
 * Machine: `pc` for x86_64 guests, `virt` for aarch64 ones. CPU: `benito:qemu_cpu` (checked
 * against the floor at validation), else `-cpu host` under KVM and `-cpu max` under TCG — QEMU's
 * default qemu64 lacks SSE4.2/POPCNT and a compiled benito dies with "Illegal instruction" in it.
 * QEMU daemonizes itself after its sockets exist and writes the pidfile. `kernelTaps` names, by NIC
 * index, the TAP of each NIC on a kernel LAN (see kernelTapSteps).
 */
export function qemuArgv(node: Node, layout: VmLayout, kvm: boolean, kernelTaps: ReadonlyMap<number, string> = new Map()): string[] {
  const memory = attribute(node, "qemu_memory") ?? String(defaultMemoryMib);
  const cpus = attribute(node, "qemu_cpus") ?? "1";
  const argv = [
    qemuBinary(node),
    "-name", `guest=${escapeValue(node.name)}`,
    "-machine", qemuTarget(node) === "aarch64" ? "virt" : "pc",
    "-accel", kvm ? "kvm" : "tcg",
    "-cpu", attribute(node, "qemu_cpu") ?? (kvm ? "host" : "max"),
    "-m", memory,
    "-smp", cpus,
    "-nodefaults",
    "-no-user-config",
    "-display", "none",
    "-daemonize",
    "-pidfile", layout.pidfile,
    "-chardev", `socket,id=serial0,path=${escapeValue(layout.serialSocket)},server=on,wait=off,logfile=${escapeValue(layout.serialLog)}`,
    "-serial", "chardev:serial0",
    "-chardev", `socket,id=qmp,path=${escapeValue(layout.qmp)},server=on,wait=off`,
    "-mon", "chardev=qmp,mode=control",
    "-drive", `if=none,id=disk0,file=${escapeValue(layout.overlay)},format=qcow2`,
    "-device", "virtio-blk-pci,drive=disk0",
    "-drive", `if=none,id=config,file=${escapeValue(layout.configDisk)},format=raw,readonly=on`,
    "-device", `virtio-blk-pci,drive=config,serial=${configDiskSerial}`,
  ];
  // No option ROM on the NICs: iPXE only slows the boot, and guests never boot from the network here.
  const tapMode = nicMode(node) === "tap";
  experimentalInterfaces(node).forEach((nic, index) => {
    // On a kernel LAN: the TAP benito put on the LAN's bridge, whatever benito:qemu_nic says (it chooses how to reach a VDE switch).
    const kernelTap = kernelTaps.get(index);
    if (kernelTap !== undefined) argv.push("-netdev", `tap,id=net${index},ifname=${kernelTap},script=no,downscript=no`);
    else if (tapMode) argv.push("-netdev", `tap,id=net${index},ifname=${vmNicLinkNames(node.name, index).qemuTap},script=no,downscript=no`);
    else argv.push("-netdev", `vde,id=net${index},sock=${escapeValue(nic.vdeSwitch ?? "")},port=${nic.vdePort ?? 0}`);
    argv.push("-device", `virtio-net-pci,netdev=net${index}${nic.mac ? `,mac=${nic.mac}` : ""},romfile=`);
  });
  const control = node.interfaces.find((nic) => nic.control);
  if (control !== undefined) {
    // QEMU creates this TAP itself and it vanishes with the VM; the control-net layer bridges it.
    argv.push("-netdev", `tap,id=control,ifname=${controlTapName(node.name)},script=no,downscript=no`);
    argv.push("-device", `virtio-net-pci,netdev=control${control.mac ? `,mac=${control.mac}` : ""},romfile=`);
  }
  const kernel = attribute(node, "qemu_kernel");
  if (kernel !== undefined) {
    argv.push("-kernel", kernel);
    const initrd = attribute(node, "qemu_initrd");
    if (initrd !== undefined) argv.push("-initrd", initrd);
    const append = attribute(node, "qemu_append");
    if (append !== undefined) argv.push("-append", append);
  }
  return argv;
}
