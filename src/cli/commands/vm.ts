// `benito vm launch|stop|status NODE [CONFIG_DIR]`: brings one vnode up or down through its platform's plan; `benito vm accel` shows the KVM probe.
import { join, resolve } from "node:path";
import { checkRequirements } from "../../apply/run-steps";
import { describeCheck, dryRunCheck, launchVnode, ledgerChecks, stopVnode, type CheckResult } from "../../apply/vnode";
import { restoreKernelOverrides } from "../../apply/link-apply";
import { loadCommand } from "../registry";
import { runCaptured } from "../stages";
import { integerOption, parseCommandArgs } from "../args";
import { loadSiteConf, resolveConfigDir, topologyPath } from "../../config/config-dir";
import { withQemuDefaults } from "../../config/qemu-conf";
import { ExitCode, UsageError } from "../../errors";
import type { HostView, Node } from "../../model/node";
import type { ControlLease } from "../../model/control-allocation";
import { hostViewFromDocument } from "../../model/host-view";
import { validatedPlatform } from "../../platforms/planning";
import type { PlatformContext, StatusCheck } from "../../platforms/platform";
import { defaultLockWaitSeconds, namespaceExists, observePool, pathExists, probeKvm, readFileBytes, readOptionalJson, withRunLock } from "../os";
import { lanDatapaths } from "../datapaths";
import type { Plan } from "../../plan/step";
import { forwarderMoves, renderSteps, type PortMove } from "../../plan/forwarder-placement";
import type { Command, CommandContext } from "../command";
import { defaultRunDir } from "../../model/run-dir";

const help = `Usage: benito vm launch NODE [CONFIG_DIR] [--run-dir DIR] [--accel auto|kvm|tcg] [--dry-run] [--lock-wait S]
       benito vm stop NODE [CONFIG_DIR] [--run-dir DIR] [--dry-run] [--lock-wait S]
       benito vm status NODE [CONFIG_DIR] [--run-dir DIR]
       benito vm accel

Brings the vnode NODE (a computer of CONFIG_DIR/topo.xml) up or down through the platform its
benito:node_type names: qemu (a VM on VDE switch ports), process (a network namespace with
TAPs plugged into its switch ports) or embedded_pnode (this host's own interfaces and routes).
Every step is printed before it runs; --dry-run prints the plan and stops there.

launch  qemu: a qcow2 overlay over benito:qemu_image and a read-only config disk (CONFIG_DIR
        and NODE's hostname as a ustar archive) under RUN_DIR/vm/NODE, then QEMU with its
        serial console (serial.sock, logged to serial.log) and QMP monitor (qmp.sock) there.
stop    qemu: QMP system_powerdown, up to 15 s for the guest to power off, then SIGKILL; the
        VM's folder (sockets, overlay, config disk, logs) is removed. stop runs the teardown the
        ledger recorded at launch (docs/ledger.md), also for a node topo.xml no longer has.
        launch converges: what runs is kept, what is missing or drifted is remade; a QEMU
        vnode relaunched after it died keeps its overlay (the guest's disk survives a crash).
status  says whether NODE's processes run (exit 0 when all do, 1 otherwise).
accel   probes KVM (a tiny guest must finish under KVM within 4 s) and prints kvm or tcg.

Options:
  --run-dir DIR   where sockets, pidfiles, overlays and logs live (default ${defaultRunDir})
  --accel MODE    auto (default: KVM only when the probe says it works), kvm, or tcg
  --dry-run       print the plan, change nothing; a forwarder port the launch would move to
                  another forwarder of the pool (unplugging it meanwhile) gets a line saying so
  --lock-wait S   (launch, stop) wait up to S seconds (default 120) for another benito holding
                  the run dir's lock (docs/ledger.md); status and --dry-run never wait

CONFIG_DIR defaults to /var/benito/config (then /var/containers/config).`;

const options = {
  "run-dir": { type: "string" },
  accel: { type: "string" },
  "dry-run": { type: "boolean" },
  "lock-wait": { type: "string" },
} as const;

/**
 * Loads NODE from CONFIG_DIR/topo.xml through the boot-time fast path (only the parts NODE
 * needs are read: a pnode launching many children does not parse a large topology each time).
 */
async function loadNode(configDir: string, name: string): Promise<{ node: Node; file: string; bytes: Uint8Array; view: HostView }> {
  const file = topologyPath(configDir);
  const bytes = await readFileBytes(file, "reading the topology");
  const { view } = hostViewFromDocument(bytes, file, name);
  return { node: view.self, file, bytes, view };
}

