// `benito exec NODE [--] PROGRAM [ARGS...]`: runs a program inside a process vnode's namespace (or on the embedded pnode), with its exit code.
import { BenitoError, ExitCode, UsageError } from "../../errors";
import type { Node } from "../../model/node";
import { namespaceName } from "../../platforms/names";
import { execInNamespace, execProgram, namespaceExists } from "../os";
import { parseCommandArgs } from "../args";
import type { Command } from "../command";
import { experimentLeases } from "./control-net";
import { experimentOptions, experimentOptionsHelp, findLocalNode, loadExperiment, splitAtFirstWord, type Experiment } from "../experiment";

const help = `Usage: benito exec [--config DIR] [--run-dir DIR] [--host NAME] NODE [--] PROGRAM [ARGS...]

Runs PROGRAM inside NODE, a node of the experiment this pnode runs, and exits with PROGRAM's
exit code (benito is replaced by it: same pid, same terminal, signals go to it):
  process vnode    inside its network namespace (bn-NODE): its addresses and routes
  embedded pnode   on this host as it is (it is the host's own network)
  the pnode itself on this host as it is
  qemu vnode       not possible from here: benito says which control address to use instead
Options end at NODE: everything after it is PROGRAM's (\`benito exec a ping -c 1 b\` passes
-c to ping). PROGRAM is found on PATH and run directly, never through a shell.

${experimentOptionsHelp}

Exit codes: PROGRAM's own; 1 PROGRAM could not be started or NODE does not run; 2 usage;
3 invalid input (topo.xml, or no node NODE on this pnode).`;

const valueOptions = new Set(Object.keys(experimentOptions).map((name) => `--${name}`));

/** The `exec` command. */
export const execCommand: Command = {
  name: "exec",
  help,
  childArgvStart(args) {
    const { rest } = splitAtFirstWord(args, valueOptions);
    // After the options (and a "--" before NODE, if any): NODE, an optional "--", then PROGRAM.
    const nodeAt = args.length - rest.length;
    return nodeAt + (rest[1] === "--" ? 2 : 1);
  },
  async run(args) {
    const { options, rest } = splitAtFirstWord(args, valueOptions);
    const { values } = parseCommandArgs("exec", options, experimentOptions, 0);
    const [nodeName, ...tail] = rest;
    if (nodeName === undefined) throw new UsageError("exec", "missing NODE");
    const argv = tail[0] === "--" ? tail.slice(1) : tail;
    if (argv.length === 0) throw new UsageError("exec", "missing PROGRAM");
    const experiment = await loadExperiment(values);
    const node = findLocalNode(experiment, nodeName);
    return enter(experiment, node, argv);
  },
};

/** Replaces benito with argv inside the node; returns only by throwing. */
async function enter(experiment: Experiment, node: Node, argv: readonly string[]): Promise<ExitCode> {
  const doing = `running ${JSON.stringify(argv[0])} in node`;
  if (node === experiment.view.self || node.nodeType === "embedded_pnode") return execProgram(argv, doing, node.name);
  if (node.nodeType === "process") {
    const netns = namespaceName(node.name);
    if (!namespaceExists(netns)) throw new BenitoError(doing, node.name, `it does not run (no network namespace ${netns}); benito boot starts it`);
    return execInNamespace(netns, argv);
  }
  if (node.nodeType === "qemu") throw new BenitoError(doing, node.name, `it is a QEMU VM, which benito cannot enter from the pnode; ${await controlHint(experiment, node)}`);
  throw new BenitoError(doing, node.name, `its platform "${node.nodeType}" has no namespace benito can enter`);
}

/** Where to reach a VM instead: its control address (from topo.xml or the control pool), or why it has none. */
async function controlHint(experiment: Experiment, node: Node): Promise<string> {
  try {
    const lease = (await experimentLeases(experiment.configDir)).leases.find((candidate) => candidate.node === node.name);
    if (lease !== undefined) return `use its control address, ${lease.address} (e.g. ssh ${lease.address} PROGRAM)`;
  } catch (error) {
    if (!(error instanceof BenitoError)) throw error;
  }
  return "it has no control address (no control_net interface and no control_pool in site.conf): use its console";
}
