// The `process` platform: a node is a network namespace whose TAPs the pnode's forwarder joins to switch ports, with its startup command running inside.
import { basename, join } from "node:path";
import * as v from "valibot";
import type { Node } from "../../model/node";
import type { Plan, Step } from "../../plan/step";
import { interfaceTapName, namespaceName, nodeFolderName } from "../names";
import { experimentalInterfaces, type AttributeProblem, type Platform, type PlatformContext, type StatusCheck } from "../platform";
import { kernelMemberRemoval, kernelMemberSteps, kernelPortName } from "../../plan/datapath-plan";
import { InputError } from "../../errors";
import { shellIn, splitWords } from "./words";

/** How long a stopped startup command may take to exit after SIGTERM. */
const stopGraceMs = 5_000;

/** The folder of a process node under the run folder: pidfiles and logs. */
function nodeDir(ctx: PlatformContext, node: Node): string {
  return join(ctx.runDir, "ns", nodeFolderName(node.name));
}

/** The startup argv, or undefined when the node has none (validated by checkNode). */
function startupArgv(node: Node): string[] | undefined {
  if (node.startup === undefined || node.startup.trim() === "") return undefined;
  const words = splitWords(node.startup);
  return Array.isArray(words) ? words : undefined;
}

function checkNode(node: Node): AttributeProblem[] {
  const problems: AttributeProblem[] = [];
  const taps = new Map<string, string>();
  for (const nic of experimentalInterfaces(node)) {
    const where = `${node.path}.interface[${nic.name}]`;
    // Not needed on a kernel LAN: whether one is needed depends on the LAN's datapath (checked when planning).
    if (nic.vdeSwitch !== undefined && !nic.vdeSwitch.startsWith("/")) problems.push({ line: node.line, path: where, message: "benito:vde_switch must be the switch's absolute socket folder" });
    if (nic.mac === undefined && nic.ifname === undefined) problems.push({ line: node.line, path: where, message: "benito:mac_address (or benito:ifname) is required: benito ifaces finds the interface by it" });
    if (nic.ifname !== undefined && (!/^[A-Za-z0-9_.-]{1,15}$/.test(nic.ifname) || nic.ifname === "." || nic.ifname === "..")) {
      problems.push({ line: node.line, path: where, message: `benito:ifname "${nic.ifname}" is not an interface name (at most 15 bytes of letters, digits, "_", "-", ".")` });
    }
    const tap = tapName(nic);
    const clash = taps.get(tap);
    if (clash !== undefined) problems.push({ line: node.line, path: where, message: `its TAP name ${tap} is also interface ${clash}'s` });
    taps.set(tap, nic.name);
  }
  if (node.startup !== undefined && node.startup.trim() !== "") {
    const words = splitWords(node.startup);
    if (!Array.isArray(words)) problems.push({ line: node.line, path: `${node.path}.startup`, message: `startup: ${words.error}` });
    else {
      const shell = shellIn(words);
      if (shell !== undefined) problems.push({ line: node.line, path: `${node.path}.startup`, message: `startup runs ${shell}: benito never runs a shell; name the program and its arguments` });
    }
  }
  return problems;
}

/** The forwarder port of one of the node's TAPs (unique on the pnode, file-name safe). */
function forwarderPort(node: Node, tap: string): string {
  return `ns-${nodeFolderName(node.name)}.${tap}`;
}

/** The TAP of an interface: its benito:ifname when given (the name ifaces expects), else the TopDL name. */
function tapName(nic: Node["interfaces"][number]): string {
  return nic.ifname ?? interfaceTapName(nic.name);
}

function plan(node: Node, ctx: PlatformContext): Plan {
  const netns = namespaceName(node.name);
  const dir = nodeDir(ctx, node);
  const placement = { netns };
  const steps: Step[] = [
    { kind: "dir.create", id: "dir", path: dir },
    { kind: "netns.create", id: "netns", name: netns },
  ];
  const missing: string[] = [];
  for (const nic of experimentalInterfaces(node)) {
    const tap = tapName(nic);
    const datapath = ctx.datapaths?.get(nic.substrate);
    if (datapath?.kind === "kernel") {
      steps.push(...kernelMemberSteps({ node: node.name, iface: nic.name, lan: nic.substrate, ifname: tap, mac: nic.mac, placement }, datapath));
      continue;
    }
    if (nic.vdeSwitch === undefined || nic.vdePort === undefined) {
      missing.push(`${node.path}.interface[${nic.name}]: LAN ${nic.substrate} uses the VDE datapath (${datapath?.reason ?? "the default"}): benito:vde_switch and benito:vde_port are required`);
      continue;
    }
    steps.push({ kind: "tap.create", id: `tap-${tap}`, name: tap, mac: nic.mac, placement });
    // A remade namespace or TAP leaves the forwarder holding the old TAP: the port is opened again.
    steps.push({ kind: "forwarder.port", id: `port-${tap}`, runDir: ctx.runDir, port: forwarderPort(node, tap), tap, placement, switchDir: nic.vdeSwitch, switchPort: nic.vdePort, owner: `node ${node.name}`, restartWhen: ["netns", `tap-${tap}`] });
  }
  if (missing.length > 0) throw new InputError("planning the process vnode", node.name, `${missing.length} interface${missing.length === 1 ? "" : "s"} without a VDE switch`, missing);
  // Its address record goes to the pnode's ledger (the run dir), never to a path of its own.
  steps.push({ kind: "command.run", id: "ifaces", argv: [ctx.benito, "ifaces", "--state-dir", ctx.runDir, ctx.configDir, node.name], placement });
  if (ctx.routeHosts.has(node.name)) steps.push({ kind: "command.run", id: "routes", argv: [ctx.benito, "routes", ctx.configDir, node.name], placement });
  const startup = startupArgv(node);
  if (startup !== undefined) {
    steps.push({ kind: "process.start", id: "startup", argv: startup, pidfile: join(dir, "startup.pid"), log: join(dir, "startup.log"), placement, restartWhen: ["netns"] });
  }
  return { title: `launch ${node.name} as a process in namespace ${netns}`, steps };
}