/**
 * A VM whose control interface has no MAC in topo.xml gets the one `benito control-net
 * allocate` recorded for it (RUN_DIR/control-leases.json), so its control NIC is the MAC the
 * control network expects.
 */
function withControlLease(node: Node, runDir: string): Node {
  const control = node.interfaces.find((nic) => nic.control);
  if (control === undefined || control.mac !== undefined) return node;
  const lease = readOptionalJson<ControlLease[]>(join(runDir, "control-leases.json"))?.find((entry) => entry.node === node.name);
  if (lease === undefined) return node;
  return { ...node, interfaces: node.interfaces.map((nic) => (nic === control ? { ...nic, mac: lease.mac } : nic)) };
}

/** True when CONFIG_DIR has a route file for the host (route/NAME, or the older routes/NAME). */
async function hasRouteFile(configDir: string, name: string): Promise<boolean> {
  return (await pathExists(join(configDir, "route", name))) || (await pathExists(join(configDir, "routes", name)));
}

/** KVM or not: as --accel says, else as the probe finds (its answer is printed, as the first line of the plan). */
async function accelerator(mode: string | undefined, ctx: CommandContext): Promise<boolean> {
  if (mode === "kvm") return true;
  if (mode === "tcg") return false;
  const probe = await probeKvm();
  ctx.io.out(`# accelerator ${probe.works ? "kvm" : "tcg"}: ${probe.reason}`);
  return probe.works;
}

/** The `vm` command. */
export const vmCommand: Command = {
  name: "vm",
  help,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("vm", args, options, 3);
    const [action, name, configArgument] = positionals;
    if (action === "accel") {
      if (name !== undefined) throw new UsageError("vm", "accel takes no arguments");
      const probe = await probeKvm();
      ctx.io.out(`${probe.works ? "kvm" : "tcg"}: ${probe.reason}`);
      return ExitCode.ok;
    }
    if (action !== "launch" && action !== "stop" && action !== "status") throw new UsageError("vm", 'expected "launch", "stop", "status" or "accel"');
    if (name === undefined) throw new UsageError("vm", "missing NODE");
    const runDir = values["run-dir"] ?? defaultRunDir;
    if (!runDir.startsWith("/")) throw new UsageError("vm", "--run-dir must be an absolute path");
    const lockWait = integerOption("vm", "lock-wait", values["lock-wait"], defaultLockWaitSeconds);
    if (action === "status") return status(name, configArgument, runDir, values.accel, ctx);
    // A dry run and status never wait for the lock; launch and stop change the experiment.
    if (values["dry-run"] === true) return change(action, name, configArgument, runDir, values, ctx, async (work) => work());
    return change(action, name, configArgument, runDir, values, ctx, (work) => withRunLock(runDir, lockWait, work));
  },
};

type VmValues = { readonly accel?: string; readonly "dry-run"?: boolean };

/** Loads NODE and its platform, with the context its plans are made in. */
async function prepare(action: string, name: string, configArgument: string | undefined, runDir: string, accel: string | undefined, ctx: CommandContext) {
  if (accel !== undefined && !["auto", "kvm", "tcg"].includes(accel)) throw new UsageError("vm", `--accel wants auto, kvm or tcg, got "${accel}"`);
  // Absolute, so every step (some run in a namespace, some read later) names the same folder.
  const configDir = resolve(await resolveConfigDir(configArgument));
  const loaded = await loadNode(configDir, name);
  const file = loaded.file;
  const site = await loadSiteConf(configDir);
  // site.conf's qemu_binary/qemu_cpu apply where the node gives none (validated with site.conf).
  const node = withQemuDefaults(withControlLease(loaded.node, runDir), site);
  const platform = validatedPlatform(node, file);
  const platformContext: PlatformContext = {
    runDir,
    configDir,
    benito: process.execPath,
    routeHosts: new Set((await hasRouteFile(configDir, node.name)) ? [node.name] : []),
    datapaths: lanDatapaths(site, loaded.bytes, file, loaded.view, [node], runDir),
    // Only a qemu launch needs the answer; the probe only reads, so a dry run shows what a launch would use.
    kvm: action === "launch" && platform.names.includes("qemu") ? await accelerator(accel, ctx) : false,
  };
  return { node, platform, platformContext };
}

