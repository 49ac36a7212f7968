// Runs plan steps for real, through src/system: the one executor every platform's plan goes through.
import { basename } from "node:path";
import { BenitoError, messageOf } from "../errors";
import { buildConfigDisk } from "../guest/config-disk";
import type { HostRequirement } from "../platforms/platform";
import { removedWithNamespace, renderStep, type Placement, type Step } from "../plan/step";
import { kernelMark } from "../plan/datapath-plan";
import { Rtnl } from "../system/netlink/rtnl";
import type { LinkInfo } from "../system/netlink/types";
import { failpoint } from "../system/failpoints";
import { deleteNamespace, ensureNamespace, namespaceDir, namespaceExists } from "../system/netns";
import { appendToFile, exists, makeDir, removeEmptyDir, removeFile, writeWholeFile } from "../system/paths";
import { deviceExists, findProgram } from "../system/presence";
import { isRunning, pidfileState, runProgram, startDetached, startSelfDaemonizing, stopByPidfile, stopNamespaceProcesses, type ProgramResult } from "../system/processes";
import { qmpCommand } from "../system/qmp";
import { createTap, deleteTap, interfaceExists, parseMac } from "../system/tap";
import { addForwarderPort, removeForwarderPort } from "../system/vde/forwarder-control";
import { deleteLinkBatched } from "./link-deletions";
import { readTree } from "../system/tree";

/** RunOptions interface: how steps are run. */
export interface RunOptions {
  /** The benito executable that runs helper commands inside a namespace (`benito tap create`). */
  readonly benito: string;
  /** Called with each step's dry-run line before it runs (progress). */
  readonly progress?: (line: string) => void;
  /**
   * "setup" stops at the first failure; "teardown" goes on (removing as much as it can) and
   * reports every failure at the end.
   */
  readonly mode: "setup" | "teardown";
  /**
   * Convergent setup (a launch over what an earlier run left): a step whose result is there
   * already is kept (a running process, an existing TAP, namespace or disk overlay) instead of
   * failing, and command steps (ifaces, routes: idempotent) run again in place.
   */
  readonly converge?: boolean;
  /** Failpoints are named `step:PREFIX:ID` (PREFIX: the node). */
  readonly failpointPrefix?: string;
  /**
   * The steps run under a ledger intent that names every link they make (a vnode's record, not
   * yet confirmed): an unmarked kernel-datapath link of the kind a step makes, under its exact
   * derived name, is one a crash left between making and marking it — setup marks and keeps it,
   * teardown deletes it — instead of refusing it as someone else's.
   */
  readonly underIntent?: boolean;
  /** Filled with each command step's exit and last output line, by step id (the ledger keeps them). */
  readonly results?: Record<string, { code: number; detail: string }>;
  /**
   * Runs one of benito's own commands in this process (its arguments after the executable). A
   * command step of the benito executable that can act on a namespace from outside (`ifaces`,
   * `routes` with `--netns`) is run so instead of as a helper program: each helper is a Bun
   * start-up, which was most of the CPU of booting a pnode with many process vnodes.
   */
  readonly runOwn?: (args: readonly string[]) => Promise<ProgramResult>;
}

/** benito's own commands that take `--netns NAME` to act on a namespace from outside. */
const ownNamespaceCommands: ReadonlySet<string> = new Set(["ifaces", "routes"]);

/** A command step's arguments as one of benito's own commands run in this process, or undefined when it must run as a program. */
function ownCommandArgs(step: Extract<Step, { kind: "command.run" }>, benito: string): string[] | undefined {
  const [program, command, ...rest] = step.argv;
  if (program !== benito || command === undefined || !ownNamespaceCommands.has(command) || step.placement?.netns === undefined) return undefined;
  return [command, ...rest, "--netns", step.placement.netns];
}

/** The outcome of one step: a note worth printing, and whether it changed anything. */
interface StepOutcome {
  readonly note?: string;
  /** False when a convergent step found its result there already. */
  readonly changed: boolean;
}

/**
 * Checks a platform's host requirements before anything is changed; throws one error listing
 * every unmet requirement and why it is needed.
 */
export function checkRequirements(platform: string, requirements: readonly HostRequirement[]): void {
  const unmet = requirements
    .filter((requirement) => (requirement.kind === "program" ? findProgram(requirement.name) === undefined : !deviceExists(requirement.path)))
    .map((requirement) => (requirement.kind === "program" ? `program ${requirement.name} not found on PATH: ${requirement.why}` : `device ${requirement.path} is missing: ${requirement.why}`));
  if (unmet.length > 0) throw new BenitoError(`checking what the ${platform} platform needs`, "this host", `${unmet.length} requirement${unmet.length === 1 ? " is" : "s are"} not met`, undefined, unmet);
}

