// A vnode's life through the ledger: launch (intent, convergent steps, confirmation), stop (the teardown recorded at launch), and status (what runs, and drift inside it).
import type { Node } from "../model/node";
import type { Platform, PlatformContext, StatusCheck } from "../platforms/platform";
import { namespaceName } from "../platforms/names";
import { Ledger, type LedgerRecord } from "../system/ledger";
import { namespaceExists, namespaceReady } from "../system/netns";
import { Rtnl } from "../system/netlink/rtnl";
import { pidfileState } from "../system/processes";
import { qmpCommand } from "../system/qmp";
import { BenitoError, messageOf } from "../errors";
import { forwarderRequest, forwarderState, portPlacement } from "../system/vde/forwarder-control";
import { readPortRecord } from "../system/vde/forwarder-records";
import { describeMove } from "../plan/forwarder-placement";
import type { PortStatus } from "../system/vde/forwarder-daemon";
import { runSteps, unmarkedKernelLinks, type RunOptions } from "./run-steps";
import type { Step } from "../plan/step";

/**
 * Launches a vnode convergently: its teardown plan goes to the ledger as an intent first (so a
 * crash leaves what `down` needs), then every launch step runs, keeping what is there already
 * (a running plug, an existing TAP or overlay) and re-running ifaces/routes in place; the record
 * is confirmed with each helper's result. A failed helper leaves the record unconfirmed, with
 * its result, so status reports it until a boot succeeds.
 */
export async function launchVnode(platform: Platform, node: Node, ctx: PlatformContext, progress: (line: string) => void, runOwn?: RunOptions["runOwn"]): Promise<void> {
  const ledger = Ledger.at(ctx.runDir);
  const name = platform.names[0] ?? "";
  const data = { node: node.name, platform: name, ...(name === "process" && { netns: namespaceName(node.name) }), teardown: [...platform.stop(node, ctx).steps] };
  const previous = ledger.get("vnode", node.name);
  const steps = platform.plan(node, ctx).steps;
  // Helper commands other than ifaces and routes (e.g. the kernel datapath's `ip link add`) are not
  // idempotent: such a vnode is taken down by its recorded teardown first, then launched afresh.
  const convergent = steps.every((step) => step.kind !== "command.run" || step.id === "ifaces" || step.id === "routes");
  if (!convergent && previous !== undefined) await runSteps(previous.data.teardown, { benito: ctx.benito, mode: "teardown", failpointPrefix: node.name, progress });
  // What the recorded teardown removes and the new one does not (the topology renamed or dropped a
  // NIC): kept in the record until it is gone, and removed before the launch (it may hold what the
  // launch needs, such as the switch port of a renamed NIC).
  const orphans = convergent ? orphanSteps(previous?.data.teardown ?? [], data.teardown) : [];
  const recorded = { ...data, teardown: [...orphans, ...data.teardown] };
  // The launch adopts unmarked links its intent names (a crash left them between making and
  // marking), so a fresh intent may only name links that are free now or benito's. After an
  // intent (a crashed or failed launch) they were checked when the first one was written.
  if (previous?.phase !== "intent") {
    const taken = unmarkedKernelLinks(steps);
    if (taken.length > 0) throw new BenitoError("launching the vnode", node.name, `the link(s) ${taken.join(", ")} exist and do not carry benito's mark: left alone (remove them, or rename what holds the name)`);
  }
  ledger.intend("vnode", node.name, { ...recorded, ...(previous?.data.results !== undefined && { results: previous.data.results }) });
  const results: Record<string, { code: number; detail: string }> = {};
  try {
    if (orphans.length > 0) await runSteps(orphans, { benito: ctx.benito, mode: "teardown", underIntent: previous?.phase === "intent", failpointPrefix: node.name, progress });
    // Under the intent just written, which names every link the launch makes.
    await runSteps(steps, { benito: ctx.benito, mode: "setup", converge: true, underIntent: true, failpointPrefix: node.name, results, progress, runOwn });
  } catch (error) {
    ledger.write("vnode", node.name, "intent", { ...recorded, results });
    throw error;
  }
  ledger.confirm("vnode", node.name, { ...data, results });
}