/** `vm status`: the platform's checks, then what the ledger says about the last launch; exit 1 on any drift. */
async function status(name: string, configArgument: string | undefined, runDir: string, accel: string | undefined, ctx: CommandContext): Promise<ExitCode> {
  const { node, platform, platformContext } = await prepare("status", name, configArgument, runDir, accel, ctx);

  const checks = platform.status(node, platformContext);
  if (checks.length === 0) ctx.io.out(`${node.name}: ${platform.names[0]}: nothing runs`);
  let ok = true;
  const results = await Promise.all(checks.map((check) => (check.kind === "dry-run" ? lookInside(check, ctx) : describeCheck(check))));
  for (const result of [...results, ...(checks.length === 0 ? [] : ledgerChecks(runDir, node.name))]) {
    ok &&= result.ok;
    // A failing check is marked, so `benito status` shows each drift on a line of its own.
    ctx.io.out(`${node.name} ${result.ok ? "" : "DRIFT "}${result.line}`);
  }
  if (platform.names.includes("qemu")) ctx.io.out(`${node.name} inside the guest: not checked from the pnode (run benito status in the guest)`);
  return ok ? ExitCode.ok : ExitCode.failed;
}

/**
 * Runs one of benito's own commands in this process with its output captured (a process vnode's
 * ifaces and routes with --netns: no helper program per vnode); errors as the command line prints them.
 */
async function runOwn(args: readonly string[], ctx: CommandContext): Promise<{ code: number; stdout: string; stderr: string }> {
  const [name = "", ...rest] = args;
  const run = await runCaptured(await loadCommand(name), name, rest, ctx, `benito ${name}`);
  // Lines end as a helper program's would: the step's log appends stdout then stderr.
  const text = (lines: readonly string[]) => (lines.length === 0 ? "" : `${lines.join("\n")}\n`);
  return { code: run.code, stdout: text(run.output), stderr: text(run.errors) };
}

/**
 * Runs a dry run (ifaces, routes) looking into a vnode's namespace, in this process (--netns: no
 * helper program, so status of many vnodes stays fast), and judges its summary.
 */
async function lookInside(check: Extract<StatusCheck, { kind: "dry-run" }>, ctx: CommandContext): Promise<CheckResult> {
  if (!namespaceExists(check.netns)) return { ok: false, line: `${check.label}: not checked (namespace ${check.netns} absent)` };
  const run = await runCaptured(await loadCommand(check.command), check.command, [...check.args, "--netns", check.netns], ctx, check.label);
  return dryRunCheck(check, run.code, run.output.join("\n"), run.errors.join("\n"));
}

/** `vm launch` / `vm stop` (and their dry runs). */
async function change(action: "launch" | "stop", name: string, configArgument: string | undefined, runDir: string, values: VmValues, ctx: CommandContext, locked: (work: () => Promise<ExitCode>) => Promise<ExitCode>): Promise<ExitCode> {
  if (action === "stop" && values["dry-run"] !== true) return locked(async () => {
    // What the ledger recorded at launch is what goes, even for a node topo.xml no longer has; the
    // topology is read only without a record (down stops every vnode: reading it each time was most of its CPU).
    const planned = async (): Promise<Plan> => {
      const { node, platform, platformContext } = await prepare(action, name, configArgument, runDir, values.accel, ctx);
      return platform.stop(node, platformContext);
    };
    await stopVnode(runDir, name, planned, process.execPath, (line) => ctx.io.out(line));
    ctx.io.out(`${name}: stopped`);
    return ExitCode.ok;
  });
  const { node, platform, platformContext } = await prepare(action, name, configArgument, runDir, values.accel, ctx);
  const plan = action === "launch" ? platform.plan(node, platformContext) : platform.stop(node, platformContext);
  ctx.io.out(`# ${plan.title}`);
  if (values["dry-run"] === true) {
    // A forwarder port recorded on another pool member than a run would put it on: the line under it says it moves (read from the records and pidfiles, nothing changed).
    const ports = plan.steps.flatMap((step) => (step.kind === "forwarder.port" ? [step] : []));
    const moves = ports.length === 0 ? new Map<string, PortMove>() : forwarderMoves(plan.steps, observePool(runDir, process.execPath, ports));
    for (const line of renderSteps(plan.steps, moves, action === "stop")) ctx.io.out(line);
    return ExitCode.ok;
  }
  // Checked before the lock (which makes the run dir): a host that cannot run the node is left untouched.
  checkRequirements(platform.names[0] ?? "", [...platform.requirements, ...(platform.nodeRequirements?.(node) ?? [])]);
  return locked(async () => {
    await launchVnode(platform, node, platformContext, (line) => ctx.io.out(line), (args) => runOwn(args, ctx));
    // Its kernel-datapath qdiscs came up with the topology's values: a live override (benito link set) is given back.
    for (const line of await restoreKernelOverrides(node, platformContext.datapaths ?? new Map(), runDir)) ctx.io.out(line);
    ctx.io.out(`${node.name}: launched (${platform.names[0] ?? ""})`);
    return ExitCode.ok;
  });
}
