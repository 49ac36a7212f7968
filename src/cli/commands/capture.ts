// `benito capture NODE[:IFACE]`: one vnode interface's frames as a pcap file (or one line each), from an AF_PACKET socket on its device.
import { PcapBatch, pcapHeader } from "../../capture/pcap";
import { describeFrame } from "../../capture/frame-summary";
import { BenitoError, ExitCode, InputError, UsageError } from "../../errors";
import type { Node, NodeInterface } from "../../model/node";
import { experimentalInterfaces, type NicDevice } from "../../platforms/platform";
import { platformOf } from "../../platforms/registry";
import { ByteSink, hostLinkName, optimizeFromNow, PacketSocket, readFileBytes, retireMs, snapLength, watchInterrupts } from "../os";
import { loadSiteConf } from "../../config/config-dir";
import { lanDatapaths } from "../datapaths";
import type { LanDatapath } from "../../plan/datapath-plan";
import { integerOption, parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";
import { experimentOptions, experimentOptionsHelp, findLocalNode, loadExperiment, type Experiment } from "../experiment";

const help = `Usage: benito capture [--config DIR] [--run-dir DIR] [--host NAME] NODE[:IFACE]|LAN
                      [-w FILE|-] [-c COUNT] [--duration SECONDS]

Captures the frames of one interface of NODE, in and out, as the pnode reaches it:
  process vnode    its TAP inside its network namespace
  qemu vnode       the TAP QEMU opens on the pnode (benito:qemu_nic = tap; QEMU's own VDE
                   backend has no device to capture on)
  embedded pnode,  the host's NIC, found as benito ifaces finds it (MAC, else benito:ifname)
  the pnode itself
IFACE is the TopDL interface name (e.g. inf000); it may be left out when NODE has one
experimental interface. A LAN on the kernel datapath (site.conf datapath = kernel) can be
captured whole: name the LAN; its bridge is read, promiscuous while the capture runs only. benito reads the frames itself (an AF_PACKET socket; no tcpdump on
the node) and changes nothing: no promiscuous mode, no switch port taken.

  -w, --write F write a pcap file (LINKTYPE_ETHERNET, microsecond timestamps) for tcpdump -r
                or Wireshark; -w - writes it to standard output, e.g.
                  benito capture a:inf000 -w - | wireshark -k -i -
                  ssh pnode benito capture a -w - | wireshark -k -i -
                Without -w, one line per frame (time, MACs, IPv4 addresses and protocol).
  -c, --count N stop after N frames
  --duration S  stop after S seconds
${experimentOptionsHelp}

It runs until COUNT frames, S seconds, SIGINT/SIGTERM (Ctrl-C) or a closed pipe, then prints
a summary on standard error: frames, bytes, and frames the kernel dropped because benito read
too slowly.

Exit codes: 0 done, 1 the device cannot be captured (NODE does not run, a QEMU NIC without a
TAP), 2 usage, 3 invalid input (topo.xml, no NODE or IFACE).`;

const options = {
  ...experimentOptions,
  write: { type: "string", short: "w" },
  count: { type: "string", short: "c" },
  duration: { type: "string" },
} as const;

/** How long one wait for frames lasts: the longest a stop condition or a signal goes unnoticed. */
const pollMs = 100;

/** The `capture` command. */
export const captureCommand: Command = {
  name: "capture",
  help,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("capture", args, options, 1);
    const target = positionals[0];
    if (target === undefined) throw new UsageError("capture", "missing NODE[:IFACE]");
    const count = integerOption("capture", "count", values.count, 0);
    const duration = values.duration === undefined ? 0 : Number(values.duration);
    if (!Number.isFinite(duration) || duration < 0 || values.duration?.trim() === "") throw new UsageError("capture", `--duration wants seconds, got "${values.duration}"`);
    const experiment = await loadExperiment(values);
    const { device, netns, label, promiscuous } = await resolveTarget(experiment, target);
    const socket = PacketSocket.open(device, netns, promiscuous);
    // Frames for as long as it runs: the loop is optimized at once (benito's short runs are not).
    optimizeFromNow();
    // Said once the socket is open, so a script knows that from here on nothing is missed.
    ctx.io.err(`benito capture ${label}: listening on ${device}${netns === undefined ? "" : ` in network namespace ${netns}`}${promiscuous ? " (promiscuous while the capture runs)" : ""}`);
    return captureLoop(socket, { label, write: values.write, count, durationMs: duration * 1000 }, ctx);
  },
};

/** CaptureTarget interface: the device to read, and what to call it. */
interface CaptureTarget {
  readonly device: string;
  readonly netns?: string;
  readonly label: string;
  /** A kernel LAN's bridge sees the frames it forwards between ports only while promiscuous. */
  readonly promiscuous: boolean;
}

/**
 * NODE[:IFACE] is one NIC; a bare name that is no node here but a LAN on the kernel datapath is
 * that LAN's bridge (every member's frames).
 */
