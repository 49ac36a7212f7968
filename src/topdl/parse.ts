// The TopDL reader's entry points: bytes or text in, a normalized Topology (or every problem) out.
import { InputError } from "../errors";
import type { Problem, Topology } from "./types";
import type { BlockIndexes } from "./normalize";
import { normalizeTopology, TopologyReader, type Sink } from "./normalize";
import { byLine, formatProblem, ProblemList, type Omitted } from "./problems";
import { decodeDocument } from "./decode";
import { parseXml, type XmlNode } from "./xml";

/** Default size limit for a TopDL document: 64 MiB. */
export const defaultMaxBytes = 64 * 1024 * 1024;

/** ParseOptions interface: how to read a document. */
export interface ParseOptions {
  /** The element that holds the topology (default "experiment"): the first one in document order. */
  readonly top?: string;
  /** Refuse inputs larger than this many bytes (default 64 MiB). */
  readonly maxBytes?: number;
  /** Treat warnings as errors. */
  readonly strict?: boolean;
  /**
   * For partial documents (src/topdl/extract.ts): the original index of each top-level
   * `<substrates>` and `<elements>` block, so paths read as in the whole document.
   */
  readonly indexes?: BlockIndexes;
}

/** CheckResult interface: the outcome of reading one document, problems as data. */
export interface CheckResult {
  /** The topology, present when there are no errors. */
  readonly topology?: Topology;
  readonly errors: readonly Problem[];
  readonly warnings: readonly Problem[];
  /** Kinds of problems found more often than kept (problems.ts keptPerKind), with their totals. */
  readonly omitted?: readonly Omitted[];
}

/**
 * Reads and validates a TopDL document without throwing: every error and warning, with line and
 * path. With `strict`, warnings are reported as errors.
 *
 * @param input The document's bytes (decoded as its byte-order mark or XML declaration says) or text.
 * @param file The file name used in problems.
 */
export function checkTopology(input: Uint8Array | string, file: string, options: ParseOptions = {}): CheckResult {
  return strictly(read(input, file, options), options);
}

/**
 * checkTopology for a document already within the size limit and decoded (the fast paths'
 * fallback: the scan has done both, and a decoded text's UTF-8 length is not its size).
 */
export function checkDecoded(text: string, file: string, options: ParseOptions = {}): CheckResult {
  return strictly(readText(text, file, options), options);
}

/** The size checked against --max-bytes: the bytes, or a string's length in UTF-8 (not in UTF-16 units). */
export function inputBytes(input: Uint8Array | string): number {
  return typeof input === "string" ? Buffer.byteLength(input) : input.length;
}

/** With `strict`, warnings are reported as errors. */
function strictly(result: CheckResult, options: ParseOptions): CheckResult {
  if (!options.strict || result.warnings.length === 0) return result;
  const omitted = result.omitted?.map((kind) => ({ ...kind, severity: "error" as const }));
  return { errors: byLine([...result.errors, ...result.warnings]), warnings: [], ...(omitted !== undefined && { omitted }) };
}

/**
 * Reads and validates a TopDL document.
 *
 * @throws InputError (exit 3) whose details list every problem as "file:line: path: message".
 */
export function parseTopology(input: Uint8Array | string, file: string, options: ParseOptions = {}): Topology {
  const result = checkTopology(input, file, options);
  if (result.topology === undefined || result.errors.length > 0) {
    const count = result.errors.length;
    throw new InputError("reading the topology", file, `${count} problem${count === 1 ? "" : "s"} found`, result.errors.map(formatProblem));
  }
  return result.topology;
}

function read(input: Uint8Array | string, file: string, options: ParseOptions): CheckResult {
  const problem = (line: number, message: string): Problem => ({ file, line, path: "", message });
  const maxBytes = options.maxBytes ?? defaultMaxBytes;
  const size = inputBytes(input);
  if (size > maxBytes) {
    return { errors: [problem(0, `file is ${size} bytes, larger than the limit of ${maxBytes} (raise it with --max-bytes)`)], warnings: [] };
  }
  if (typeof input === "string") return readText(input, file, options);
  const decoded = decodeDocument(input);
  if ("error" in decoded) return { errors: [problem(decoded.line, decoded.error)], warnings: [] };
  return readText(decoded.text, file, options);
}

