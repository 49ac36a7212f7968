// The fast paths against the whole read: documents, generated experiments and seeded mutants, compared answer for answer.
import { BenitoError } from "../../src/errors";
import { hostViewFromDocument } from "../../src/model/host-view";
import { lanNodesFromDocument } from "../../src/model/lan-nodes";
import type { HostView, Node } from "../../src/model/node";
import { checkNodes, resolveHostView, resolveNodes } from "../../src/model/resolve";
import { validateExperiment } from "../../src/plan/validate";
import { checkTopology, type ParseOptions } from "../../src/topdl/parse";
import { formatProblem } from "../../src/topdl/problems";
import type { Topology } from "../../src/topdl/types";
import { parseXml, type XmlNode, type XmlResult } from "../../src/topdl/xml";
import { random } from "../helpers/random";


const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

/** GenerateOptions interface: the shape of a generated experiment. */
export interface GenerateOptions {
  readonly pnodes: number;
  readonly vnodesPerPnode: number;
  readonly lans: number;
  /** Place vnodes by Containers partitions (pnode-NNNN hosts) instead of benito:host. */
  readonly partitions?: boolean;
  /** Layout: one tag per line (DETER's tools), all on one line, or indented with CRLF line ends. */
  readonly layout?: "lines" | "compact" | "crlf";
}

/** A valid experiment: pnodes hosting QEMU vnodes on shared LANs, with addresses, MACs, shaping and localnames. */
export function generateExperiment(options: GenerateOptions): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', "<experiment>", "<version>1.0</version>"];
  const attribute = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;
  for (let lan = 0; lan < options.lans; lan += 1) {
    const shaping = lan % 3 === 0 ? `<capacity><rate>${1000 * (lan + 1)}</rate><kind>max</kind></capacity><latency><time>${lan % 7}</time><kind>average</kind></latency>` : "";
    out.push(`<substrates><name>lan${lan}</name>${shaping}${lan % 4 === 1 ? attribute("loss", "0.01") : ""}</substrates>`);
  }
  let serial = 0;
  for (let p = 0; p < options.pnodes; p += 1) {
    const pnode = options.partitions ? `pnode-${String(p + 1).padStart(4, "0")}` : `pnode${p}`;
    out.push(`<elements><computer><name>${pnode}</name><localname>${pnode}.exp.proj</localname>${attribute("benito:node_type", "pnode")}</computer></elements>`);
    for (let v = 0; v < options.vnodesPerPnode; v += 1) {
      serial += 1;
      const name = `vn${serial}`;
      const interfaces: string[] = [];
      for (let k = 0; k < 2; k += 1) {
        const lan = (serial * 3 + k * 5) % options.lans;
        const mac = `02:00:00:00:${(serial >> 8).toString(16).padStart(2, "0")}:${((serial & 255) ^ k).toString(16).padStart(2, "0")}`;
        interfaces.push(`<interface><substrate>lan${lan}</substrate><name>inf00${k}</name>${attribute("ip4_address", `10.${lan}.${serial >> 8}.${(serial & 255) || 1}`)}${attribute("ip4_netmask", "255.0.0.0")}${attribute("benito:mac_address", mac)}</interface>`);
      }
      const placement = options.partitions ? attribute("containers:partition", String(p + 1)) : attribute("benito:host", pnode);
      out.push(`<elements><computer><name>${name}</name>${interfaces.join("")}${attribute("benito:node_type", "qemu")}${placement}</computer></elements>`);
    }
  }
  out.push("</experiment>");
  const compact = out.join("");
  if (options.layout === "compact") return compact;
  // One tag per line: a line end before every tag that follows a closing tag or starts a block.
  const lines = compact.replace(/></g, ">\n<");
  return options.layout === "crlf" ? lines.replace(/\n/g, "\r\n  ") : lines;
}

/** The names of the computers of a document as the whole read sees them (none when it is invalid). */
export function computerNames(document: string): string[] {
  const topology = checkTopology(document, "d.xml").topology;
  return topology?.elements.filter((element) => element.kind === "computer").map((element) => element.name) ?? [];
}