async function resolveTarget(experiment: Experiment, target: string): Promise<CaptureTarget> {
  const colon = target.indexOf(":");
  const name = colon < 0 ? target : target.slice(0, colon);
  const { view, file } = experiment;
  const isNode = [view.self, ...view.children].some((node) => node.name === name || node.localnames.includes(name));
  if (!isNode && colon < 0 && view.lans.has(target)) {
    const datapath = lanDatapaths(await loadSiteConf(experiment.configDir), await readFileBytes(file, "reading the topology"), file, view, view.children, experiment.runDir).get(target);
    if (datapath?.kind === "kernel") return { device: datapath.bridge, label: `LAN ${target}`, promiscuous: true };
    throw new InputError("choosing what to capture", target, `LAN ${target} is on the VDE datapath, which has no one device carrying the whole LAN: capture a member (NODE:IFACE), or put the LAN on the kernel datapath (site.conf datapath = kernel)`);
  }
  const node = findLocalNode(experiment, name);
  const nic = pickInterface(node, colon < 0 ? undefined : target.slice(colon + 1));
  // A VM NIC on a kernel LAN is a TAP on its bridge; on VDE, where the platform put it.
  const datapath = node === view.self ? undefined : lanDatapaths(await loadSiteConf(experiment.configDir), await readFileBytes(file, "reading the topology"), file, view, [node], experiment.runDir).get(nic.substrate);
  return { ...deviceOf(experiment, node, nic, datapath), label: `${node.name}:${nic.name}`, promiscuous: false };
}

function pickInterface(node: Node, name: string | undefined): NodeInterface {
  const nics = experimentalInterfaces(node);
  const names = nics.map((nic) => nic.name).join(", ") || "none";
  if (name === undefined) {
    const [only, ...others] = nics;
    if (only !== undefined && others.length === 0) return only;
    throw new InputError("choosing the interface to capture", node.name, `it has ${nics.length} experimental interfaces (${names}): name one as ${node.name}:IFACE`);
  }
  const nic = nics.find((candidate) => candidate.name === name);
  if (nic === undefined) throw new InputError("choosing the interface to capture", `${node.name}:${name}`, `${node.name} has no experimental interface ${JSON.stringify(name)} (it has ${names})`);
  return nic;
}

/** The device (and namespace) where the pnode sees the NIC's frames. */
function deviceOf(experiment: Experiment, node: Node, nic: NodeInterface, datapath: LanDatapath | undefined): { device: string; netns?: string } {
  const where: NicDevice = node === experiment.view.self ? { kind: "host-nic" } : platformOf(node).nicDevice(node, nic, datapath);
  const what = `${node.name}:${nic.name}`;
  if (where.kind === "none") throw new BenitoError("finding the device to capture", what, where.reason);
  if (where.kind === "device") return where;
  const device = hostLinkName(nic);
  if (device === undefined) throw new BenitoError("finding the device to capture", what, `no NIC on this host has MAC ${nic.mac ?? "(none given)"}${nic.ifname === undefined ? "" : ` or the name ${nic.ifname}`}`);
  return { device };
}

interface CaptureOptions {
  readonly label: string;
  readonly write: string | undefined;
  readonly count: number;
  readonly durationMs: number;
}

async function captureLoop(socket: PacketSocket, options: CaptureOptions, ctx: CommandContext): Promise<ExitCode> {
  let sink: ByteSink | undefined;
  let stopped: string | undefined;
  // SIGINT (Ctrl-C) and SIGTERM end a capture cleanly: noted here, acted on between waits.
  const interrupts = watchInterrupts();
  let frames = 0;
  let bytes = 0;
  const batch = new PcapBatch();
  try {
    sink = options.write === undefined ? undefined : ByteSink.open(options.write);
    if (sink !== undefined && !sink.write(pcapHeader(snapLength))) stopped = "the reader closed the pipe";
    // Everything one wake-up finds is written in one go: one write per burst, not per frame.
    const drain = () => {
      socket.read((frame) => {
        frames += 1;
        bytes += frame.length;
        if (sink === undefined) ctx.io.out(describeFrame(frame.bytes, frame.length, frame.seconds, frame.microseconds));
        else batch.append(frame.bytes, frame.length, frame.seconds, frame.microseconds);
        return options.count === 0 || frames < options.count;
      });
      if (sink !== undefined && !sink.write(batch.take())) stopped = "the reader closed the pipe";
      if (options.count > 0 && frames >= options.count) stopped ??= `${options.count} frames`;
    };
    const deadline = options.durationMs > 0 ? performance.now() + options.durationMs : Infinity;
    while (stopped === undefined) {
      const left = deadline - performance.now();
      if (left <= 0) {
        stopped = "time is up";
        break;
      }
      if (socket.wait(Math.min(pollMs, Math.ceil(left)))) drain();
      // Let a pending SIGINT/SIGTERM handler run.
      await new Promise((resolve) => setImmediate(resolve));
      stopped ??= interrupts.received();
    }
    // Stopped by a signal or the clock: the frames seen until then are in a block the kernel
    // hands over within retireMs; they are written too.
    const reason = stopped;
    if (reason === "SIGINT" || reason === "SIGTERM" || reason === "time is up") {
      if (socket.wait(retireMs * 3)) drain();
      stopped = reason;
    }
  } finally {
    interrupts.dispose();
    const drops = socket.drops();
    socket.close();
    sink?.close();
    ctx.io.err(`benito capture ${options.label}: ${frames} frame${frames === 1 ? "" : "s"}, ${bytes} bytes, ${drops} dropped${stopped === undefined ? "" : ` (stopped: ${stopped})`}`);
  }
  return ExitCode.ok;
}
