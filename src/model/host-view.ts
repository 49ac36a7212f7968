// Reads one host's view straight from a TopDL document: the boot-time path, reading only what that host needs.
import { InputError } from "../errors";
import { extractHostTopology, TopdlDocument } from "../topdl/extract";
import type { ParseOptions } from "../topdl/parse";
import { formatProblem } from "../topdl/problems";
import type { Problem, Topology } from "../topdl/types";
import type { HostView } from "./node";
import { resolveHostView } from "./resolve";

/** HostViewResult interface: the view, the topology it was resolved from, and how it was read. */
export interface HostViewResult {
  readonly view: HostView;
  /** The (possibly partial) topology the view came from; its warnings concern this host. */
  readonly topology: Topology;
  /** True when only this host's parts of the document were read. */
  readonly partial: boolean;
}

/**
 * Reads the view of host `hostName` from a TopDL document (bytes or text). Large documents are
 * not parsed whole: see extractHostTopology. An Emulab-style `node.eid.pid` that is not found
 * is tried as `node`.
 *
 * @throws InputError for a document problem that concerns this host, or a host not in the document.
 */
export function hostViewFromDocument(input: Uint8Array | string, file: string, hostName: string, options: ParseOptions = {}): HostViewResult {
  // Asked twice for `node.eid.pid`: decoded, scanned and read whole once.
  const document = new TopdlDocument(input, file, options);
  let result = extractHostTopology(document, file, hostName, options);
  const dot = hostName.indexOf(".");
  if (result.partial === false && result.topology !== undefined && dot > 0 && !mentions(result.topology, hostName)) {
    result = extractHostTopology(document, file, hostName.slice(0, dot), options);
  }
  const topology = result.topology;
  if (topology === undefined || result.errors.length > 0) throw invalid(file, result.errors);
  return { view: resolveHostView(topology, hostName), topology, partial: result.partial };
}

function mentions(topology: Topology, name: string): boolean {
  return topology.elements.some((element) => element.name === name || element.localnames.includes(name));
}

function invalid(file: string, errors: readonly Problem[]): InputError {
  const count = errors.length;
  return new InputError("reading the topology", file, `${count} problem${count === 1 ? "" : "s"} found`, errors.map(formatProblem));
}
