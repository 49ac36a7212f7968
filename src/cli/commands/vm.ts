// `benito vm launch|stop|status NODE [CONFIG_DIR]`: brings one vnode up or down through its platform's plan; `benito vm accel` shows the KVM probe.
import { join, resolve } from "node:path";
import { checkRequirements, runSteps } from "../../apply/run-steps";
import { loadSiteConf, resolveConfigDir, topologyPath } from "../../config/config-dir";
import { withQemuDefaults } from "../../config/qemu-conf";
import { ExitCode, messageOf, UsageError } from "../../errors";
import type { HostView, Node } from "../../model/node";
import type { ControlLease } from "../../model/control-allocation";
import { hostViewFromDocument } from "../../model/host-view";
import { validatedPlatform } from "../../platforms/planning";
import type { PlatformContext, StatusCheck } from "../../platforms/platform";
import { Rtnl, forwarderRequest, forwarderState, namespaceExists, pathExists, pidfileState, probeKvm, qmpCommand, readFileBytes, readOptionalJson, readPortRecord } from "../os";
import { lanDatapaths } from "../datapaths";
import { renderStep } from "../../plan/step";
import { parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";
import { defaultRunDir } from "../../model/run-dir";

const help = `Usage: benito vm launch NODE [CONFIG_DIR] [--run-dir DIR] [--accel auto|kvm|tcg] [--dry-run]
       benito vm stop NODE [CONFIG_DIR] [--run-dir DIR] [--dry-run]
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
        VM's folder (sockets, overlay, config disk, logs) is removed.
status  says whether NODE's processes run (exit 0 when all do, 1 otherwise).
accel   probes KVM (a tiny guest must finish under KVM within 4 s) and prints kvm or tcg.

Options:
  --run-dir DIR   where sockets, pidfiles, overlays and logs live (default ${defaultRunDir})
  --accel MODE    auto (default: KVM only when the probe says it works), kvm, or tcg
  --dry-run       print the plan, change nothing

CONFIG_DIR defaults to /var/benito/config (then /var/containers/config).`;

const options = {
  "run-dir": { type: "string" },
  accel: { type: "string" },
  "dry-run": { type: "boolean" },
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

async function describe(check: StatusCheck): Promise<{ ok: boolean; line: string }> {
  switch (check.kind) {
    case "process": {
      const state = pidfileState(check.pidfile, check.program);
      return { ok: state.alive, line: `${check.label}: ${state.alive ? `running (pid ${state.pid})` : "not running"}` };
    }
    case "netns": {
      const ok = namespaceExists(check.name);
      return { ok, line: `${check.label}: ${check.name} ${ok ? "exists" : "absent"}` };
    }
    case "link": {
      const rtnl = Rtnl.open();
      try {
        const link = rtnl.linkByName(check.name);
        if (link === undefined) return { ok: false, line: `${check.label}: ${check.name} is missing` };
        const bridge = check.master === undefined ? undefined : rtnl.linkByName(check.master);
        if (check.master !== undefined && (bridge === undefined || link.master !== bridge.index)) return { ok: false, line: `${check.label}: ${check.name} is not a port of ${check.master}` };
        return { ok: link.up, line: `${check.label}: ${check.name}${check.master === undefined ? "" : ` on ${check.master}`} ${link.up ? "up" : "down"}` };
      } finally {
        rtnl.close();
      }
    }
    case "forwarder-port": {
      const shard = readPortRecord(check.runDir, check.port)?.shard ?? 0;
      const state = forwarderState(check.runDir, check.program, shard);
      if (!state.alive) return { ok: false, line: `${check.label}: its forwarder (${check.runDir}/forwarder, ${shard}) is not running` };
      try {
        const ports = (await forwarderRequest(check.runDir, { op: "list" }, shard)).ports ?? [];
        const port = ports.find((entry) => entry.id === check.port);
        if (port === undefined) return { ok: false, line: `${check.label}: not in the forwarder (pid ${state.pid})` };
        return { ok: port.state === "open", line: `${check.label}: ${port.state === "open" ? `forwarded on switch port ${port.port ?? "?"} (forwarder pid ${state.pid})` : `${port.state}: ${port.error ?? "?"}`}` };
      } catch (error) {
        return { ok: false, line: `${check.label}: the forwarder does not answer (${messageOf(error)})` };
      }
    }
    case "qmp": {
      try {
        const answer = (await qmpCommand(check.socket, "query-status", undefined, 3_000)) as { status?: string };
        return { ok: answer.status === "running", line: `${check.label}: ${answer.status ?? "unknown"}` };
      } catch {
        return { ok: false, line: `${check.label}: no monitor answer` };
      }
    }
  }
}

/** The `vm` command. */
export const vmCommand: Command = {
  name: "vm",
  summary: "launch, stop or query a vnode (qemu, process, embedded_pnode) from the topology",
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
    if (values.accel !== undefined && !["auto", "kvm", "tcg"].includes(values.accel)) throw new UsageError("vm", `--accel wants auto, kvm or tcg, got "${values.accel}"`);
    // Absolute, so every step (some run in a namespace, some read later) names the same folder.
    const configDir = resolve(await resolveConfigDir(configArgument));
    const loaded = await loadNode(configDir, name);
    const file = loaded.file;
    // site.conf's qemu_binary/qemu_cpu apply where the node gives none (validated with site.conf).
    const node = withQemuDefaults(withControlLease(loaded.node, runDir), await loadSiteConf(configDir));
    const platform = validatedPlatform(node, file);
    const platformContext: PlatformContext = {
      runDir,
      configDir,
      benito: process.execPath,
      routeHosts: new Set((await hasRouteFile(configDir, node.name)) ? [node.name] : []),
      datapaths: await lanDatapaths(configDir, loaded.bytes, file, loaded.view, [node]),
      // Only a qemu launch needs the answer; the probe only reads, so a dry run shows what a launch would use.
      kvm: action === "launch" && platform.names.includes("qemu") ? await accelerator(values.accel, ctx) : false,
    };

    if (action === "status") {
      const checks = platform.status(node, platformContext);
      if (checks.length === 0) ctx.io.out(`${node.name}: ${platform.names[0]}: nothing runs`);
      let ok = true;
      for (const check of checks) {
        const result = await describe(check);
        ok &&= result.ok;
        ctx.io.out(`${node.name} ${result.line}`);
      }
      return ok ? ExitCode.ok : ExitCode.failed;
    }
    const plan = action === "launch" ? platform.plan(node, platformContext) : platform.stop(node, platformContext);
    ctx.io.out(`# ${plan.title}`);
    if (values["dry-run"] === true) {
      for (const step of plan.steps) ctx.io.out(renderStep(step));
      return ExitCode.ok;
    }
    if (action === "launch") checkRequirements(platform.names[0] ?? "", [...platform.requirements, ...(platform.nodeRequirements?.(node) ?? [])]);
    await runSteps(plan.steps, { benito: process.execPath, mode: action === "launch" ? "setup" : "teardown", progress: (line) => ctx.io.out(line) });
    ctx.io.out(`${node.name}: ${action === "launch" ? "launched" : "stopped"} (${platform.names[0] ?? ""})`);
    return ExitCode.ok;
  },
};