/** util-linux's nsenter, when installed (looked up once). */
let nsenter: string | null | undefined;

/**
 * Prefixes argv so the program runs inside the step's namespace, exec'd (same pid): with
 * `nsenter --net=/run/netns/NS` when util-linux has it (a small C program: a benito helper
 * inside costs one Bun start-up instead of two), else `benito netns exec NS --`.
 */
function placed(benito: string, argv: readonly string[], placement?: Placement): string[] {
  if (!placement?.netns) return [...argv];
  if (nsenter === undefined) nsenter = findProgram("nsenter") ?? null;
  if (nsenter !== null && namespaceExists(placement.netns)) return [nsenter, `--net=${namespaceDir}/${placement.netns}`, "--", ...argv];
  return [benito, "netns", "exec", placement.netns, "--", ...argv];
}

async function waitForPath(path: string, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!exists(path)) {
    if (performance.now() >= deadline) return false;
    await Bun.sleep(25);
  }
  return true;
}

async function mustSucceed(argv: readonly string[], doing: string, what: string, timeoutMs = 60_000): Promise<string> {
  const result = await runProgram(argv, timeoutMs);
  if (result.code !== 0) {
    const output = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-4).join(" / ");
    throw new BenitoError(doing, what, `${basename(argv[0] ?? "?")} exited with status ${result.code}${output === "" ? "" : `: ${output}`}`);
  }
  return result.stdout;
}

/** True when a TAP (any link) of that name exists, in the namespace when placed in one. */
function linkPresent(name: string, placement?: Placement): boolean {
  const netns = placement?.netns;
  if (netns !== undefined && !namespaceExists(netns)) return false;
  const rtnl = Rtnl.open({ netns });
  try {
    return rtnl.linkByName(name) !== undefined;
  } finally {
    rtnl.close();
  }
}