/** What a teardown step removes: steps of two teardowns that remove the same object share this key. */
function removedObject(step: Step): string {
  switch (step.kind) {
    case "process.stop":
    case "vm.powerdown":
      return `pidfile ${step.pidfile}`;
    case "tap.delete":
      return `tap ${step.placement?.netns ?? ""}/${step.name}`;
    case "netns.delete":
      return `netns ${step.name}`;
    case "forwarder.unport":
      return `port ${step.runDir}/${step.port}`;
    case "link.delete":
    case "bridge.delete":
      return `link ${step.name}`;
    case "file.delete":
    case "dir.delete":
      return `path ${step.path}`;
    default:
      return JSON.stringify({ ...step, id: "" });
  }
}

/** The steps of the recorded teardown that remove something the new teardown does not (in their recorded order). */
export function orphanSteps(recorded: readonly Step[], current: readonly Step[]): Step[] {
  const covered = new Set(current.map(removedObject));
  return recorded.filter((step) => !covered.has(removedObject(step)));
}

/**
 * Stops a vnode with the teardown recorded when it was launched (what was made, whatever
 * topo.xml says now); without a record, with the platform's stop plan for the node as
 * topo.xml describes it (`planned`, asked only then). Its records (vnode, addresses) go last.
 */
export async function stopVnode(runDir: string, nodeName: string, planned: () => Promise<{ steps: readonly Step[] }>, benito: string, progress: (line: string) => void): Promise<void> {
  const ledger = Ledger.at(runDir);
  const record = ledger.get("vnode", nodeName);
  const steps = record?.data.teardown ?? (await planned()).steps;
  // A launch that never finished (its record still an intent) may have left a link unmarked: its own, named by the record.
  await runSteps(steps, { benito, mode: "teardown", underIntent: record?.phase === "intent", failpointPrefix: nodeName, progress });
  ledger.remove("addresses", nodeName);
  ledger.remove("vnode", nodeName);
  ledger.removeIfEmpty();
}

/** The vnodes the ledger holds, by name. */
export function recordedVnodes(runDir: string): LedgerRecord<"vnode">[] {
  return Ledger.at(runDir).list("vnode");
}

/** The tail of the requests to each forwarder's control socket, by socket (see forwarderPorts). */
const requests = new Map<string, Promise<unknown>>();

/**
 * The ports a forwarder holds. Requests to one forwarder go one at a time (the children's
 * checks run in parallel, and a busy forwarder resets connections beyond its backlog); a reset
 * or broken connection is tried once more.
 */
function forwarderPorts(runDir: string, shard: number): Promise<readonly PortStatus[]> {
  const key = `${runDir}#${shard}`;
  const ask = async () => {
    try {
      return (await forwarderRequest(runDir, { op: "list" }, shard)).ports ?? [];
    } catch {
      await Bun.sleep(50);
      return (await forwarderRequest(runDir, { op: "list" }, shard)).ports ?? [];
    }
  };
  const next = (requests.get(key) ?? Promise.resolve()).then(ask, ask);
  requests.set(key, next.catch(() => undefined));
  return next;
}

/** CheckResult interface: one line of a vnode's status. */
export interface CheckResult {
  readonly ok: boolean;
  readonly line: string;
}

