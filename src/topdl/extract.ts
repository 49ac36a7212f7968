// The boot-time fast path: reads only the top-level blocks of a large TopDL document that one host's view depends on.
import { decodeDocument } from "./decode";
import { hostKeys, partitionKeys } from "./keys";
import { checkBlocks, checkDecoded, checkTopology, defaultMaxBytes, inputBytes, type CheckResult, type ParseOptions } from "./parse";
import type { Topology } from "./types";
import { parseXml, type Block, type XmlNode } from "./xml";

/** ExtractResult interface: a partial topology (or problems), and whether the fast path was taken. */
export interface ExtractResult extends CheckResult {
  /** True when only the host's parts were read; false when the whole document was (the fallback). */
  readonly partial: boolean;
}

/**
 * Reads the parts of a document that host `hostName` needs, and answers exactly as reading the
 * whole document would (for the host; problems elsewhere in the file are left to `benito topdl
 * validate`).
 *
 * How it stays exact: the whole document is first checked by the XML parser itself (scanOnly:
 * every well-formedness rule, nothing built), which also gives the true top-level blocks, so no
 * text trick can fake or hide a block. Blocks are then chosen by a superset rule: every
 * `<elements>` block whose text contains the host's name (the host under any name or localname,
 * duplicates of it, the vnodes whose `benito:host` names it) or the partition values those
 * carry (Containers placement), every `<substrates>` block whose text contains a substrate name
 * those elements use, every other top-level block (version, attributes, fragments), and every
 * block holding anything that could spell a name in another way (a reference, comment, CDATA
 * section or processing instruction). The chosen blocks, each parsed once at its line in the
 * document, are read by the same reader as a whole document, with their original indexes. A
 * superset never changes the answer, only the time. When the host is not found that way, or the document is not a plain
 * `<experiment>` (--top, an envelope), the whole document is read instead.
 */
export function extractHostTopology(input: Uint8Array | string | TopdlDocument, file: string, hostName: string, options: ParseOptions = {}): ExtractResult {
  const document = input instanceof TopdlDocument ? input : new TopdlDocument(input, file, options);
  const whole = (): ExtractResult => ({ ...document.whole(), partial: false });
  if (!plainName.test(hostName)) return whole();
  const scanned = document.scanned();
  if (scanned === undefined) return whole();
  const named = scanned.elementsContaining([hostName]);
  if (named.size === 0) return whole();
  const chosen = new Set([...named, ...scanned.oddBlocks("elements")]);
  // Found by a localname, the host is named otherwise: its vnodes name it so in benito:host.
  const names = new Set<string>();
  for (const index of chosen) for (const name of scanned.namesOf(index, hostName)) if (name !== hostName) names.add(name);
  if ([...names].some((name) => !plainNeedle(name))) return whole();
  for (const index of scanned.elementsContaining([...names])) chosen.add(index);
  if (!addPlacement(scanned, chosen, [hostName, ...names])) return whole();
  // What the one validator (src/model/validate.ts) asks about this host: every member of its and
  // its vnodes' LANs (a MAC taken twice, a vnode placed on a missing pnode, on a LAN it serves
  // breaks that LAN), every element using one of their switch folders (a port taken twice), and
  // every element holding one of their addresses or their members' (an address taken twice);
  // then where each of those is placed.
  const related = new Set<string>();
  for (const index of chosen) {
    for (const lan of scanned.substrateNames(index)) if (lan !== controlSubstrate) related.add(lan);
    for (const value of scanned.attributeValues(index, ["ip4_address", "benito:vde_switch"])) related.add(value);
  }
  if ([...related].some((value) => !plainNeedle(value))) return whole();
  for (const index of scanned.elementsContaining([...related])) chosen.add(index);
  const addresses = new Set<string>();
  for (const index of chosen) for (const value of scanned.attributeValues(index, ["ip4_address"])) if (!related.has(value)) addresses.add(value);
  if ([...addresses].some((value) => !plainNeedle(value))) return whole();
  for (const index of scanned.elementsContaining([...addresses])) chosen.add(index);
  if (!addPlacement(scanned, chosen, [])) return whole();
  const result = scanned.check(chosen, file, options);
  if (result === undefined || (result.topology !== undefined && !hasHost(result.topology, hostName))) return whole();
  return { ...result, partial: true };
}

/**
 * TopdlDocument class: one document asked several questions (a host, then its `node` part), and
 * the fast path's fallback: decoded at most once, scanned at most once, read whole at most once.
 */