/** Runs one step; says whether it changed anything (convergent steps may find their result there). */
async function runStep(step: Step, options: RunOptions, changed: ReadonlySet<string>): Promise<StepOutcome> {
  const converge = options.converge === true;
  const kept = (note?: string): StepOutcome => ({ note, changed: false });
  switch (step.kind) {
    case "netns.create":
      // Kept when it is there; its loopback set up when a create cut short left it down.
      if (converge && namespaceExists(step.name)) return kept(ensureNamespace(step.name) ? "its loopback was down: set up" : undefined);
      ensureNamespace(step.name);
      break;
    case "netns.delete": {
      // What still runs inside goes first (a startup the pidfile check did not match — a script
      // runs as its interpreter —, what it left in the background): while a process holds the
      // namespace, the kernel keeps it, and the TAPs left to go with it, addresses and all.
      const stopped = await stopNamespaceProcesses(step.name);
      deleteNamespace(step.name);
      if (stopped > 0) return { note: `${stopped} process(es) still inside were stopped first`, changed: true };
      break;
    }
    case "tap.create": {
      if (converge && linkPresent(step.name, step.placement)) return kept();
      // Inside a namespace: /dev/net/tun is opened there (the TAP is made where the file was opened), no helper process.
      createTap(step.name, { mac: step.mac === undefined ? undefined : parseMac(step.mac), owner: step.owner, netns: step.placement?.netns || undefined });
      break;
    }
    case "tap.delete": {
      // Gone already (an earlier stop, or its namespace with it): the goal is met.
      const netns = step.placement?.netns || undefined;
      if (netns !== undefined && !namespaceExists(netns)) break;
      if (interfaceExists(step.name, netns)) deleteTap(step.name, netns);
      break;
    }
    case "dir.create":
      makeDir(step.path);
      break;
    case "dir.delete":
      removeEmptyDir(step.path);
      break;
    case "file.write":
      writeWholeFile(step.path, step.content);
      break;
    case "file.delete":
      removeFile(step.path);
      break;
    case "disk.overlay":
      if (!exists(step.base)) throw new BenitoError("creating the disk overlay", step.path, `the base image ${step.base} does not exist`);
      // Never recreate an overlay: it may be in use, and it holds whatever the guest wrote.
      // A relaunch after the VM (or benito) died keeps the guest's disk: the overlay holds what it wrote.
      if (converge && exists(step.path)) return kept("kept the existing disk overlay (the guest's disk survives a crash)");
      if (exists(step.path)) throw new BenitoError("creating the disk overlay", step.path, "it already exists (is the VM running? `benito vm stop` removes it)");
      await mustSucceed(["qemu-img", "create", "-q", "-f", "qcow2", "-F", step.baseFormat, "-b", step.base, step.path], "creating the disk overlay", step.path);
      break;
    case "config.disk":
      writeWholeFile(step.path, buildConfigDisk({ hostname: step.hostname, entries: readTree(step.configDir) }), 0o640);
      break;
    case "process.start": {
      const program = basename(step.argv[0] ?? "");
      // Started inside a namespace, it is known by it (a script runs as its interpreter: its name proves nothing).
      const identity = step.placement?.netns ? { netns: step.placement.netns } : program;
      const state = pidfileState(step.pidfile, identity);
      if (state.alive && converge) {
        const cause = step.restartWhen?.find((id) => changed.has(id));
        if (cause === undefined) return kept();
        await stopByPidfile(step.pidfile, identity);
      } else if (state.alive) throw new BenitoError("starting", `${program} (${step.pidfile})`, `it already runs (pid ${state.pid})`);
      const log = step.log ?? "/dev/null";
      if (step.daemonizes) await startSelfDaemonizing(placed(options.benito, step.argv, step.placement), step.pidfile, program, log, step.readyTimeoutMs);
      else await startDetached(placed(options.benito, step.argv, step.placement), step.pidfile, log);
      if (step.readyPath !== undefined && !(await waitForPath(step.readyPath, step.readyTimeoutMs ?? 10_000))) {
        throw new BenitoError("starting", `${program} (${step.pidfile})`, `${step.readyPath} did not appear within ${step.readyTimeoutMs ?? 10_000} ms`);
      }
      break;
    }
    case "process.stop":
      await stopByPidfile(step.pidfile, step.netns === undefined ? step.program : { netns: step.netns }, step.graceMs);
      break;
    case "vm.powerdown": {
      const state = pidfileState(step.pidfile, step.program);
      if (!state.alive || state.pid === undefined) {
        await stopByPidfile(step.pidfile, step.program, 0);
        return { note: "the VM was not running", changed: true };
      }
      const pid = state.pid;
      let asked = true;
      try {
        await qmpCommand(step.qmp, "system_powerdown");
      } catch {
        // A monitor that does not answer is no reason to keep the VM: the bounded wait and SIGKILL follow.
        asked = false;
      }
      const deadline = performance.now() + step.graceMs;
      while (asked && isRunning(pid, step.program) && performance.now() < deadline) await Bun.sleep(50);
      if (!isRunning(pid, step.program)) {
        await stopByPidfile(step.pidfile, step.program, 0);
        return { note: "the guest powered off", changed: true };
      }
      // Past its grace (or no monitor): SIGTERM and a short wait, then SIGKILL.
      await stopByPidfile(step.pidfile, step.program, 2_000);
      return { note: asked ? `the guest did not power off within ${step.graceMs} ms: QEMU was killed` : "the monitor did not answer: QEMU was killed", changed: true };
    }
    case "bridge.create":
      createBridgeWith(step.name, step.members);
      break;
    case "bridge.delete":
      deleteBridge(step.name);
      break;
    case "forwarder.port": {
      // A remade TAP or namespace: the forwarder holds the old TAP, so the port is closed and opened again.
      if (converge && step.restartWhen?.some((id) => changed.has(id)) === true) await removeForwarderPort(step.runDir, options.benito, step.port);
      const { placement, status } = await addForwarderPort(step.runDir, options.benito, {
        version: 1,
        kind: "forwarder-port",
        id: step.port,
        netns: step.placement?.netns,
        tap: step.tap,
        switchDir: step.switchDir,
        port: step.switchPort,
        reconnect: true,
        owner: step.owner,
      });
      // A move unplugged the port for a moment: the log says so, and from where to where.
      const moved = placement.kind === "move" ? `${placement.from === placement.to ? `moved to its new switch on forwarder ${placement.to}` : `moved from forwarder ${placement.from} to forwarder ${placement.to} of the pool`} (unplugged while it moved)` : undefined;
      const notes = [...(moved === undefined ? [] : [moved]), ...(status?.port === undefined ? [] : [`switch port ${status.port}`])];
      if (notes.length > 0) return { note: notes.join("; "), changed: true };
      break;
    }
    case "link.delete": {
      const rtnl = Rtnl.open();
      let index: number;
      try {
        const link = rtnl.linkByName(step.name);
        if (link === undefined) return kept();
        const crashLeft = options.underIntent === true && link.alias === undefined && kernelLinkKinds.has(link.kind);
        if (link.alias?.startsWith(kernelMark) !== true && !crashLeft) throw new BenitoError("deleting the link", step.name, "it does not carry benito's mark: left alone");
        index = link.index;
      } finally {
        rtnl.close();
      }
      // With the deletions of the steps next to it and of the teardowns running beside it: one kernel batch.
      await deleteLinkBatched(index);
      break;
    }
    case "forwarder.unport":
      await removeForwarderPort(step.runDir, options.benito, step.port);
      break;
    case "kernel.tap":
      return kernelTap(step);
    case "kernel.veth":
      return kernelVeth(step, options.underIntent === true);
    case "kernel.shape":
      await kernelShape(step, options.underIntent === true);
      break;
    case "command.run": {
      const own = options.runOwn === undefined ? undefined : ownCommandArgs(step, options.benito);
      const result = own !== undefined && options.runOwn !== undefined ? await options.runOwn(own) : await runProgram(placed(options.benito, step.argv, step.placement));
      if (step.log !== undefined) appendToFile(step.log, `${result.stdout}${result.stderr}`);
      if (options.results !== undefined) {
        const lines = `${result.stderr}\n${result.stdout}`.split("\n").map((line) => line.trim()).filter((line) => line !== "");
        options.results[step.id] = { code: result.code, detail: (result.code === 0 ? lines.at(-1) : lines.find((line) => line.startsWith("benito:"))) ?? lines.at(-1) ?? "" };
      }
      if (result.code !== 0) {
        const output = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-4).join(" / ");
        throw new BenitoError("running", step.argv.slice(0, 3).join(" "), `exited with status ${result.code}${output === "" ? "" : `: ${output}`}`);
      }
      break;
    }
  }
  return { changed: true };
}

