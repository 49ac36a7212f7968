// Plans `benito boot`, `status` and `down` for this host's role: ordered stages, each one benito command (pure).
import { hasControlNic } from "../model/control-allocation";
import type { HostView, Node } from "../model/node";

/** Stage interface: one benito command of a boot, status or down, with what it waits for. */
export interface Stage {
  /** Unique within the plan, e.g. "routes" or "child:a". */
  readonly id: string;
  /** The benito command word ("routes", "switch", "vm", …). */
  readonly command: string;
  /** Its arguments. */
  readonly args: readonly string[];
  /** Stages that must have succeeded first; when one failed this stage is skipped. */
  readonly after: readonly string[];
  /** Stages with the same group run in parallel (bounded); others run one at a time, in order. */
  readonly group?: string;
  /**
   * Convergence for things that run (children): arguments of the same command that exit 0 when
   * the thing is healthy (then the stage is not run and nothing of it is touched).
   */
  readonly converge?: { readonly healthy: readonly string[] };
}

/** BootPlan interface: the stages for one host. */
export interface BootPlan {
  readonly host: string;
  /** "pnode" hosts vnodes; "node" is a vnode or embedded pnode configuring itself. */
  readonly role: "pnode" | "node";
  readonly stages: readonly Stage[];
}

/** Where things are, passed through to every stage. */
export interface BootContext {
  /** The vnodes the run dir's ledger holds (launched earlier): those the topology no longer has are stopped. */
  readonly recordedVnodes?: readonly string[];
  /** True when the ledger holds switch daemons or tunnels (down stops them even on a host that is no pnode now). */
  readonly hasSwitchRecords?: boolean;
  /** True when the ledger holds the control bridge's record (down restores the NIC whatever topo.xml says now). */
  readonly hasControlBridgeRecord?: boolean;
  readonly configDir: string;
  readonly runDir: string;
  /** True when route/HOST (or routes/HOST) exists: routes is skipped otherwise. */
  readonly hasRouteFile: boolean;
  /** True when CONFIG_DIR/hosts exists: ifaces also writes /etc/hosts then. */
  readonly hasHostsFile: boolean;
  /** Extra ifaces arguments (tests point --hosts-file at a private file). */
  readonly ifacesArgs?: readonly string[];
}

/** True for a host that launches vnodes. */
export function isPnode(view: HostView): boolean {
  return view.self.nodeType === "pnode" || view.children.length > 0;
}

function ownNetwork(view: HostView, ctx: BootContext): Stage[] {
  const host = view.self.name;
  const stages: Stage[] = [
    { id: "ifaces", command: "ifaces", args: [...(ctx.hasHostsFile ? ["--hosts"] : []), ...(ctx.ifacesArgs ?? []), "--state-dir", ctx.runDir, ctx.configDir, host], after: [] },
  ];
  // Routes need the interfaces' subnets; without a route file there is nothing to route.
  if (ctx.hasRouteFile) stages.push({ id: "routes", command: "routes", args: [ctx.configDir, host], after: [] });
  return stages;
}

function childStage(child: Node, action: "launch" | "stop" | "status", ctx: BootContext, after: readonly string[]): Stage {
  const vmArgs = (verb: string) => [verb, child.name, ctx.configDir, "--run-dir", ctx.runDir];
  const stage: Stage = { id: `${action === "launch" ? "child" : action}:${child.name}`, command: "vm", args: vmArgs(action), after, group: "children" };
  // A healthy child is left alone; otherwise its launch converges: what runs is kept, what is missing or drifted is remade.
  return action === "launch" ? { ...stage, converge: { healthy: vmArgs("status") } } : stage;
}

/**
 * The boot of a host: its own interfaces and routes; on a pnode then its switches and shaping,
 * the control bridge and control addresses (when a child VM has a control NIC), then every
 * child through its platform, in parallel.
 */
