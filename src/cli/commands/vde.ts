// `benito vde plug`: the native replacement for vde_plug2tap (a TAP on a vde_switch port).
import { resolve } from "node:path";
import { BenitoError, ExitCode, UsageError } from "../../errors";
import { forwarderPortsReport, runForwarder, runPlugDaemon } from "../../apply/vde-daemons";
import { maxShards, validateInterfaceName } from "../os";
import type { ForwardStats, PortStatus } from "../os";
import { defaultRunDir } from "../host-plan";
import { integerOption, parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";

const help = `Usage: benito vde plug --switch SOCKDIR --tap NAME [--port N] [--reconnect]
                        [--daemon] [--pidfile FILE] [--stats]
       benito vde forwarder [--run-dir DIR] [--shard N] [--daemon]
       benito vde ports [--run-dir DIR] [--json]

forwarder: the pnode's frame forwarder (what boot runs for process vnodes): every port recorded
under DIR/forwarder/ports (TAP, its namespace, switch folder, port, reconnect) for forwarder N
(--shard, default 0; a pool of one per core, at most ${maxShards}; a switch's ports all on one) moved
in one process over one epoll set. Ports are added and removed live over
DIR/forwarder/control[-N].sock; a port whose TAP goes away is closed and reported, the others go
on. While the machine has a CPU to spare it spins briefly before sleeping, and while its traffic
is latency-bound (per port about one frame in for each out, under 75 % of a CPU of work) it
runs at real-time priority (SCHED_RR 1; the normal class otherwise). Its pidfile and log are
DIR/forwarder/forwarder[-N].pid and .log. ports: lists the running forwarders' ports, their state
and counters (exit 1 when none runs or a port is not open). DIR defaults to ${defaultRunDir}.

plug:
Plugs TAP NAME into a port of the vde_switch whose socket folder is SOCKDIR (the folder
holding its "ctl" socket), speaking the switch protocol itself, and forwards Ethernet frames
both ways until it is stopped (SIGTERM, SIGINT, SIGHUP) or the switch closes the port.
A TAP that does not exist is created for as long as the plug runs.

Options:
  --switch SOCKDIR  the switch's socket folder (vde_switch -s)
  --tap NAME        the TAP device (in the current network namespace)
  --port N          the switch port to ask for (default 0: any free port)
  --reconnect       when the switch goes away, retry (100 ms doubling to 5 s) instead of exiting
  --daemon          run in the background; returns once the port is open (exit 0) or failed
  --pidfile FILE    write the plug's pid to FILE while it runs (removed on exit)
  --stats           on exit, print frames, bytes and drops for each direction

Exit status: 0 when stopped by a signal; 1 when the switch closed the port (without
--reconnect) or could not be reached; 2 for usage errors; 3 for an invalid TAP name.`;

const options = {
  switch: { type: "string" },
  tap: { type: "string" },
  port: { type: "string" },
  reconnect: { type: "boolean" },
  daemon: { type: "boolean" },
  pidfile: { type: "string" },
  stats: { type: "boolean" },
} as const;

function formatStats(stats: ForwardStats): string[] {
  const line = (label: string, direction: ForwardStats["tapToSwitch"]) => `${label}: ${direction.frames} frames, ${direction.bytes} bytes, ${direction.drops} dropped`;
  return [line("tap->switch", stats.tapToSwitch), line("switch->tap", stats.switchToTap)];
}

const forwarderOptions = {
  "run-dir": { type: "string" },
  shard: { type: "string" },
  daemon: { type: "boolean" },
  json: { type: "boolean" },
} as const;

async function forwarder(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const { values } = parseCommandArgs("vde forwarder", args, forwarderOptions, 0);
  const runDir = resolve(values["run-dir"] ?? defaultRunDir);
  const shard = integerOption("vde forwarder", "shard", values.shard, 0);
  if (shard >= maxShards) throw new UsageError("vde forwarder", `--shard ${shard}: the pool has at most ${maxShards} forwarders`);
  const run = await runForwarder(runDir, shard, { daemon: values.daemon === true, selfArgs: ["vde", "forwarder", ...args], env: ctx.env });
  if (run.kind === "detached") ctx.io.out(`forwarder ${shard} for ${runDir} ${run.child.message} (pid ${run.child.pid})`);
  return ExitCode.ok;
}

/** One port as `vde ports` lists it. */
export function formatPort(port: PortStatus): string {
  const where = port.netns === undefined ? port.tap : `${port.netns}/${port.tap}`;
  const state = port.state === "open" ? `open on port ${port.port ?? "?"}` : `${port.state}: ${port.error ?? "?"}`;
  const { tapToSwitch: out, switchToTap: back } = port.stats;
  return `${port.id}: ${where} ↔ ${port.switchDir}: ${state}; ${out.frames} frames out, ${back.frames} in, ${out.drops + back.drops} dropped`;
}

async function ports(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const { values } = parseCommandArgs("vde ports", args, forwarderOptions, 0);
  const runDir = resolve(values["run-dir"] ?? defaultRunDir);
  const report = await forwarderPortsReport(runDir, process.execPath);
  if (values.json === true) ctx.io.out(JSON.stringify(report));
  else if (!report.running) ctx.io.out(`no forwarder runs for ${runDir}`);
  else {
    ctx.io.out(`forwarders for ${runDir}: pid ${report.pids.join(", ")}, ${report.ports.length} port(s)`);
    for (const port of report.ports) ctx.io.out(`  ${formatPort(port)}`);
  }
  return report.running && report.ports.every((port) => port.state === "open") ? ExitCode.ok : ExitCode.failed;
}

async function plug(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const { values } = parseCommandArgs("vde plug", args, options, 0);
  if (values.switch === undefined) throw new UsageError("vde plug", "--switch SOCKDIR is required");
  if (values.tap === undefined) throw new UsageError("vde plug", "--tap NAME is required");
  const port = integerOption("vde plug", "port", values.port, 0);
  if (port > 0xffffff) throw new UsageError("vde plug", `--port ${port} is out of range`);
  validateInterfaceName(values.tap);
  const switchDir = resolve(values.switch);
  const pidfile = values.pidfile === undefined ? undefined : resolve(values.pidfile);
  const tap = values.tap;
  const run = await runPlugDaemon({ switchDir, port, tap, reconnect: values.reconnect === true }, pidfile, { daemon: values.daemon === true, selfArgs: ["vde", "plug", ...args], env: ctx.env }, {
    reconnected: (connection) => ctx.io.err(`benito: reconnected ${tap} to ${switchDir} port ${connection.port}`),
    disconnected: (delayMs) => ctx.io.err(`benito: the switch at ${switchDir} closed the port; reconnecting in ${delayMs} ms`),
    retryFailed: (error, delayMs) => ctx.io.err(`benito: reconnecting to ${switchDir} failed (${error.reason}); next try in ${delayMs} ms`),
  });
  if (run.kind === "detached") {
    ctx.io.out(`plugged ${tap} into ${switchDir} ${run.child.message} (pid ${run.child.pid})`);
    return ExitCode.ok;
  }
  if (values.stats === true) for (const line of formatStats(run.result.stats)) ctx.io.out(line);
  if (run.result.end === "switch-closed") throw new BenitoError("forwarding frames", switchDir, "the switch closed the port (it stopped or dropped the connection)");
  return ExitCode.ok;
}

/** The `vde` command (subcommand: plug). */
export const vdeCommand: Command = {
  name: "vde",
  help,
  async run(args, ctx) {
    const [action, ...rest] = args;
    if (action === "forwarder") return forwarder(rest, ctx);
    if (action === "ports") return ports(rest, ctx);
    if (action !== "plug") throw new UsageError("vde", 'expected "plug", "forwarder" or "ports" (see benito vde --help)');
    return plug(rest, ctx);
  },
};