/**
 * Runs steps in order. A setup failure stops there and the error says which steps were done
 * (so nothing is half-applied without a report); a teardown failure is collected and the
 * remaining steps still run.
 */
export async function runSteps(steps: readonly Step[], options: RunOptions): Promise<void> {
  const failures: string[] = [];
  const changed = new Set<string>();
  const run = async (step: Step, index: number): Promise<void> => {
    try {
      const outcome = await runStep(step, options, changed);
      if (outcome.changed) changed.add(step.id);
      else if (options.converge) options.progress?.(`# already there: kept`);
      if (outcome.note !== undefined) options.progress?.(`# ${outcome.note}`);
    } catch (error) {
      const reason = error instanceof BenitoError ? error.message.replace(/^benito: /, "") : messageOf(error);
      if (options.mode === "setup") {
        const done = steps.slice(0, index).map((done) => `done: ${renderStep(done)}`);
        throw new BenitoError("applying the plan", `step ${index + 1} of ${steps.length} (${step.id})`, reason, error instanceof BenitoError ? error.exitCode : undefined, [
          ...done,
          `failed: ${renderStep(step)}`,
          ...(done.length > 0 ? ["(undo with the matching stop command)"] : []),
        ]);
      }
      failures.push(`${step.id}: ${reason}`);
    }
  };
  for (let index = 0; index < steps.length; index += 1) {
    const step = steps[index] as Step;
    if (options.mode === "teardown" && step.kind === "link.delete") {
      // Consecutive link deletions of a teardown go to the kernel together (see deleteLinkBatched).
      let end = index + 1;
      while (steps[end]?.kind === "link.delete") end += 1;
      const group = steps.slice(index, end);
      for (const member of group) {
        options.progress?.(renderStep(member));
        failpoint(`step:${options.failpointPrefix ?? "-"}:${member.id}`);
      }
      await Promise.all(group.map((member, offset) => run(member, index + offset)));
      index = end - 1;
      continue;
    }
    options.progress?.(renderStep(step));
    failpoint(`step:${options.failpointPrefix ?? "-"}:${step.id}`);
    const takenWithNamespace = options.mode === "teardown" ? removedWithNamespace(steps, index) : undefined;
    if (takenWithNamespace !== undefined) {
      options.progress?.(takenWithNamespace);
      continue;
    }
    await run(step, index);
  }
  if (failures.length > 0) throw new BenitoError("tearing down", `${failures.length} of ${steps.length} steps`, "some steps failed", undefined, failures);
}


