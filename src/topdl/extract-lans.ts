// The tunnel plan's fast path: reads only the elements on given LANs, the pnodes hosting them, and every substrate's name.
import { Blocks, checkSelected, scannableText } from "./extract";
import { checkTopology, type CheckResult, type ParseOptions } from "./parse";

/** LanExtractResult interface: a partial topology (or problems), every substrate name, and whether the fast path was taken. */
export interface LanExtractResult extends CheckResult {
  /** True when only the LANs' parts were read; false when the whole document was (the fallback). */
  readonly partial: boolean;
  /** The name of every substrate of the whole document, in document order (VNIs are numbered over them). */
  readonly substrateNames: readonly string[];
}

/** A name the text scan can look for as is (the host fast path's rule). */
const plainName = /^[\w.-]+$/;

/**
 * Reads the parts of a document that the tunnels of LANs `lans` depend on: every `<elements>`
 * block mentioning one of the LAN names as text (so every member of those LANs, wherever it is
 * hosted), the block of each pnode those elements name in `benito:host`, and the `<substrates>`
 * blocks they attach to; plus the names of all substrates. The selected blocks are read by the
 * same checker as a whole document, at their original lines and indexes.
 *
 * Anything the text scan cannot read soundly (comments, CDATA, a DOCTYPE, fragments, namespace
 * prefixes, references in names, Containers partitions, `--top`) falls back to reading the whole
 * document, so the answer for those LANs is never different, only slower.
 */
export function extractLanTopology(input: Uint8Array | string, file: string, lans: ReadonlySet<string>, options: ParseOptions = {}): LanExtractResult {
  const whole = (): LanExtractResult => {
    const result = checkTopology(input, file, options);
    return { ...result, partial: false, substrateNames: result.topology?.substrates.map((substrate) => substrate.name) ?? [] };
  };
  const text = scannableText(input, options);
  if (text === undefined) return whole();
  // Partition placement needs every pnode's partition: the whole read resolves it.
  if (/(?:benito|containers):partition/.test(text)) return whole();
  if ([...lans].some((name) => !plainName.test(name))) return whole();
  const substrateNames = allSubstrateNames(text);
  if (substrateNames === undefined) return whole();

  const blocks = new Blocks(text);
  const elements = new Set<number>(elementsMentioning(text, [...lans]));
  const hosts = new Set<string>();
  for (const start of elements) {
    for (const match of blocks.text(start).matchAll(/<attribute>\s*(?:benito|containers):host\s*<\/attribute>\s*<value>\s*([^<]*?)\s*<\/value>/g)) {
      if (!plainName.test(match[1]!)) return whole();
      hosts.add(match[1]!);
    }
  }
  // A pnode's own block names it in <name>; its vnodes only mention it as a value.
  const own = new RegExp(`<name>\\s*(?:${[...hosts].map(escaped).join("|")})\\s*</name>`);
  for (const start of elementsMentioning(text, [...hosts])) if (own.test(blocks.text(start))) elements.add(start);
  const result = checkSelected(blocks, elements, file, options);
  return result === undefined ? whole() : { ...result, partial: true, substrateNames };
}

/** A plain name as a regular expression (plain names hold no other special character than "."). */
function escaped(name: string): string {
  return name.replace(/[.]/g, "\\.");
}

/**
 * Start offsets of the `<elements>` blocks that contain one of `names` as text (`>NAME<`,
 * whitespace allowed): one pass over the document for all names, not one per name.
 */
function elementsMentioning(text: string, names: readonly string[]): number[] {
  if (names.length === 0) return [];
  const starts = new Set<number>();
  const pattern = new RegExp(`>\\s*(?:${names.map(escaped).join("|")})\\s*<`, "g");
  for (const match of text.matchAll(pattern)) {
    const start = text.lastIndexOf("<elements>", match.index);
    if (start < 0 || starts.has(start)) continue;
    const end = text.indexOf("</elements>", start);
    if (end > match.index) starts.add(start);
  }
  return [...starts];
}

/** The name of every `<substrates>` block, or undefined when one is not plain enough to read by scanning. */
function allSubstrateNames(text: string): string[] | undefined {
  const names: string[] = [];
  for (let start = text.indexOf("<substrates>"); start >= 0; start = text.indexOf("<substrates>", start + 12)) {
    const end = text.indexOf("</substrates>", start);
    const nameAt = text.indexOf("<name>", start);
    if (end < 0 || nameAt < 0 || nameAt > end || text.slice(start, end).includes("<service")) return undefined;
    const name = /^<name>\s*([^<]*?)\s*<\/name>/.exec(text.slice(nameAt, end))?.[1];
    if (name === undefined || name.includes("&")) return undefined;
    names.push(name);
  }
  return names;
}
