// `benito control-bridge up|down|status [CONFIG_DIR [HOSTNAME]]`: bridges the pnode's control NIC with its VMs' control TAPs, safely.
import { BenitoError, ExitCode, UsageError } from "../../errors";
import { loadSiteConf, resolveConfigDir, resolveHostName, topologyPath } from "../../config/config-dir";
import { siteValue } from "../../config/site-conf";
import { hasControlNic } from "../../model/control-allocation";
import { hostViewFromDocument } from "../../model/host-view";
import type { HostView } from "../../model/node";
import { renderMove, renderTap, type ControlBridgePlan, type ControlBridgeWanted } from "../../plan/control-bridge-plan";
import { controlBridgeDown, controlBridgeUp, moveCutShort, planControlBridgeHere, readRecord } from "../../apply/control-bridge-apply";
import { controlTapName } from "../../platforms/names";
import { defaultLockWaitSeconds, readFileBytes, withRunLock } from "../os";
import { integerOption, parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";
import { defaultRunDir } from "../../model/run-dir";

const options = {
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  "run-dir": { type: "string" },
  "lock-wait": { type: "string" },
  "verify-timeout": { type: "string" },
} as const;

const help = `Usage: benito control-bridge up|down|status [--dry-run] [--json] [--run-dir DIR] [--verify-timeout MS] [--lock-wait S] [CONFIG_DIR [HOSTNAME]]

On a pnode, bridges the control interface with one control TAP per child VM, so users reach
the VMs over the control network.

up      create the bridge (site.conf control_bridge, default br-ctl) with the control NIC's MAC,
        move the NIC's IPv4 addresses and every route through it (default route included,
        metrics and sources kept) onto the bridge, enslave the NIC, then create and attach a
        TAP per child VM (bc-NODE, the name the qemu platform's control NIC uses).
        The control NIC is site.conf control_iface, else the interface of the default route,
        else the one holding this host's control_net address from topo.xml.
        Safety: the change is one transaction. If any step fails, or the default gateway answered
        before the move and does not answer within --verify-timeout ms (default 5000) after it,
        everything is put back as it was and the command exits 1 saying what failed.
        Running it again when the bridge is in place only adds missing TAPs.
down    put back the state before up (addresses and routes on the NIC), delete the TAPs and
        the bridge benito made, and nothing else. What up changes is recorded before the move
        in the ledger, DIR/ledger/control-bridge.control.json (DIR = --run-dir, default
        ${defaultRunDir}), so down restores the NIC even after a crash in the middle of up;
        up after such a crash undoes the half-done move first, then moves afresh.
status  print the bridge, its NIC and TAPs; exit 1 when the bridge benito set up is missing,
        or when its move was cut short (a crash in the middle of up).

up and down take the run dir's lock, waiting up to --lock-wait S seconds (default 120) for
another benito holding it (docs/ledger.md); status and --dry-run never wait.

Exit codes: 0 done, 1 failed (and restored), 2 usage, 3 invalid input.`;

/** The control-bridge command. */
export const controlBridgeCommand: Command = {
  name: "control-bridge",
  help,
  run,
};

/** The control TAPs of this pnode: one per child VM with a control NIC. */
export function controlTapsOf(view: HostView): string[] {
  return view.children.filter(hasControlNic).map((child) => controlTapName(child.name));
}

async function wantedFrom(configDir: string, host: string): Promise<ControlBridgeWanted> {
  const site = await loadSiteConf(configDir);
  const file = topologyPath(configDir);
  const { view } = hostViewFromDocument(await readFileBytes(file, "reading the topology"), file, host);
  const controlAddress = view.self.interfaces.find((nic) => nic.control)?.ip4?.address;
  const nicName = siteValue(site, "control_iface");
  return {
    bridge: siteValue(site, "control_bridge") ?? "br-ctl",
    ...(nicName !== undefined ? { nicName } : {}),
    ...(controlAddress !== undefined ? { controlAddress } : {}),
    taps: controlTapsOf(view),
  };
}

async function run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const [action, ...rest] = args;
  if (action !== "up" && action !== "down" && action !== "status") throw new UsageError("control-bridge", "the first argument is up, down or status");
  const { values, positionals } = parseCommandArgs("control-bridge", rest, options, 2);
  const runDir = values["run-dir"] ?? defaultRunDir;
  const lockWait = integerOption("control-bridge", "lock-wait", values["lock-wait"], defaultLockWaitSeconds);
  // up and down change the pnode's network: under the run dir's lock (status and dry runs never wait for it).
  if (action === "status" || values["dry-run"] === true) return act(action, values, positionals, runDir, ctx);
  return withRunLock(runDir, lockWait, () => act(action, values, positionals, runDir, ctx));
}