/** Mutations that keep or break a document in the ways the fast paths must not be fooled by. */
const mutations: readonly ((document: string, next: () => number, names: readonly string[]) => string)[] = [
  // A processing instruction or comment holding a whole fake computer, between blocks or inside one.
  (d, next, names) => insertAt(d, next, `<?pi <elements><computer><name>${pick(next, names)}</name><interface><substrate>evil</substrate></interface></computer></elements> ?>`),
  (d, next, names) => insertAt(d, next, `<!-- <substrates><name>ghost</name></substrates><elements><computer><name>${pick(next, names)}</name></computer></elements> -->`),
  // Whitespace and attributes inside tags.
  (d, next) => replaceOne(d, next, /<(substrates|substrate|elements|computer|name|interface)>/g, (tag) => tag.replace(">", " >")),
  (d, next) => replaceOne(d, next, /<(elements|substrates|computer)>/g, (tag) => tag.replace(">", ' id="1">')),
  // A name written with character references, CDATA, or split by a comment.
  (d, next) => replaceOne(d, next, /<name>([a-z])/g, (match) => `<name>&#${match.charCodeAt(6)};`),
  (d, next) => replaceOne(d, next, /<name>([\w.-]+)<\/name>/g, (match) => match.replace(/<name>(.*)<\/name>/, "<name><![CDATA[$1]]></name>")),
  (d, next) => replaceOne(d, next, /<substrate>([\w.-]+)<\/substrate>/g, (match) => match.replace(/<substrate>(.)(.*)<\/substrate>/, "<substrate>$1<!--x-->$2</substrate>")),
  (d, next) => replaceOne(d, next, /<value>([\w.-]+)<\/value>/g, (match) => match.replace(/<value>(.*)<\/value>/, "<value> $1 </value>")),
  // Nested wrappers: a stray <substrates> or <elements> inside a computer.
  (d, next) => replaceOne(d, next, /<\/computer>/g, () => "<substrates><name>lan0</name></substrates></computer>"),
  (d, next, names) => replaceOne(d, next, /<\/computer>/g, () => `<elements><computer><name>${pick(next, names)}</name></computer></elements></computer>`),
  // A duplicate of a block, a block removed, a name changed.
  (d, next) => {
    const blocks = [...d.matchAll(/<(substrates|elements)>[\s\S]*?<\/\1>/g)];
    if (blocks.length === 0) return d;
    const block = pick(next, blocks);
    return next() < 0.5 ? d.slice(0, block.index) + block[0] + d.slice(block.index) : d.slice(0, block.index) + d.slice(block.index + block[0].length);
  },
  (d, next, names) => replaceOne(d, next, /<name>[\w.-]+<\/name>/g, () => `<name>${pick(next, names)}</name>`),
  // Prefixes, a DOCTYPE, an XML declaration moved, line ends changed.
  (d, next) => replaceOne(d, next, /<(\/?)(elements|computer|name)>/g, (tag) => tag.replace(/<(\/?)/, "<$1t:")),
  (d) => d.replace("<experiment>", '<!DOCTYPE experiment SYSTEM "topdl.dtd">\n<experiment>'),
  (d) => ` ${d}`,
  (d) => d.replace(/\n/g, "\r"),
  // Byte-level damage: a character deleted or doubled, a control character inserted.
  (d, next) => {
    const at = Math.floor(next() * d.length);
    return next() < 0.5 ? d.slice(0, at) + d.slice(at + 1) : d.slice(0, at) + d[at] + d.slice(at);
  },
  (d, next) => insertAt(d, next, pick(next, ["\u0001", "\u001b", "&#1;", "&bogus;", "&", "]]>", "\u0085"])),
  // A value out of range.
  (d, next) => replaceOne(d, next, /<rate>[^<]*<\/rate>/g, () => pick(next, ["<rate>1e400</rate>", "<rate>-1</rate>", "<rate>1e-400</rate>"])),
  // Text of the root's own, between blocks (a warning of the whole read; an error with --strict).
  (d, next) => replaceOne(d, next, /<\/(elements|substrates)>/g, (tag) => `${tag}${pick(next, ["stray", "<![CDATA[x]]>", "&#120;"])}`),
  // A name with letters outside ASCII (more UTF-8 bytes than UTF-16 units: the size limit counts bytes).
  (d, next) => replaceOne(d, next, /<name>[\w.-]+<\/name>/g, (match) => match.replace("</name>", "\u00e9\u4e16</name>")),
];