export function planBoot(view: HostView, ctx: BootContext): BootPlan {
  const host = view.self.name;
  const stages = ownNetwork(view, ctx);
  if (!isPnode(view)) return { host, role: "node", stages };
  const pnodeArgs = ["--run-dir", ctx.runDir, ctx.configDir, host];
  stages.push({ id: "switch", command: "switch", args: ["up", ...pnodeArgs], after: [] });
  const childAfter = ["switch"];
  if (view.children.some(hasControlNic)) {
    stages.push({ id: "control-net", command: "control-net", args: ["allocate", "--host", host, "--run-dir", ctx.runDir, ctx.configDir], after: [] });
    stages.push({ id: "control-bridge", command: "control-bridge", args: ["up", ...pnodeArgs], after: [] });
    childAfter.push("control-net");
  }
  const removed = removals(view, ctx);
  stages.push(...removed);
  // A control bridge benito made that no child needs any more: the NIC gets its addresses and routes back (after the removed VMs leave their TAPs).
  if (!view.children.some(hasControlNic) && ctx.hasControlBridgeRecord === true) stages.push({ id: "control-bridge", command: "control-bridge", args: ["down", "--run-dir", ctx.runDir], after: removed.map((stage) => stage.id) });
  for (const child of view.children) stages.push(childStage(child, "launch", ctx, childAfter));
  return { host, role: "pnode", stages };
}

/** A `vm stop` for each vnode the ledger holds that the topology no longer has (it goes with its TAPs, plugs, namespace and records). */
function removals(view: HostView, ctx: BootContext): Stage[] {
  const wanted = new Set(view.children.map((child) => child.name));
  return (ctx.recordedVnodes ?? [])
    .filter((name) => !wanted.has(name))
    .map((name) => ({ id: `remove:${name}`, command: "vm", args: ["stop", name, ctx.configDir, "--run-dir", ctx.runDir], after: [], group: "removals" }));
}

/** What `benito status` looks at: each child, the switches and the control bridge. */
export function planStatus(view: HostView, ctx: BootContext): BootPlan {
  const host = view.self.name;
  if (!isPnode(view)) return { host, role: "node", stages: [] };
  const stages: Stage[] = [{ id: "switch", command: "switch", args: ["status", "--run-dir", ctx.runDir, ctx.configDir, host], after: [] }];
  // Also when only the ledger holds it: a move cut short shows there.
  if (view.children.some(hasControlNic) || ctx.hasControlBridgeRecord === true) stages.push({ id: "control-bridge", command: "control-bridge", args: ["status", "--run-dir", ctx.runDir, ctx.configDir, host], after: [] });
  for (const child of view.children) stages.push(childStage(child, "status", ctx, []));
  return { host, role: "pnode", stages };
}

/**
 * The reverse of boot: children first (in parallel), then the control bridge, then the switches,
 * then this host's own routes and addresses (only benito's: protocol mark and address record).
 */
export function planDown(view: HostView, ctx: BootContext): BootPlan {
  const host = view.self.name;
  const stages: Stage[] = [];
  const recorded = ctx.recordedVnodes ?? [];
  if (isPnode(view) || recorded.length > 0) {
    // Exactly what the ledger holds goes, whatever topo.xml says now.
    stages.push(...recorded.map((name): Stage => ({ id: `stop:${name}`, command: "vm", args: ["stop", name, ctx.configDir, "--run-dir", ctx.runDir], after: [], group: "children" })));
    if (view.children.some(hasControlNic) || ctx.hasControlBridgeRecord === true) stages.push({ id: "control-bridge", command: "control-bridge", args: ["down", "--run-dir", ctx.runDir], after: [] });
  }
  if (isPnode(view) || recorded.length > 0 || ctx.hasSwitchRecords === true) stages.push({ id: "switch", command: "switch", args: ["down", "--run-dir", ctx.runDir, ctx.configDir, host], after: [] });
  stages.push({ id: "routes", command: "routes", args: ["--remove-all", "--wait", "0", ctx.configDir, host], after: [] });
  stages.push({ id: "ifaces", command: "ifaces", args: ["--remove-all", "--state-dir", ctx.runDir, ctx.configDir, host], after: [] });
  return { host, role: isPnode(view) ? "pnode" : "node", stages };
}

/** One stage as the command line it amounts to (for the dry run and the status file). */
export function stageCommandLine(stage: Stage): string {
  return ["benito", stage.command, ...stage.args].join(" ");
}