function stop(node: Node, ctx: PlatformContext): Plan {
  const netns = namespaceName(node.name);
  const dir = nodeDir(ctx, node);
  const placement = { netns };
  const steps: Step[] = [];
  const files: string[] = [];
  const startup = startupArgv(node);
  if (startup !== undefined) {
    // Known by its namespace, not its name: a script runs as its interpreter (and may exec another program).
    steps.push({ kind: "process.stop", id: "startup", pidfile: join(dir, "startup.pid"), graceMs: stopGraceMs, program: basename(startup[0] ?? ""), netns });
    files.push(join(dir, "startup.log"));
  }
  // Both datapaths' leftovers go, whichever the NIC used (site.conf may have changed since): each removal is a no-op when absent.
  // Kind by kind, so the link deletions are consecutive steps: the executor sends them to the kernel as one batch.
  const nics = [...experimentalInterfaces(node)].reverse();
  for (const nic of nics) steps.push({ kind: "forwarder.unport", id: `port-${tapName(nic)}`, runDir: ctx.runDir, port: forwarderPort(node, tapName(nic)) });
  for (const nic of nics) steps.push(...kernelMemberRemoval(node.name, nic.name, tapName(nic), ctx.runDir));
  for (const nic of nics) steps.push({ kind: "tap.delete", id: `tap-${tapName(nic)}`, name: tapName(nic), placement });
  steps.push({ kind: "netns.delete", id: "netns", name: netns });
  files.forEach((path, index) => steps.push({ kind: "file.delete", id: `rm-${index}`, path }));
  steps.push({ kind: "dir.delete", id: "dir", path: dir });
  return { title: `stop ${node.name} (namespace ${netns})`, steps };
}

/** The `process` platform (stands in for the original's ViewOS processes). */
export const processPlatform: Platform = {
  names: ["process"],
  summary: "a network namespace with TAPs the pnode's forwarder joins to VDE switch ports, running the element's startup command",
  attributes: v.looseObject({}),
  // Namespaces are benito's own (`benito netns`, through libc): no iproute2 needed.
  requirements: [{ kind: "device", path: "/dev/net/tun", why: "each interface on a VDE LAN is a TAP" }],
  kernelDatapath: true,
  checkNode,
  plan,
  stop,
  // The TAP inside the node's namespace: the node's own view of its NIC.
  nicDevice: (node, nic) => ({ kind: "device", device: tapName(nic), netns: namespaceName(node.name) }),
  status(node, ctx) {
    const dir = nodeDir(ctx, node);
    const startup = startupArgv(node);
    return [
      { kind: "netns", label: "namespace", name: namespaceName(node.name) },
      ...experimentalInterfaces(node).map((nic): StatusCheck => {
        const datapath = ctx.datapaths?.get(nic.substrate);
        if (datapath?.kind === "kernel") return { kind: "link", label: `port ${tapName(nic)}`, name: kernelPortName(node.name, nic.name, datapath.scope), master: datapath.bridge };
        return { kind: "forwarder-port", label: `port ${tapName(nic)}`, runDir: ctx.runDir, port: forwarderPort(node, tapName(nic)), switchDir: nic.vdeSwitch ?? "", program: basename(ctx.benito) };
      }),
      ...(startup === undefined ? [] : [{ kind: "process" as const, label: "startup", pidfile: join(dir, "startup.pid"), program: basename(startup[0] ?? ""), netns: namespaceName(node.name) }]),
      // Inside the node: its addresses and NIC states, its routes (dry runs looking into its namespace).
      { kind: "dry-run", label: "addresses", netns: namespaceName(node.name), command: "ifaces", args: ["--dry-run", "--json", "--state-dir", ctx.runDir, ctx.configDir, node.name], changeKeys: ["configured", "changed", "missing", "failed"] },
      ...(ctx.routeHosts.has(node.name)
        ? [{ kind: "dry-run" as const, label: "routes", netns: namespaceName(node.name), command: "routes" as const, args: ["--dry-run", "--json", "--wait", "0", ctx.configDir, node.name], changeKeys: ["added", "changed", "removed", "failed"] }]
        : []),
    ];
  },
};