export class TopdlDocument {
  readonly #input: Uint8Array | string;
  readonly #file: string;
  readonly #options: ParseOptions;
  /** The text within the size limit, decoded; null when it is over the limit or cannot be decoded. */
  #text: string | null | undefined;
  #scanned: Scanned | null | undefined;
  #whole: CheckResult | undefined;

  constructor(input: Uint8Array | string, file: string, options: ParseOptions = {}) {
    this.#input = input;
    this.#file = file;
    this.#options = options;
  }

  /** The document scanned for the fast paths (see Scanned.of); undefined when they cannot read it. */
  scanned(): Scanned | undefined {
    if (this.#scanned === undefined) {
      const text = this.#decoded();
      this.#scanned = text === undefined ? null : (Scanned.of(text, this.#options) ?? null);
    }
    return this.#scanned ?? undefined;
  }

  /** The whole read (checkTopology's answer), from the decoded text when there is one. */
  whole(): CheckResult {
    const text = this.#decoded();
    this.#whole ??= text !== undefined ? checkDecoded(text, this.#file, this.#options) : checkTopology(this.#input, this.#file, this.#options);
    return this.#whole;
  }

  /** The text, when within the size limit (as the whole read counts it) and decodable. */
  #decoded(): string | undefined {
    if (this.#text === undefined) {
      const input = this.#input;
      if (inputBytes(input) > (this.#options.maxBytes ?? defaultMaxBytes)) this.#text = null;
      else if (typeof input === "string") this.#text = input;
      else {
        const decoded = decodeDocument(input);
        this.#text = "text" in decoded ? decoded.text : null;
      }
    }
    return this.#text ?? undefined;
  }
}

/**
 * What to look for to find the blocks of the partitions' members and pnodes: each value, and the
 * pnode-NNNN name a numeric one maps to. Undefined when a value cannot be searched for.
 */
function partitionNeedles(partitions: ReadonlySet<string>): string[] | undefined {
  const needles: string[] = [];
  for (const value of partitions) {
    if (!plainNeedle(value)) return undefined;
    needles.push(value);
    if (/^\d+$/.test(value)) needles.push(`pnode-${value.padStart(4, "0")}`);
  }
  return needles;
}

/**
 * Adds the blocks that say where the chosen elements are placed: the pnode each names in
 * `benito:host`, and the members and pnodes of their Containers partitions (also of the
 * partitions a `pnode-NNNN` among `names` hosts). False when a value cannot be searched for.
 */
export function addPlacement(scanned: Scanned, chosen: Set<number>, names: readonly string[]): boolean {
  const pnodes = new Set<string>();
  const partitions = new Set<string>();
  for (const index of chosen) {
    for (const value of scanned.attributeValues(index, hostKeys)) pnodes.add(value);
    for (const value of scanned.attributeValues(index, partitionKeys)) partitions.add(value);
  }
  // A host named pnode-NNNN hosts the partitions whose number, padded to four digits, is NNNN.
  for (const name of names) {
    const numbered = /^pnode-(\d+)$/.exec(name)?.[1];
    if (numbered !== undefined) for (let k = 0; k < numbered.length; k += 1) if (k === 0 || numbered[k - 1] === "0") partitions.add(numbered.slice(k));
  }
  const needles = partitionNeedles(partitions);
  if (needles === undefined || [...pnodes].some((value) => !plainNeedle(value))) return false;
  for (const index of scanned.elementsContaining(needles)) chosen.add(index);
  // One pass for every pnode (a pass over the whole text each cost 3–5 ms): the blocks naming one of them.
  const named = [...pnodes];
  if (named.length > 0) for (const index of scanned.elementsContaining(named)) if (named.some((pnode) => scanned.namesOf(index, pnode).length > 0)) chosen.add(index);
  return true;
}

/** A host or LAN name the text scan can look for as is. */
export const plainName = /^[\w.-]+$/;

/** A value that can be searched for in the raw text (non-empty, no markup or reference characters). */
function plainNeedle(value: string): boolean {
  return value !== "" && !/[<>&"'\s]/.test(value);
}

/** The control network's substrate (src/model/resolve.ts): every node is on it, so it selects nothing. */
const controlSubstrate = "control_net";

/** Whether the topology has a computer named `name` (by name or localname): then the partial read found the host. */
function hasHost(topology: Topology, name: string): boolean {
  return topology.elements.some((element) => element.kind === "computer" && (element.name === name || element.localnames.includes(name)));
}

/**
 * Scanned class: a document checked by the XML parser, with its top-level blocks, from which
 * the fast paths choose what to read.
 */
export class Scanned {
  readonly #text: string;
  readonly #blocks: readonly Block[];
  readonly #rootLine: number;
  readonly #starts: Int32Array;
  /** Each block's index among the blocks of its name (its path index: substrates[i], elements[i]). */
  readonly #ordinals: Int32Array;
  readonly #odd = new Set<number>();
  /** Blocks parsed so far (each is asked about several times). */
  readonly #parsed = new Map<number, XmlNode>();
  /** What the choosing found in each block walked so far. */
  readonly #known = new Map<number, BlockFacts>();

  private constructor(text: string, blocks: readonly Block[], rootLine: number) {
    this.#text = text;
    this.#blocks = blocks;
    this.#rootLine = rootLine;
    // Plain loops: Int32Array.from with a mapping function takes the generic iterator path, 20 ms+ here.
    this.#starts = new Int32Array(blocks.length);
    this.#ordinals = new Int32Array(blocks.length);
    const counts = new Map<string, number>();
    for (let index = 0; index < blocks.length; index += 1) {
      const block = blocks[index]!;
      this.#starts[index] = block.start;
      const count = counts.get(block.name) ?? 0;
      counts.set(block.name, count + 1);
      this.#ordinals[index] = count;
      // Blocks holding anything that could write a name in another way than plain text (the scan marks them).
      if (block.odd) this.#odd.add(index);
    }
  }

  /**
   * The document (within the size limit and decoded: TopdlDocument) scanned, when the fast paths
   * can read it: well-formed, with an `<experiment>` root, no --top and no text of the root's own.
   * Undefined otherwise (the caller reads the whole document, which reports any problem exactly as
   * it would anyway).
   */
  static of(text: string, options: ParseOptions): Scanned | undefined {
    if ((options.top ?? "experiment") !== "experiment") return undefined;
    const scan = parseXml(text, { scanOnly: true });
    if (scan.blocks === undefined || scan.rootName !== "experiment" || scan.problems.length > 0) return undefined;
    // Text of the root's own is a warning of the whole read that no block carries (an error with --strict).
    if (scan.textInRoot === true) return undefined;
    return new Scanned(text, scan.blocks, scan.rootLine);
  }


  /** The `<elements>` blocks whose text contains one of the needles. */
  elementsContaining(needles: readonly string[]): Set<number> {
    const found = new Set<number>();
    for (const index of this.#holding(needles)) if (this.#blocks[index]!.name === "elements") found.add(index);
    return found;
  }

  /** The blocks of one name that hold a reference, comment, CDATA section or processing instruction. */
  oddBlocks(name: string): number[] {
    return [...this.#odd].filter((index) => this.#blocks[index]!.name === name);
  }

  /** The `<name>` of every element in the block that has `localname` as its name or one of its localnames. */
  namesOf(index: number, localname: string): string[] {
    const names: string[] = [];
    for (const named of this.#facts(index).named) if (named.known.includes(localname)) names.push(named.name);
    return names;
  }

  /** The text of every `<substrate>` in the block (the substrates its interfaces use). */
  substrateNames(index: number): string[] {
    return this.#facts(index).substrates;
  }

  /** Every value of an `<attribute>` with one of `keys`, anywhere in the block (a superset of what the checker reads). */
  attributeValues(index: number, keys: readonly string[]): string[] {
    const values: string[] = [];
    for (const [key, value] of this.#facts(index).attributes) if (keys.includes(key)) values.push(value);
    return values;
  }

  /** What the choosing asks of a block, found in one walk of it (it is asked many times). */
  #facts(index: number): BlockFacts {
    let facts = this.#known.get(index);
    if (facts === undefined) {
      facts = { named: [], substrates: [], attributes: [] };
      collectFacts(this.#parse(index), facts);
      this.#known.set(index, facts);
    }
    return facts;
  }

  /**
   * Reads the chosen `<elements>` blocks with the `<substrates>` blocks they use (or every
   * `<substrates>` block) and every other top-level block, as the children of one `<experiment>`:
   * each block parsed once at its line (the trees the choosing parsed are used as they are), with
   * its original index. Undefined when a substrate name cannot be searched for.
   */
  check(elements: ReadonlySet<number>, file: string, options: ParseOptions, allSubstrates = false): CheckResult | undefined {
    const chosen = new Set(elements);
    this.#blocks.forEach((block, index) => {
      if (block.name !== "elements" && block.name !== "substrates") chosen.add(index);
    });
    // The substrates the chosen elements use, and those fragments use from the top level.
    const wanted = new Set<string>();
    for (const index of chosen) for (const name of this.substrateNames(index)) wanted.add(name);
    if ([...wanted].some((name) => !plainNeedle(name))) return undefined;
    this.#blocks.forEach((block, index) => {
      if (block.name === "substrates" && (allSubstrates || this.#odd.has(index))) chosen.add(index);
    });
    if (!allSubstrates) for (const index of this.#holding([...wanted])) if (this.#blocks[index]!.name === "substrates") chosen.add(index);
    // The blocks parsed while choosing are read as they are, each parsed once (the rest now).
    const order = [...chosen].sort((a, b) => a - b);
    const indexes = { substrates: [] as number[], elements: [] as number[] };
    for (const index of order) {
      const name = this.#blocks[index]!.name;
      if (name === "substrates" || name === "elements") indexes[name].push(this.#ordinals[index]!);
    }
    return checkBlocks(order.map((index) => this.#parse(index)), this.#rootLine, file, { ...options, indexes });
  }

  /**
   * Indexes of the blocks holding one of `values` as a whole text value: between ">" or
   * whitespace and "<" or whitespace (in a block without references, comments, CDATA or
   * processing instructions, a text value that equals a value once trimmed can only be written
   * so; the other blocks are always read). One pass over the text for all values.
   */
  #holding(values: readonly string[]): Set<number> {
    const found = new Set<number>();
    if (values.length === 0) return found;
    const alternatives = values.map((value) => value.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")).join("|");
    const pattern = new RegExp(`(?<=[>\\s])(?:${alternatives})(?=[<\\s])`, "g");
    const text = this.#text;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const index = this.#blockAt(match.index);
      if (index < 0) continue;
      found.add(index);
      // The rest of this block cannot add anything: go on after it.
      pattern.lastIndex = Math.max(pattern.lastIndex, this.#blocks[index]!.end);
    }
    return found;
  }

  /** The block whose range holds `offset` (-1: between blocks). */
  #blockAt(offset: number): number {
    let low = 0;
    let high = this.#starts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#starts[middle]! <= offset) low = middle + 1;
      else high = middle;
    }
    const index = low - 1;
    return index >= 0 && offset < this.#blocks[index]!.end ? index : -1;
  }

  #parse(index: number): XmlNode {
    let node = this.#parsed.get(index);
    if (node === undefined) {
      const block = this.#blocks[index]!;
      // A block of a well-formed document is a well-formed document by itself; parsed at its line,
      // it is the node the whole read hands its reader.
      node = parseXml(this.#text.slice(block.start, block.end), { firstLine: block.line }).root!;
      this.#parsed.set(index, node);
    }
    return node;
  }
}

/** BlockFacts interface: what the fast paths choose by, of one block, in document order. */
interface BlockFacts {
  /** Each element with a `<name>`: that name (its first), and the texts of its `<name>` and `<localname>` children. */
  readonly named: { readonly name: string; readonly known: readonly string[] }[];
  /** The text of every `<substrate>`. */
  readonly substrates: string[];
  /** Every `<attribute>` holding an `<attribute>` (its key) and a `<value>`: the first of each. */
  readonly attributes: (readonly [key: string, value: string])[];
}

/** Adds what a node and every element under it hold to `facts`. */
function collectFacts(node: XmlNode, facts: BlockFacts): void {
  let name: XmlNode | undefined;
  let key: XmlNode | undefined;
  let value: XmlNode | undefined;
  const known: string[] = [];
  for (const child of node.children) {
    if (child.name === "name" || child.name === "localname") known.push(textOf(child));
    if (child.name === "name") name ??= child;
    else if (child.name === "attribute") key ??= child;
    else if (child.name === "value") value ??= child;
  }
  if (name !== undefined) facts.named.push({ name: textOf(name), known });
  if (node.name === "substrate") facts.substrates.push(textOf(node));
  if (node.name === "attribute" && key !== undefined && value !== undefined) facts.attributes.push([textOf(key), textOf(value)]);
  for (const child of node.children) if (child.name !== "#text") collectFacts(child, facts);
}

/** A leaf's text as the checker reads it (the text runs of an element with children, joined and trimmed). */
function textOf(node: XmlNode): string {
  if (node.children.length === 0) return node.text;
  let text = "";
  for (const child of node.children) if (child.name === "#text") text += child.text;
  return text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
}