function insertAt(document: string, next: () => number, text: string): string {
  // Between tags mostly (where text is allowed); anywhere sometimes.
  const gaps = [...document.matchAll(/></g)];
  const at = gaps.length > 0 && next() < 0.9 ? pick(next, gaps).index + 1 : Math.floor(next() * document.length);
  return document.slice(0, at) + text + document.slice(at);
}

function replaceOne(document: string, next: () => number, pattern: RegExp, replace: (match: string) => string): string {
  const matches = [...document.matchAll(pattern)];
  if (matches.length === 0) return document;
  const match = pick(next, matches);
  return document.slice(0, match.index) + replace(match[0]) + document.slice(match.index + match[0].length);
}

/** A mutant of a document: one to three mutations. */
export function mutate(document: string, next: () => number, names: readonly string[]): string {
  let mutant = document;
  const count = 1 + Math.floor(next() * 3);
  for (let k = 0; k < count; k += 1) mutant = pick(next, mutations)(mutant, next, names.length > 0 ? names : ["a"]);
  return mutant;
}

/** Outcome of one comparison: a difference (undefined when the answers agree) and whether the fast path was taken. */
export interface Compared {
  readonly difference?: string;
  readonly partial: boolean;
}

type Answer<T> = { readonly value: T } | { readonly error: string; readonly details: readonly string[] };

function answer<T>(work: () => T): Answer<T> {
  try {
    return { value: work() };
  } catch (error) {
    if (!(error instanceof BenitoError)) throw error;
    return { error: error.message, details: error.details };
  }
}

/** A host's view and what boot's validator says of it (the topology it was read from). */
interface Checked {
  readonly view: HostView;
  readonly topology: Topology;
}

/**
 * What a host's boot reads from its view: itself, its children, the LANs they use, the
 * validator's problems, and the warnings about the document as a whole (not inside a
 * `<substrates>` or `<elements>` block: the fast path reads all of those parts too).
 */
function viewJson({ view, topology }: Checked): string {
  const used = new Set([view.self, ...view.children].flatMap((node) => node.interfaces.map((iface) => iface.substrate)));
  const lans = [...view.lans.values()].filter((lan) => used.has(lan.name));
  const validation = validateExperiment({ topology, nodes: checkNodes(topology).nodes, view });
  const documentWarnings = topology.warnings.filter((warning) => !inBlock(warning.path)).map(formatProblem);
  return JSON.stringify({ self: nodeJson(view.self), children: view.children.map(nodeJson), lans, problems: validation.errors.map(formatProblem), documentWarnings }, undefined, 1);
}

/** Whether a problem's path is inside a top-level `<substrates>` or `<elements>` block (the parts a fast path may leave unread). */
function inBlock(path: string): boolean {
  return path.startsWith("elements[") || path.startsWith("substrates[");
}

function nodeJson(node: Node): unknown {
  return { ...node, attributes: [...node.attributes] };
}

/**
 * Compares answers: equal when both have a value; both errors with the fast one's details among
 * the whole read's (a document problem in the parts read); or the whole read failing over a
 * problem in blocks the fast path rightly did not read (then the fast answer stands alone) —
 * never over a problem of the document as a whole (its size, its XML, text of the root's own,
 * the version), which the fast path must see too.
 */
function differs<T>(whole: Answer<T>, fast: Answer<T>, show: (value: T) => string): string | undefined {
  if ("value" in whole) {
    if (!("value" in fast)) return `the whole read answers, the fast path fails: ${fast.error}\n${fast.details.join("\n")}`;
    const [a, b] = [show(whole.value), show(fast.value)];
    return a === b ? undefined : `answers differ:\n--- whole\n${a}\n--- fast\n${b}`;
  }
  if ("value" in fast) {
    const documentLevel = whole.details.filter((detail) => !inBlock(detail.replace(/^d\.xml(?::\d+)?: /, "")));
    return documentLevel.length === 0 ? undefined : `the whole read fails over the document as a whole, the fast path answers:\n${documentLevel.join("\n")}`;
  }
  const known = new Set(whole.details);
  const extra = fast.details.filter((detail) => !known.has(detail));
  if (extra.length > 0 || (fast.details.length === 0 && fast.error !== whole.error)) {
    return `the fast path reports what the whole read does not:\n${extra.join("\n") || fast.error}\n--- whole read:\n${whole.error}\n${whole.details.join("\n")}`;
  }
  return undefined;
}

