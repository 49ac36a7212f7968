// Node objects for the platform tests, built directly (the plan layer never needs a TopDL file).
import type { Node, NodeInterface } from "../../src/model/node";
import type { PlatformContext } from "../../src/platforms/platform";

/** A context with fixed paths, KVM off (TCG), for pure plan tests. */
export const testContext: PlatformContext = {
  runDir: "/run/benito",
  configDir: "/var/benito/config",
  benito: "/usr/local/bin/benito",
  kvm: false,
  routeHosts: new Set(["web-server", "phys3"]),
};

/** An experimental interface number i on switch /run/vde/lan0, with MAC 02:00:0a:00:00:(i+1). */
export function nic(index: number, overrides: Partial<NodeInterface> = {}): NodeInterface {
  const byte = (index + 1).toString(16).padStart(2, "0");
  return {
    name: `inf${String(index).padStart(3, "0")}`,
    substrate: `lan${index}`,
    control: false,
    ip4: { address: `10.0.${index}.1`, prefixLength: 24 },
    mac: `02:00:0a:00:00:${byte}`,
    vdeSwitch: `/run/vde/lan${index}`,
    vdePort: index + 1,
    ...overrides,
  };
}

/** A node of the given type with attributes and interfaces. */
export function node(name: string, nodeType: string, attributes: Record<string, string>, interfaces: readonly NodeInterface[], extra: Partial<Node> = {}): Node {
  return {
    name,
    localnames: [],
    nodeType,
    host: "pnode0",
    interfaces,
    attributes: new Map([["benito:node_type", nodeType], ...Object.entries(attributes)]),
    path: `elements[${name}].computer`,
    line: 7,
    ...extra,
  };
}

/** A qemu node with one experimental NIC and a control NIC. */
export const qemuOneNic = node("vm1", "qemu", { "benito:qemu_image": "/var/lib/benito/images/base.qcow2", "benito:qemu_memory": "768", "benito:qemu_cpus": "2" }, [
  nic(0),
  { name: "control0", substrate: "control_net", control: true, mac: "02:00:c0:a8:00:05" },
]);

/** A qemu node with seven experimental NICs (the original's limit), a raw base image and a kernel. */
export const qemuSevenNics = node(
  "router-with-a-long-name",
  "qemu",
  { "containers:qemu_image": "/images/router.img", "benito:qemu_kernel": "/boot/vmlinuz", "benito:qemu_initrd": "/boot/initrd", "benito:qemu_append": "console=ttyS0 quiet" },
  [0, 1, 2, 3, 4, 5, 6].map((i) => nic(i)),
);

/** A qemu node whose three NICs are TAPs plugged by benito (`benito:qemu_nic = tap`), with a long name. */
export const qemuTapNics = node("tap-nic-vm-with-a-long-name", "qemu", { "benito:qemu_image": "/images/base.qcow2", "benito:qemu_nic": "tap" }, [0, 1, 2].map((i) => nic(i)));

/** A process node with two NICs and a startup command. */
export const processTwoNics = node("web-server", "process", {}, [nic(0), nic(1)], { startup: "/usr/bin/python3 -m http.server 'port 80'" });

/** An embedded pnode. */
export const embeddedNode = node("phys3", "embedded_pnode", {}, [nic(0)]);

/** One well-formed sample node per platform name, for the conformance suite. */
export const samples: Readonly<Record<string, readonly Node[]>> = {
  qemu: [qemuOneNic, qemuSevenNics, qemuTapNics],
  process: [processTwoNics, node("bare", "process", {}, [])],
  embedded_pnode: [embeddedNode],
};