/** Looks at one status check. */
export async function describeCheck(check: StatusCheck): Promise<CheckResult> {
  switch (check.kind) {
    case "process": {
      const state = pidfileState(check.pidfile, check.netns === undefined ? check.program : { netns: check.netns });
      return { ok: state.alive, line: `${check.label}: ${state.alive ? `running (pid ${state.pid})` : state.pid === undefined ? "not running" : `not running (pid ${state.pid} is gone)`}` };
    }
    case "netns": {
      if (!namespaceExists(check.name)) return { ok: false, line: `${check.label}: ${check.name} absent` };
      // A create cut short can leave it without its loopback up.
      const ready = namespaceReady(check.name);
      return { ok: ready, line: `${check.label}: ${check.name} ${ready ? "exists" : "exists, its loopback is down"}` };
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
      // Where the pool would put it now (placePort, as a boot's apply step decides): elsewhere is drift a boot repairs by moving it.
      const shard = readPortRecord(check.runDir, check.port)?.shard ?? 0;
      const state = forwarderState(check.runDir, check.program, shard);
      if (!state.alive) return { ok: false, line: `${check.label}: its forwarder (${check.runDir}/forwarder, ${shard}) is not running` };
      const placement = portPlacement(check.runDir, check.port, check.switchDir);
      if (placement.kind === "move") return { ok: false, line: `${check.label}: drift, a boot moves it ${describeMove({ port: check.port, ...placement, running: true })}` };
      try {
        const ports = await forwarderPorts(check.runDir, shard);
        const port = ports.find((entry) => entry.id === check.port);
        if (port === undefined) return { ok: false, line: `${check.label}: not in the forwarder (pid ${state.pid})` };
        return { ok: port.state === "open", line: `${check.label}: ${port.state === "open" ? `forwarded on switch port ${port.port ?? "?"} (forwarder pid ${state.pid})` : `${port.state}: ${port.error ?? "?"}`}` };
      } catch (error) {
        return { ok: false, line: `${check.label}: the forwarder does not answer (${messageOf(error)})` };
      }
    }
    case "qmp": {
      try {
        const answer = await qmpCommand(check.socket, "query-status", undefined, 3_000);
        const status = typeof answer === "object" && answer !== null && "status" in answer && typeof answer.status === "string" ? answer.status : undefined;
        return { ok: status === "running", line: `${check.label}: ${status ?? "unknown"}` };
      } catch {
        return { ok: false, line: `${check.label}: no monitor answer` };
      }
    }
    case "dry-run":
      // A benito command: the CLI runs it in-process (see vm status) and gives its output to dryRunCheck.
      return { ok: false, line: `${check.label}: not checked` };
  }
}

/** Judges a dry run's output (a --json summary line): drift when it would change something under changeKeys. */
export function dryRunCheck(check: Extract<StatusCheck, { kind: "dry-run" }>, code: number, stdout: string, stderr: string): CheckResult {
  const summary = parseSummary(stdout);
  if (summary === undefined) return { ok: false, line: `${check.label}: could not be checked (exit ${code}: ${stderr.trim().split("\n")[0] ?? ""})` };
  const pending = check.changeKeys.filter((key) => (summary[key] ?? 0) > 0).map((key) => `${summary[key]} ${key}`);
  return { ok: pending.length === 0, line: `${check.label}: ${pending.length === 0 ? "as wanted" : `drift, a boot would change: ${pending.join(", ")}`}` };
}

/** The `summary` object of a benito --json dry run, its counts by name. */
function parseSummary(stdout: string): Record<string, number> | undefined {
  const line = stdout.split("\n").find((text) => text.startsWith("{"));
  if (line === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null || !("summary" in parsed) || typeof parsed.summary !== "object" || parsed.summary === null) return undefined;
    const counts: Record<string, number> = {};
    for (const [key, value] of Object.entries(parsed.summary)) if (typeof value === "number") counts[key] = value;
    return counts;
  } catch {
    return undefined;
  }
}

/** What the ledger says about a vnode: its launch confirmed, and each helper's last result. */
export function ledgerChecks(runDir: string, nodeName: string): CheckResult[] {
  const record = Ledger.at(runDir).get("vnode", nodeName);
  if (record === undefined) return [{ ok: false, line: "ledger: no record (never launched, or launched by a benito without a ledger)" }];
  const lines: CheckResult[] = [{ ok: record.phase === "done", line: record.phase === "done" ? `ledger: launched ${record.updatedAt}` : `ledger: the last launch did not finish (${record.updatedAt})` }];
  for (const [id, result] of Object.entries(record.data.results ?? {})) {
    if (result.code !== 0) lines.push({ ok: false, line: `${id}: failed on the last launch (exit ${result.code}): ${result.detail}` });
  }
  return lines;
}