/** The whole read of the last document asked about (a document is compared for many hosts). */
let last: { document: string; options: string; result: ReturnType<typeof checkTopology> } | undefined;

function wholeRead(document: string, options: ParseOptions): Topology {
  const key = JSON.stringify(options);
  if (last?.document !== document || last.options !== key) last = { document, options: key, result: checkTopology(document, "d.xml", options) };
  const result = last.result;
  if (result.topology === undefined || result.errors.length > 0) {
    throw new BenitoError("reading the topology", "d.xml", `${result.errors.length} problem${result.errors.length === 1 ? "" : "s"} found`, 3, result.errors.map(formatProblem));
  }
  return result.topology;
}

/** One host's view by the fast path (hostViewFromDocument) and by the whole read (both with `options`: --strict, --max-bytes). */
export function compareHost(document: string, host: string, options: ParseOptions = {}): Compared {
  let partial = false;
  const fast = answer(() => {
    const result = hostViewFromDocument(document, "d.xml", host, options);
    partial = result.partial;
    return { view: result.view, topology: result.topology };
  });
  const whole = answer(() => {
    const topology = wholeRead(document, options);
    return { view: resolveHostView(topology, host), topology };
  });
  const difference = differs(whole, fast, viewJson);
  return difference === undefined ? { partial } : { difference, partial };
}

/** The nodes on some LANs (and their pnodes) and every substrate name, by the fast path (lanNodesFromDocument) and by the whole read. */
export function compareLans(document: string, lans: ReadonlySet<string>): Compared {
  const relevant = (nodes: readonly Node[]): string => {
    const members = nodes.filter((node) => node.interfaces.some((iface) => lans.has(iface.substrate)));
    const hosts = new Set(members.map((node) => node.host).filter((host) => host !== undefined));
    return JSON.stringify(nodes.filter((node) => members.includes(node) || hosts.has(node.name)).map(nodeJson), undefined, 1);
  };
  let partial = false;
  const fast = answer(() => {
    const result = lanNodesFromDocument(document, "d.xml", lans);
    partial = result.partial;
    return { nodes: relevant(result.nodes), substrateNames: result.substrateNames };
  });
  const whole = answer(() => {
    const topology = wholeRead(document, {});
    return { nodes: relevant(resolveNodes(topology)), substrateNames: topology.substrates.map((substrate) => substrate.name) };
  });
  const difference = differs(whole, fast, (value) => JSON.stringify(value, undefined, 1));
  return difference === undefined ? { partial } : { difference, partial };
}

/**
 * The XML parser's loops for plain markup (#plainScan in the check-only scan the fast paths choose
 * blocks from, #plainBuild in the tree-building parse the whole read uses) against its general
 * code alone (`general: true`): the same problems, the same trees (names, lines, attributes,
 * text), the root's child elements as the scan's blocks with the same names and lines, and a
 * block marked odd exactly when its text holds "&", "<!--", "<?" or "<![CDATA[". Undefined when equal.
 */
