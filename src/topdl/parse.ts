// The TopDL reader's entry points: bytes or text in, a normalized Topology (or every problem) out.
import { InputError } from "../errors";
import type { Problem, Topology } from "./types";
import type { BlockIndexes } from "./normalize";
import { normalizeTopology, TopologyReader, type Sink } from "./normalize";
import { byLine, formatProblem, ProblemList, type Omitted } from "./problems";
import { decodeUtf8, parseOrdered, prepare, tagOf, childrenOf, type OrderedNode } from "./xml";

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
 * @param input The document's bytes (checked as UTF-8) or text.
 * @param file The file name used in problems.
 */
export function checkTopology(input: Uint8Array | string, file: string, options: ParseOptions = {}): CheckResult {
  const result = read(input, file, options);
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
  const size = typeof input === "string" ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) {
    return { errors: [problem(0, `file is ${size} bytes, larger than the limit of ${maxBytes} (raise it with --max-bytes)`)], warnings: [] };
  }
  let text: string;
  if (typeof input === "string") text = input;
  else {
    const decoded = decodeUtf8(input);
    if ("badOffset" in decoded) {
      let line = 1;
      for (let k = 0; k < decoded.badOffset; k += 1) if (input[k] === 0x0a) line += 1;
      return { errors: [problem(line, `invalid UTF-8 at byte offset ${decoded.badOffset}`)], warnings: [] };
    }
    text = decoded.text;
  }

  const prepared = prepare(text);
  const errorList = new ProblemList("error");
  const warningList = new ProblemList("warning");
  for (const found of prepared.problems) (found.severity === "error" ? errorList : warningList).push(problem(found.line, found.message));
  // The lists as they stand, sorted by line, with the counts of what was not kept.
  const result = (topology?: Topology): CheckResult => {
    const omitted = [...errorList.omitted(), ...warningList.omitted()];
    const errors = byLine(errorList.kept);
    const warnings = byLine(warningList.kept);
    return { ...(topology !== undefined && { topology: { ...topology, warnings } }), errors, warnings, ...(omitted.length > 0 && { omitted }) };
  };
  if (!errorList.empty) return result();

  const top = options.top ?? "experiment";
  const sink: Sink = {
    file,
    lineOf: (offset) => prepared.lineOf((sink.base ?? 0) + offset),
    errors: errorList,
    warnings: warningList,
    ...(options.indexes !== undefined && { indexes: options.indexes }),
  };
  const malformed = (error: unknown): CheckResult => ({ errors: [problem(0, `not well-formed XML: ${error instanceof Error ? error.message : String(error)}`)], warnings: byLine(warningList.kept) });
  let normalized: ReturnType<TopologyReader["finish"]>;
  if (prepared.root === top && prepared.rootChildren !== undefined) {
    // The usual case, the topology is the root: parse and read one top-level block at a time, so
    // no whole-document tree is ever built (for 10,000 computers that tree alone is ~300 MB).
    const reader = new TopologyReader(sink);
    for (const [start, end] of batches(prepared.rootChildren)) {
      let children: OrderedNode[];
      try {
        children = parseOrdered(prepared.xml.slice(start, end));
      } catch (error) {
        return malformed(error);
      }
      sink.base = start;
      for (const child of children) reader.child(child);
    }
    normalized = reader.finish(1);
  } else {
    let tree: OrderedNode[];
    try {
      tree = parseOrdered(prepared.xml);
    } catch (error) {
      return malformed(error);
    }
    const node = findFirst(tree, top);
    if (node === undefined) {
      const root = tree.map(tagOf).find((tag) => tag !== "#text") ?? "(none)";
      const hint = top === "experiment" ? " (TopDL's root is <experiment>; --top NAME reads another element)" : "";
      return { errors: [problem(1, `no <${top}> element: the root element is <${root}>, expected <${top}>${hint}`)], warnings: byLine(warningList.kept) };
    }
    normalized = normalizeTopology(node, top, sink);
  }
  if (!errorList.empty) return result();
  return result({ file, ...normalized, warnings: [] });
}

/**
 * Groups consecutive top-level blocks into runs of about 32 KB: each fast-xml-parser call has a
 * fixed cost (it builds its decoder and path matcher), so one call per block would waste it, and
 * one call for everything would build the whole tree. 32 KB of text makes a tree of a few hundred
 * KB that is still in the CPU cache when it is read: on the 9 MB benchmark document this reads
 * ~10% faster than 256 KB runs, with less garbage in flight.
 */
export function batches(blocks: readonly (readonly [number, number])[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const [start, end] of blocks) {
    const last = runs[runs.length - 1];
    if (last !== undefined && end - last[0] <= 32 * 1024) last[1] = end;
    else runs.push([start, end]);
  }
  return runs;
}

/** The first element with the tag, in document order (the root itself, or nested, e.g. in a SOAP envelope). */
function findFirst(nodes: readonly OrderedNode[], tag: string): OrderedNode | undefined {
  for (const node of nodes) {
    const name = tagOf(node);
    if (name === "#text") continue;
    if (name === tag) return node;
    const found = findFirst(childrenOf(node, name), tag);
    if (found !== undefined) return found;
  }
  return undefined;
}
