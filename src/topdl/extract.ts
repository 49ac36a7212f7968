// The boot-time fast path: reads only the parts of a large TopDL document that one host's view depends on.
import { checkTopology, defaultMaxBytes, type CheckResult, type ParseOptions } from "./parse";
import { decodeUtf8 } from "./xml";

/** ExtractResult interface: a partial topology (or problems), and whether the fast path was taken. */
export interface ExtractResult extends CheckResult {
  /** True when only the host's parts were read; false when the whole document was (the fallback). */
  readonly partial: boolean;
}

/**
 * The document as text when the block scan can read it soundly: a plain `<experiment>` root
 * within the size limit, valid UTF-8, and no comments, CDATA, DOCTYPE, fragments or namespace
 * prefixes. Otherwise undefined, and the caller reads the whole document instead.
 */
export function scannableText(input: Uint8Array | string, options: ParseOptions): string | undefined {
  if ((options.top ?? "experiment") !== "experiment" || input.length > (options.maxBytes ?? defaultMaxBytes)) return undefined;
  let text: string;
  if (typeof input === "string") text = input;
  else {
    const decoded = decodeUtf8(input);
    if (!("text" in decoded)) return undefined;
    text = decoded.text;
  }
  if (!/^\s*(<\?xml[^>]*\?>\s*)?<experiment>/.test(text.slice(0, 512)) || /<!--|<!\[CDATA\[|<!DOCTYPE|<fragments|<\/?[A-Za-z_][\w.-]*:/.test(text)) return undefined;
  return text;
}

/**
 * Reads the parts of a document that host `hostName` needs: every `<elements>` block that
 * mentions the name as text (the host itself under any name or localname, duplicates of it, and
 * the vnodes whose `benito:host` names it), the blocks of its Containers partition when it is a
 * pnode, and the `<substrates>` blocks those elements attach to (duplicates included). The
 * selected blocks are read by the same checker as a whole document, at their original lines and
 * indexes, so every rule that concerns this host still applies; problems elsewhere in the file
 * are left to `benito topdl validate`.
 *
 * Anything the text scan cannot read soundly (comments, CDATA, a DOCTYPE, fragments, namespace
 * prefixes, entity references in names, `--top`, or no mention of the host at all) falls back to
 * reading the whole document, so the answer is never different, only slower.
 */
export function extractHostTopology(input: Uint8Array | string, file: string, hostName: string, options: ParseOptions = {}): ExtractResult {
  const whole = (): ExtractResult => ({ ...checkTopology(input, file, options), partial: false });
  const text = scannableText(input, options);
  if (text === undefined || !/^[\w.-]+$/.test(hostName)) return whole();

  const blocks = new Blocks(text);
  const elements = new Set<number>();
  for (const start of blocks.mentioning("elements", hostName)) elements.add(start);
  if (elements.size === 0) return whole();
  // A Containers pnode also hosts the vnodes of its partition.
  for (const start of [...elements]) {
    const partition = /<attribute>\s*(?:benito|containers):partition\s*<\/attribute>\s*<value>\s*(\d+)\s*<\/value>/.exec(blocks.text(start))?.[1];
    const numbered = /^pnode-(\d+)$/.exec(hostName)?.[1];
    for (const value of [partition, numbered]) {
      if (value === undefined) continue;
      for (const other of blocks.mentioning("elements", String(Number(value)))) elements.add(other);
    }
  }
  const result = checkSelected(blocks, elements, file, options);
  return result === undefined ? whole() : { ...result, partial: true };
}

/**
 * Checks the selected `<elements>` blocks together with the `<substrates>` blocks they attach to,
 * as one small document at the blocks' original lines and indexes. Undefined when that cannot be
 * done soundly (a substrate name written with references, or not found): read the whole document.
 */
export function checkSelected(blocks: Blocks, elements: ReadonlySet<number>, file: string, options: ParseOptions): CheckResult | undefined {
  const wanted = new Set<string>();
  for (const start of elements) {
    for (const match of blocks.text(start).matchAll(/<substrate>\s*([^<]*?)\s*<\/substrate>/g)) {
      // A name written with references would need decoding to compare: let the whole read handle it.
      if (match[1]!.includes("&")) return undefined;
      wanted.add(match[1]!);
    }
  }
  const substrates = blocks.substratesNamed(wanted);
  if (substrates === undefined) return undefined;
  const mini = blocks.document([...substrates, ...elements].sort((a, b) => a - b));
  return checkTopology(mini.text, file, { ...options, indexes: mini.indexes });
}

/** The top-level blocks of a document whose root is `<experiment>`, found by text scanning (extract-lans.ts reads them too). */
export class Blocks {
  readonly #text: string;
  #lineStarts: Int32Array | undefined;
  readonly #starts = new Map<string, Int32Array>();

  constructor(text: string) {
    this.#text = text;
  }

  /** Start offsets of the `<tag>` blocks that contain `>NAME<` (whitespace allowed) as text. */
  mentioning(tag: string, name: string): number[] {
    const starts: number[] = [];
    const pattern = new RegExp(`>\\s*${name.replace(/[.]/g, "\\.")}\\s*<`, "g");
    for (const match of this.#text.matchAll(pattern)) {
      const start = this.#text.lastIndexOf(`<${tag}>`, match.index);
      if (start < 0) continue;
      const end = this.#text.indexOf(`</${tag}>`, start);
      if (end < match.index) continue;
      if (!starts.includes(start)) starts.push(start);
    }
    return starts;
  }

  /** The text of the block starting at `start`, through its closing tag. */
  text(start: number): string {
    const tag = /^<(\w+)>/.exec(this.#text.slice(start, start + 40))![1]!;
    const end = this.#text.indexOf(`</${tag}>`, start);
    return this.#text.slice(start, end < 0 ? this.#text.length : end + tag.length + 3);
  }

  /** Start offsets of the `<substrates>` blocks named in `names`; undefined when a block is not plain enough to tell. */
  substratesNamed(names: ReadonlySet<string>): number[] | undefined {
    const found: number[] = [];
    for (let start = this.#text.indexOf("<substrates>"); start >= 0; start = this.#text.indexOf("<substrates>", start + 12)) {
      const end = this.#text.indexOf("</substrates>", start);
      const nameAt = this.#text.indexOf("<name>", start);
      if (end < 0 || nameAt < 0 || nameAt > end) return undefined;
      const block = this.#text.slice(start, end);
      if (block.includes("<service")) return undefined;
      const name = /^<name>\s*([^<]*?)\s*<\/name>/.exec(this.#text.slice(nameAt, end))?.[1];
      if (name === undefined || name.includes("&")) return undefined;
      if (names.has(name)) found.push(start);
    }
    return found;
  }

  /**
   * A document of the selected blocks, each at its original line (blank lines pad the gaps), and
   * the original index of each block among its kind, so problems read as in the whole document.
   */
  document(starts: readonly number[]): { text: string; indexes: { substrates: number[]; elements: number[] } } {
    const lineStarts = (this.#lineStarts ??= newlineOffsets(this.#text));
    const head = /<version>[^<]*<\/version>/.exec(this.#text.slice(0, 4096));
    const parts: string[] = ["<experiment>"];
    let line = 1;
    const pad = (offset: number) => {
      const target = lineAt(lineStarts, offset);
      if (target > line) parts.push("\n".repeat(target - line));
      line = Math.max(line, target);
    };
    if (head !== null) {
      pad(head.index);
      parts.push(head[0]);
    }
    const indexes = { substrates: [] as number[], elements: [] as number[] };
    for (const start of starts) {
      const block = this.text(start);
      const kind = block.startsWith("<substrates>") ? "substrates" : "elements";
      indexes[kind].push(this.#countBefore(`<${kind}>`, start));
      pad(start);
      parts.push(block);
      for (let k = block.indexOf("\n"); k >= 0; k = block.indexOf("\n", k + 1)) line += 1;
    }
    parts.push("</experiment>");
    return { text: parts.join(""), indexes };
  }

  /** How many `needle`s start before `offset` (their offsets are found once per needle, then binary-searched). */
  #countBefore(needle: string, offset: number): number {
    let starts = this.#starts.get(needle);
    if (starts === undefined) {
      const found: number[] = [];
      for (let k = this.#text.indexOf(needle); k >= 0; k = this.#text.indexOf(needle, k + needle.length)) found.push(k);
      this.#starts.set(needle, (starts = Int32Array.from(found)));
    }
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (starts[middle]! < offset) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

function newlineOffsets(text: string): Int32Array {
  const offsets: number[] = [];
  for (let k = text.indexOf("\n"); k >= 0; k = text.indexOf("\n", k + 1)) offsets.push(k);
  return Int32Array.from(offsets);
}

function lineAt(newlines: Int32Array, offset: number): number {
  let low = 0;
  let high = newlines.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (newlines[middle]! < offset) low = middle + 1;
    else high = middle;
  }
  return low + 1;
}
