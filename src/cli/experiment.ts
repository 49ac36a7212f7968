// Finds the running experiment the way boot does (--config, --run-dir, --host) and one of its nodes: for link, capture and exec.
import { resolveConfigDir, resolveHostName, topologyPath } from "../config/config-dir";
import { InputError } from "../errors";
import { hostViewFromDocument } from "../model/host-view";
import type { HostView, Node } from "../model/node";
import { readFileBytes } from "./os";
import { defaultRunDir } from "./host-plan";

/** The options every experiment tool takes (`--config DIR`, `--run-dir DIR`, `--host NAME`). */
export const experimentOptions = {
  config: { type: "string" },
  "run-dir": { type: "string" },
  host: { type: "string" },
} as const;

/** The help lines for {@link experimentOptions}. */
export const experimentOptionsHelp = `  --config DIR   the experiment's config folder (default /var/benito/config, then /var/containers/config)
  --run-dir DIR  the run folder boot used (default ${defaultRunDir})
  --host NAME    act as this pnode (default: the kernel hostname, cut at the first dot)`;

/** Experiment interface: this host's view of the experiment and where its files are. */
export interface Experiment {
  readonly configDir: string;
  readonly runDir: string;
  /** topo.xml. */
  readonly file: string;
  readonly view: HostView;
}

/** Reads this host's view of the experiment (a bad topo.xml is an InputError listing its problems). */
export async function loadExperiment(values: { config?: string; "run-dir"?: string; host?: string }): Promise<Experiment> {
  const configDir = await resolveConfigDir(values.config);
  const file = topologyPath(configDir);
  const { view } = hostViewFromDocument(await readFileBytes(file, "reading the topology"), file, resolveHostName(values.host));
  return { configDir, runDir: values["run-dir"] ?? defaultRunDir, file, view };
}

/**
 * One node this host runs: itself or a vnode it hosts, by name (or localname).
 *
 * @throws InputError naming the nodes this host has when there is no such node here.
 */
export function findLocalNode(experiment: Experiment, name: string): Node {
  const { view } = experiment;
  const nodes = [view.self, ...view.children];
  const found = nodes.find((node) => node.name === name) ?? nodes.find((node) => node.localnames.includes(name));
  if (found !== undefined) return found;
  const known = nodes.map((node) => node.name).join(", ");
  throw new InputError("finding the node", JSON.stringify(name), `${view.self.name} has no node of that name (its nodes: ${known}); run benito on the pnode that hosts it`);
}

/**
 * Splits a command line whose options end at the first word that is not an option (`exec`,
 * `capture`): the leading options (with the values of those that take one) and the rest.
 */
export function splitAtFirstWord(args: readonly string[], valueOptions: ReadonlySet<string>): { options: string[]; rest: string[] } {
  let index = 0;
  while (index < args.length) {
    const word = args[index] ?? "";
    if (word === "--") return { options: args.slice(0, index), rest: args.slice(index + 1) };
    if (!word.startsWith("-") || word === "-") break;
    index += valueOptions.has(word) ? 2 : 1;
  }
  return { options: args.slice(0, index), rest: args.slice(index) };
}