/** Creates a bridge when absent, attaches each member and sets everything up (over rtnetlink). */
function createBridgeWith(name: string, members: readonly string[]): void {
  const rtnl = Rtnl.open();
  try {
    const bridge = rtnl.linkByName(name) ?? rtnl.createBridge(name);
    if (bridge.kind !== "bridge") throw new BenitoError("creating the bridge", name, `an interface of that name exists and is a ${bridge.kind || "plain"} device`);
    for (const member of members) {
      const link = rtnl.linkByName(member);
      if (link === undefined) throw new BenitoError("attaching a bridge port", `${member} to ${name}`, "no such interface");
      if (link.master !== bridge.index) rtnl.setLinkMaster(link.index, bridge.index);
      if (!link.up) rtnl.setLinkUp(link.index, true);
    }
    if (!bridge.up) rtnl.setLinkUp(bridge.index, true);
  } finally {
    rtnl.close();
  }
}

/** Deletes a bridge (its ports are released, not deleted); one that is gone already is fine. */
function deleteBridge(name: string): void {
  const rtnl = Rtnl.open();
  try {
    const bridge = rtnl.linkByName(name);
    if (bridge === undefined) return;
    if (bridge.kind !== "bridge") throw new BenitoError("deleting the bridge", name, `it is a ${bridge.kind || "plain"} device, not a bridge: left alone`);
    rtnl.deleteLink(bridge.index);
  } finally {
    rtnl.close();
  }
}

/** The kinds of link the kernel datapath's vnode steps make (veth host ends, IFBs, VM TAPs). */
const kernelLinkKinds = new Set(["veth", "ifb", "tun"]);

/**
 * The kernel-datapath links (host veth ends, IFBs, VM TAPs) the steps make whose names are held
 * now by links without benito's mark. Checked before a launch writes its intent: an intent may
 * only name links that were free (or benito's), since steps under an intent adopt unmarked ones.
 */
export function unmarkedKernelLinks(steps: readonly Step[]): string[] {
  const names = steps.flatMap((step) => (step.kind === "kernel.veth" || step.kind === "kernel.tap" ? [step.name] : step.kind === "kernel.shape" ? [step.ifb] : []));
  if (names.length === 0) return [];
  const rtnl = Rtnl.open();
  try {
    return names.filter((name) => {
      const link = rtnl.linkByName(name);
      return link !== undefined && link.alias?.startsWith(kernelMark) !== true;
    });
  } finally {
    rtnl.close();
  }
}

/**
 * A link of that name that must carry benito's kernel datapath mark (undefined when absent). With
 * `adopt` (a kind, under an intent that names the link), an unmarked link of that kind is one a
 * crash left between making and marking it: it is returned for the caller to mark.
 */
function markedLink(rtnl: Rtnl, name: string, doing: string, adopt?: string): LinkInfo | undefined {
  const link = rtnl.linkByName(name);
  if (link === undefined || link.alias?.startsWith(kernelMark) === true) return link;
  if (adopt !== undefined && link.alias === undefined && link.kind === adopt) return link;
  throw new BenitoError(doing, name, "a link of that name exists and does not carry benito's mark: left alone");
}

/** The LAN's bridge a member joins; it must be there (switch up makes it before the vnodes). */
function lanBridge(rtnl: Rtnl, name: string, member: string): LinkInfo {
  const bridge = rtnl.linkByName(name);
  if (bridge === undefined || bridge.kind !== "bridge") throw new BenitoError("joining the NIC to its LAN", `${member} to ${name}`, `the LAN's bridge ${name} is missing (switch up makes it)`);
  return bridge;
}

/**
 * A process NIC's veth pair on a kernel LAN (see the kernel.veth step): a host end that is there
 * is kept (marked when a crash left it unmarked, set back on the bridge and up); else the pair is
 * made (`ip link add … netns`), then the host end marked, enslaved and set up.
 */