export function compareScan(document: string): string | undefined {
  const general = parseXml(document, { general: true });
  const built = parseXml(document);
  const scan = parseXml(document, { scanOnly: true });
  const problems = (result: XmlResult) => result.problems.map((problem) => `${problem.line}: ${problem.severity}: ${problem.message}`).join("\n");
  if (problems(built) !== problems(general)) return `parse problems differ:\n--- general code\n${problems(general)}\n--- plain loop\n${problems(built)}`;
  if (problems(scan) !== problems(general)) return `scan problems differ:\n--- general code\n${problems(general)}\n--- scan\n${problems(scan)}`;
  const tree = (node: XmlNode | undefined): string => JSON.stringify(node === undefined ? null : plainTree(node));
  if (tree(built.root) !== tree(general.root)) return `trees differ:\n--- general code\n${tree(general.root).slice(0, 3000)}\n--- plain loop\n${tree(built.root).slice(0, 3000)}`;
  if (general.root === undefined || scan.blocks === undefined) return undefined;
  const children = general.root.children.filter((child) => child.name !== "#text").map((child) => `${child.name}@${child.line}`);
  const blocks = scan.blocks.map((block) => `${block.name}@${block.line}`);
  if (children.join(" ") !== blocks.join(" ")) return `scan blocks differ:\n--- trees built\n${children.join(" ")}\n--- scan\n${blocks.join(" ")}`;
  for (const block of scan.blocks) {
    const raw = document.slice(block.start, block.end);
    const odd = ["&", "<!--", "<?", "<![CDATA["].some((needle) => raw.includes(needle));
    if (odd !== block.odd) return `block <${block.name}> on line ${block.line} is ${block.odd ? "" : "not "}marked odd:\n${raw}`;
  }
  return undefined;
}

/** A node as plain data (its accessors read), for comparing trees. */
function plainTree(node: XmlNode): unknown {
  return { name: node.name, line: node.line, attributes: { ...node.attributes }, text: node.text, children: node.children.map(plainTree) };
}

/** The substrate names a document's interfaces use (for LAN sets to ask about). */
export function lanNames(document: string): string[] {
  return [...new Set([...document.matchAll(/<substrate>\s*([\w.-]+)\s*<\/substrate>/g)].map((match) => match[1]!))];
}

/** FuzzReport interface: what a fuzzing run compared and the differences it found. */
export interface FuzzReport {
  documents: number;
  comparisons: number;
  partial: number;
  readonly differences: string[];
}

/**
 * Mutates the seed documents `count` times (seeded), and compares a few hosts and LAN sets of each
 * mutant; stops early when `deadline` (performance.now()) passes.
 */
export function fuzz(seeds: readonly string[], count: number, seed: number, deadline = Infinity): FuzzReport {
  const next = random(seed);
  const report: FuzzReport = { documents: 0, comparisons: 0, partial: 0, differences: [] };
  const namesOf = seeds.map(computerNames);
  for (let k = 0; k < count && performance.now() < deadline; k += 1) {
    const which = Math.floor(next() * seeds.length);
    const names = namesOf[which]!;
    const mutant = mutate(seeds[which]!, next, names);
    report.documents += 1;
    const scanned = compareScan(mutant);
    report.comparisons += 1;
    if (scanned !== undefined) report.differences.push(`seed ${seed}, mutant ${k}, scan: ${scanned}\n--- document:\n${mutant.slice(0, 4000)}`);
    const hosts = [pick(next, names.length > 0 ? names : ["a"]), pick(next, names.length > 0 ? names : ["a"]), "ghost"];
    // The first host also with --strict, and with a size limit between the text's UTF-16 length
    // and its UTF-8 size when they differ (the limit counts bytes).
    const variants: [string, ParseOptions][] = [...hosts.map((host): [string, ParseOptions] => [host, {}]), [hosts[0]!, { strict: true }]];
    const bytes = Buffer.byteLength(mutant);
    if (bytes > mutant.length) variants.push([hosts[0]!, { maxBytes: mutant.length + Math.floor(next() * (bytes - mutant.length)) }]);
    for (const [host, options] of variants) {
      const result = compareHost(mutant, host, options);
      report.comparisons += 1;
      if (result.partial) report.partial += 1;
      if (result.difference !== undefined) report.differences.push(`seed ${seed}, mutant ${k}, host ${host} ${JSON.stringify(options)}: ${result.difference}\n--- document:\n${mutant.slice(0, 4000)}`);
    }
    const lans = lanNames(mutant);
    if (lans.length > 0) {
      const chosen = new Set([pick(next, lans), pick(next, lans)]);
      const result = compareLans(mutant, chosen);
      report.comparisons += 1;
      if (result.partial) report.partial += 1;
      if (result.difference !== undefined) report.differences.push(`seed ${seed}, mutant ${k}, LANs ${[...chosen].join(",")}: ${result.difference}\n--- document:\n${mutant.slice(0, 4000)}`);
    }
  }
  return report;
}