function readText(text: string, file: string, options: ParseOptions): CheckResult {
  const problem = (line: number, message: string): Problem => ({ file, line, path: "", message });
  const top = options.top ?? "experiment";
  const reading = new Reading(file, options);
  // When the topology is the root (the usual case), each top-level block is read as soon as it
  // is parsed and then dropped: no tree of the whole document is ever held.
  const xml = parseXml(text, { stream: { name: top, child: (node) => reading.reader.child(node) } });
  if (xml.problems.some((found) => found.severity === "error")) {
    // A document that is not well-formed XML has no TopDL meaning: its XML problems alone.
    const errors = xml.problems.filter((found) => found.severity === "error").map((found) => problem(found.line, found.message));
    const warnings = xml.problems.filter((found) => found.severity === "warning").map((found) => problem(found.line, found.message));
    return { errors, warnings };
  }
  const xmlWarnings = xml.problems.map((found) => problem(found.line, found.message));
  if (xml.rootName === top) return reading.finish(reading.reader.finish(xml.rootLine), xmlWarnings);
  const node = xml.root === undefined ? undefined : findFirst([xml.root], top);
  if (node === undefined) {
    const hint = top === "experiment" ? " (TopDL's root is <experiment>; --top NAME reads another element)" : "";
    return { errors: [problem(1, `no <${top}> element: the root element is <${xml.rootName}>, expected <${top}>${hint}`)], warnings: byLine(reading.warnings.kept) };
  }
  return reading.finish(normalizeTopology(node, reading.sink), xmlWarnings);
}

/**
 * Reads top-level blocks already parsed (each by itself, at its line in the document: the fast
 * paths, src/topdl/extract.ts) as the children of an `<experiment>` root on `rootLine`: the
 * answer of checkTopology for a document of those blocks, without parsing them again.
 */
export function checkBlocks(blocks: readonly XmlNode[], rootLine: number, file: string, options: ParseOptions = {}): CheckResult {
  const reading = new Reading(file, options);
  for (const block of blocks) reading.reader.child(block);
  return strictly(reading.finish(reading.reader.finish(rootLine), []), options);
}

/** Reading class: the problem lists and the reader of one document being read. */
class Reading {
  readonly #file: string;
  readonly errors = new ProblemList("error");
  readonly warnings = new ProblemList("warning");
  readonly sink: Sink;
  readonly reader: TopologyReader;

  constructor(file: string, options: ParseOptions) {
    this.#file = file;
    this.sink = { file, errors: this.errors, warnings: this.warnings, ...(options.indexes !== undefined && { indexes: options.indexes }) };
    this.reader = new TopologyReader(this.sink);
  }

  /** The lists as they stand, sorted by line, with the counts of what was not kept; the topology when there is no error. */
  finish(normalized: ReturnType<TopologyReader["finish"]>, xmlWarnings: readonly Problem[]): CheckResult {
    const omitted = [...this.errors.omitted(), ...this.warnings.omitted()];
    const errors = byLine(this.errors.kept);
    const warnings = byLine([...xmlWarnings, ...this.warnings.kept]);
    const topology = this.errors.empty ? { file: this.#file, ...normalized, warnings } : undefined;
    return { ...(topology !== undefined && { topology }), errors, warnings, ...(omitted.length > 0 && { omitted }) };
  }
}

/** The first element with the tag, in document order (the root itself, or nested, e.g. in a SOAP envelope). */
function findFirst(nodes: readonly XmlNode[], tag: string): XmlNode | undefined {
  for (const node of nodes) {
    if (node.name === "#text") continue;
    if (node.name === tag) return node;
    const found = findFirst(node.children, tag);
    if (found !== undefined) return found;
  }
  return undefined;
}
