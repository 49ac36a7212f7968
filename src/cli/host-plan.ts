// Loads what boot, status and down need: the config folder, this host's view, and the context of its stages.
import { join } from "node:path";
import { checkSiteConfFile, resolveConfigDir, resolveHostName, topologyPath } from "../config/config-dir";
import { emptySiteConf } from "../config/site-conf";
import { lanDatapaths } from "./datapaths";
import { checkNodes } from "../model/resolve";
import { validateExperiment } from "../plan/validate";
import { hostViewFromDocument } from "../model/host-view";
import type { HostView } from "../model/node";
import type { BootContext } from "../plan/boot-plan";
import type { LanDatapath } from "../plan/datapath-plan";
import { InputError } from "../errors";
import { platformProblems } from "../platforms/planning";
import { Ledger, pathExists, readFileBytes } from "./os";
import { byLine, formatProblem } from "../topdl/problems";

export { defaultLogFile, defaultRunDir } from "../model/run-dir";

/** HostPlanInput interface: this host's view and the stage context. */
export interface HostPlanInput {
  readonly view: HostView;
  readonly ctx: BootContext;
  /** Validation warnings (e.g. unknown site.conf keys), as `file:line: path: warning: message`. */
  readonly warnings: readonly string[];
}

/** LoadOptions interface: how much checking loading does. */
export interface LoadOptions {
  /** Extra ifaces arguments passed to the stages. */
  readonly ifacesArgs?: readonly string[];
  /** Run the one validator (boot, status): every problem stops here, before anything changes. */
  readonly validate?: boolean;
  /** Warnings count as errors (`boot --strict`). */
  readonly strict?: boolean;
}

/**
 * The LANs' datapaths, or undefined when their inputs are bad: the validator lists those problems
 * itself (site.conf's datapath values), all at once, which a thrown error here would cut short.
 */
function decidedDatapaths(decide: () => ReadonlyMap<string, LanDatapath>): ReadonlyMap<string, LanDatapath> | undefined {
  try {
    return decide();
  } catch (error) {
    if (error instanceof InputError) return undefined;
    throw error;
  }
}

/**
 * Reads CONFIG_DIR and this host's view. A bad topo.xml, or a child's bad platform attributes,
 * throw InputError listing every problem that concerns this host, before anything is changed.
 */
export async function loadHostPlanInput(configArg: string | undefined, hostArg: string | undefined, runDir: string, options: LoadOptions = {}): Promise<HostPlanInput> {
  const configDir = await resolveConfigDir(configArg);
  const host = resolveHostName(hostArg);
  const file = topologyPath(configDir);
  const bytes = await readFileBytes(file, "reading the topology");
  const { view, topology } = hostViewFromDocument(bytes, file, host);
  let warnings: string[] = [];
  if (options.validate === true) {
    // The one validator: every problem the config folder shows stops boot here, listed together.
    const site = await checkSiteConfFile(configDir);
    // The fast path's partial read holds everything these checks ask about this host (its pnode,
    // its LANs' members and where they are placed, elements sharing its addresses: src/topdl/extract.ts).
    // The LANs' datapaths, so that a vnode's NIC missing what its LAN's datapath needs (a QEMU
    // NIC's VDE switch and port) is found here, not when its launch comes.
    const datapaths = decidedDatapaths(() => lanDatapaths(site?.conf ?? emptySiteConf(), bytes, file, view, view.children, runDir));
    const result = validateExperiment({ topology, nodes: checkNodes(topology).nodes, view, runDir, ...(datapaths !== undefined && { datapaths }), ...(site !== undefined && { site }) });
    const asErrors = options.strict === true ? result.warnings : [];
    const errors = [...result.errors, ...asErrors];
    if (errors.length > 0) throw new InputError("checking the config folder", configDir, `${errors.length} problem${errors.length === 1 ? "" : "s"}`, errors.map(formatProblem));
    warnings = result.warnings.map((problem) => formatProblem({ ...problem, message: `warning: ${problem.message}` }));
  } else {
    // Every child's platform attributes are checked here, so a bad one stops before any change
    // and is listed with all the others.
    const problems = platformProblems(view.children, file);
    if (problems.length > 0) throw new InputError("checking the vnodes' platform attributes", file, `${problems.length} problem${problems.length === 1 ? "" : "s"}`, byLine(problems).map(formatProblem));
  }
  const ifacesArgs = options.ifacesArgs ?? [];
  const name = view.self.name;
  const hasRouteFile = (await pathExists(join(configDir, "route", name))) || (await pathExists(join(configDir, "routes", name)));
  const hasHostsFile = await pathExists(join(configDir, "hosts"));
  // What an earlier run made, as its ledger says: vnodes to stop when the topology no longer has them.
  const ledger = Ledger.at(runDir);
  const recordedVnodes = ledger.list("vnode").map((record) => record.id);
  const hasSwitchRecords = ledger.list("daemon").length + ledger.list("tunnel").length > 0;
  const hasControlBridgeRecord = ledger.get("control-bridge", "control") !== undefined;
  return { view, ctx: { configDir, runDir, hasRouteFile, hasHostsFile, ifacesArgs, recordedVnodes, hasSwitchRecords, hasControlBridgeRecord }, warnings };
}
