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
 * is tried as `node`. The same content read again in this process for the same host gives the
 * same (immutable) result without parsing it again.
 *
 * @throws InputError for a document problem that concerns this host, or a host not in the document.
 */
export function hostViewFromDocument(input: Uint8Array | string, file: string, hostName: string, options: ParseOptions = {}): HostViewResult {
  // boot runs its stages in-process, and each reads the same topo.xml for the same hosts
  // (boot, then ifaces; a child's health check, then its launch): the same bytes give the same view.
  const document = sameDocument(file, input);
  const key = `${hostName}\u0000${JSON.stringify(options)}`;
  const known = document.views.get(key);
  if (known !== undefined) return known;
  const view = readHostView(input, file, hostName, options);
  if (document.views.size >= maxViewsPerDocument) document.views.clear();
  document.views.set(key, view);
  return view;
}

/** A document read before in this process and the views made from it. */
interface KnownDocument {
  readonly input: Uint8Array | string;
  readonly views: Map<string, HostViewResult>;
}

/** By file: the last content read (one copy, whatever number of hosts) and its views. */
const documents = new Map<string, KnownDocument>();
/** A pnode with hundreds of children keeps each child's (small, partial) view; beyond this, start over. */
const maxViewsPerDocument = 1024;
/** Files remembered at once (a run reads one topo.xml; a test process reads many). */
const maxDocuments = 4;

/** The entry for this file's content: the one kept when the content is unchanged, else a fresh one. */
function sameDocument(file: string, input: Uint8Array | string): KnownDocument {
  const known = documents.get(file);
  if (known !== undefined && sameContent(known.input, input)) return known;
  const fresh: KnownDocument = { input, views: new Map() };
  documents.delete(file);
  // The oldest file is forgotten first (a Map iterates in insertion order).
  if (documents.size >= maxDocuments) documents.delete(documents.keys().next().value ?? "");
  documents.set(file, fresh);
  return fresh;
}

function sameContent(a: Uint8Array | string, b: Uint8Array | string): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return a === b || (a.length === b.length && Buffer.compare(a, b) === 0);
}

function readHostView(input: Uint8Array | string, file: string, hostName: string, options: ParseOptions): HostViewResult {
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