/** One action, under the lock when it changes something (see run). */
async function act(action: "up" | "down" | "status", values: ReturnType<typeof parseCommandArgs<typeof options>>["values"], positionals: readonly string[], runDir: string, ctx: CommandContext): Promise<ExitCode> {
  const verifyTimeoutMs = integerOption("control-bridge", "verify-timeout", values["verify-timeout"], 5000);
  const json = values.json === true;
  const log = (line: string) => (json ? undefined : ctx.io.err(`control-bridge: ${line}`));

  if (action === "down") return down(runDir, values["dry-run"] === true, ctx, log);
  const configDir = await resolveConfigDir(positionals[0]);
  const wanted = await wantedFrom(configDir, resolveHostName(positionals[1]));
  if (action === "status") return status(planControlBridgeHere(wanted), runDir, json, ctx);
  if (values["dry-run"] === true) {
    const plan = planControlBridgeHere(wanted);
    if (plan.state === "refused") throw new BenitoError("planning the control bridge", wanted.bridge, plan.reason);
    const lines = plan.state === "move" ? renderMove(plan.move) : plan.missingTaps.flatMap((tap) => renderTap(tap, plan.bridge.name));
    ctx.io.out(lines.length > 0 ? lines.join("\n") : `# ${wanted.bridge} is in place with every control TAP: nothing to do`);
    return ExitCode.ok;
  }
  report(ctx, json, controlBridgeUp(wanted, runDir, { verifyTimeoutMs, log }));
  return ExitCode.ok;
}

function report(ctx: CommandContext, json: boolean, result: { bridge: string; nic: string; changed: boolean; tapsAdded: string[] }): void {
  if (json) ctx.io.out(JSON.stringify(result));
  else ctx.io.out(`control-bridge: ${result.bridge} bridges ${result.nic}${result.changed ? `; ${result.tapsAdded.length} control TAP(s) added` : "; nothing changed"}`);
}

async function down(runDir: string, dryRun: boolean, ctx: CommandContext, log: (line: string) => void): Promise<ExitCode> {
  const record = readRecord(runDir);
  if (record === undefined) {
    ctx.io.out("control-bridge: no control bridge set up by benito here; nothing to do");
    return ExitCode.ok;
  }
  if (record.adopted === true) {
    // benito found the bridge in place: only the control TAPs it made are its own.
    if (dryRun) ctx.io.out(record.taps.map((tap) => `benito tap delete ${tap}`).join("\n"));
    else {
      controlBridgeDown(runDir, log);
      ctx.io.out(`control-bridge: ${record.taps.length} control TAP(s) deleted; ${record.nic.name} and ${record.bridge} left as benito found them`);
    }
    return ExitCode.ok;
  }
  if (dryRun) {
    ctx.io.out([`ip link set ${record.nic.name} nomaster`, ...record.addresses.map((a) => `ip addr add ${a.address}/${a.prefixLength} dev ${record.nic.name}`), ...record.taps.map((tap) => `benito tap delete ${tap}`), `ip link del ${record.bridge}`].join("\n"));
    return ExitCode.ok;
  }
  controlBridgeDown(runDir, log);
  ctx.io.out(`control-bridge: ${record.nic.name} restored; ${record.bridge} removed`);
  return ExitCode.ok;
}

function status(plan: ControlBridgePlan, runDir: string, json: boolean, ctx: CommandContext): ExitCode {
  const record = readRecord(runDir);
  const cutShort = moveCutShort(runDir);
  const bridged = plan.state === "bridged";
  const result = {
    bridged,
    bridge: bridged ? plan.bridge.name : undefined,
    nic: bridged ? plan.nic.name : plan.state === "move" ? plan.move.nic.name : undefined,
    missingTaps: bridged ? plan.missingTaps : [],
    recorded: record !== undefined,
    cutShort,
    ...(plan.state === "refused" ? { problem: plan.reason } : {}),
  };
  if (json) ctx.io.out(JSON.stringify(result));
  else {
    ctx.io.out(bridged ? `control-bridge: ${result.bridge} bridges ${result.nic}; missing TAPs: ${result.missingTaps.join(", ") || "none"}` : `control-bridge: not bridged${result.problem ? ` (${result.problem})` : ""}`);
    if (cutShort) ctx.io.out(`DRIFT control-bridge: the move of ${record?.nic.name ?? "the control NIC"} under ${record?.bridge ?? "the bridge"} was cut short (its intent is in the ledger); up (or boot) undoes and redoes it, down restores the NIC`);
  }
  // Drift: benito set it up (record present) but it is not (fully) there any more, or its move was cut short.
  return record !== undefined && (cutShort || !bridged || result.missingTaps.length > 0) ? ExitCode.failed : ExitCode.ok;
}