async function kernelVeth(step: Extract<Step, { kind: "kernel.veth" }>, underIntent: boolean): Promise<StepOutcome> {
  const doing = "joining the vnode's NIC to its LAN";
  const rtnl = Rtnl.open();
  try {
    const bridge = lanBridge(rtnl, step.bridge, step.name);
    let link = markedLink(rtnl, step.name, doing, underIntent ? "veth" : undefined);
    const made = link === undefined;
    if (link === undefined) {
      await mustSucceed(["ip", "link", "add", step.name, "type", "veth", "peer", "name", step.peer, ...(step.mac === undefined ? [] : ["address", step.mac]), "netns", step.netns], doing, step.name);
      link = rtnl.linkByName(step.name);
      if (link === undefined) throw new BenitoError(doing, step.name, "it vanished after it was created");
      failpoint(`kernel-veth:${step.name}:made`);
    }
    const adopted = link.alias === undefined;
    if (adopted) rtnl.setLinkAlias(link.index, step.alias);
    const moved = link.master !== bridge.index || !link.up;
    if (link.master !== bridge.index) rtnl.setLinkMaster(link.index, bridge.index);
    if (!link.up) rtnl.setLinkUp(link.index, true);
    if (made) return { changed: true };
    return { changed: false, note: adopted ? `marked ${step.name}, left unmarked by a crash` : moved ? `set ${step.name} back on ${step.bridge} and up` : undefined };
  } finally {
    rtnl.close();
  }
}

/**
 * A TAP on a kernel LAN's bridge (see the kernel.tap step): kept when it is there (set back on
 * the bridge and up when it left them), else made persistent, marked, enslaved and set up. Only
 * a TAP made here counts as a change: the VM holding the old one must open it again.
 */
function kernelTap(step: Extract<Step, { kind: "kernel.tap" }>): StepOutcome {
  const rtnl = Rtnl.open();
  try {
    const bridge = lanBridge(rtnl, step.bridge, step.name);
    let link = markedLink(rtnl, step.name, "creating the TAP");
    const made = link === undefined;
    if (link === undefined) {
      // Marked while only this call's fd holds it: a crash before it is persistent leaves no TAP, never an unmarked one.
      createTap(step.name, {
        beforePersist: () => {
          const fresh = rtnl.linkByName(step.name);
          if (fresh === undefined) throw new BenitoError("creating the TAP", step.name, "it vanished after it was created");
          failpoint(`kernel-tap:${step.name}:made`);
          rtnl.setLinkAlias(fresh.index, step.alias);
        },
      });
      link = rtnl.linkByName(step.name);
      if (link === undefined) throw new BenitoError("creating the TAP", step.name, "it vanished after it was created");
    }
    if (link.master !== bridge.index) rtnl.setLinkMaster(link.index, bridge.index);
    if (!link.up) rtnl.setLinkUp(link.index, true);
    return made ? { changed: true } : { changed: false, note: link.master !== bridge.index || !link.up ? `set ${step.name} back on ${step.bridge} and up` : undefined };
  } finally {
    rtnl.close();
  }
}

/** A kernel member's shaping, applied whole (see the kernel.shape step); an IFB of that name that is not benito's stops it. */
async function kernelShape(step: Extract<Step, { kind: "kernel.shape" }>, underIntent: boolean): Promise<void> {
  const doing = "shaping the kernel LAN member";
  if (step.egress !== undefined) await mustSucceed(["tc", "qdisc", "replace", "dev", step.port, "root", ...step.egress], doing, step.port);
  const rtnl = Rtnl.open();
  try {
    let ifb = markedLink(rtnl, step.ifb, doing, underIntent ? "ifb" : undefined);
    if (ifb === undefined) {
      await mustSucceed(["ip", "link", "add", step.ifb, "type", "ifb"], doing, step.ifb);
      ifb = rtnl.linkByName(step.ifb);
      if (ifb === undefined) throw new BenitoError(doing, step.ifb, "it vanished after it was created");
      failpoint(`kernel-ifb:${step.ifb}:made`);
    }
    if (ifb.alias === undefined) rtnl.setLinkAlias(ifb.index, step.alias);
    if (!ifb.up) rtnl.setLinkUp(ifb.index, true);
  } finally {
    rtnl.close();
  }
  // The ingress qdisc is made afresh (its redirect filter goes with it), so running this again leaves one filter.
  await runProgram(["tc", "qdisc", "del", "dev", step.port, "ingress"]);
  await mustSucceed(["tc", "qdisc", "add", "dev", step.port, "handle", "ffff:", "ingress"], doing, step.port);
  await mustSucceed(["tc", "filter", "add", "dev", step.port, "parent", "ffff:", "protocol", "all", "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", step.ifb], doing, step.port);
  await mustSucceed(["tc", "qdisc", "replace", "dev", step.ifb, "root", ...step.ingress], doing, step.ifb);
}
