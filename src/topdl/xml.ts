// The one place that configures fast-xml-parser, plus the pre-scan that makes its input safe and maps offsets to lines.
import type { XMLParser } from "fast-xml-parser";

/** XmlProblem interface: a problem found in the XML layer (before TopDL meaning). */
export interface XmlProblem {
  readonly line: number;
  readonly message: string;
  readonly severity: "error" | "warning";
}

/** Prepared interface: the text fast-xml-parser reads, and how to get back to lines of the original file. */
export interface Prepared {
  /** The document with whitespace-only text between tags and any DOCTYPE removed. */
  readonly xml: string;
  /** Line (1-based) of an offset into `xml`. */
  lineOf(offset: number): number;
  /** Well-formedness errors and warnings (a DOCTYPE that was ignored). */
  readonly problems: readonly XmlProblem[];
  /** The root element's local name (namespace prefix removed). */
  readonly root: string;
  /**
   * The root's child elements as [start, end) offsets into `xml`, so they can be parsed one at a
   * time; undefined when the root holds anything else (text, CDATA) that would be lost that way.
   */
  readonly rootChildren?: readonly (readonly [number, number])[];
}

/**
 * One node of fast-xml-parser's `preserveOrder` output: `{ tag: children, ":@": attributes }`
 * for an element, `{ "#text": value }` for text.
 */
export type OrderedNode = Record<string, unknown>;

/**
 * Parser options, in one place. preserveOrder keeps children in document order (paths carry
 * indexes, any order is accepted); no value parsing (a name "007" stays "007"); no entity
 * processing at all (the pre-scan refuses entity declarations, and TopDL text decodes only the
 * five predefined entities and character references, in decodeText); captureMetaData gives each
 * element its start offset, which lineOf turns into a line; jPath off avoids building a path
 * string per node (a large share of the default cost).
 */
const parserOptions = {
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  trimValues: true,
  removeNSPrefix: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  captureMetaData: true,
  jPath: false,
  maxNestedTags: 64,
} as const;

let parser: XMLParser | undefined;
let metaSymbol: symbol | undefined;

/**
 * fast-xml-parser, loaded on first use: evaluating it (and its entity tables) costs tens of
 * milliseconds, which every benito start would pay otherwise, TopDL or not.
 */
function library(): typeof import("fast-xml-parser") {
  return require("fast-xml-parser") as typeof import("fast-xml-parser");
}

/** Parses prepared text into fast-xml-parser's ordered tree (throws its own Error on malformed input). */
export function parseOrdered(xml: string): OrderedNode[] {
  parser ??= new (library().XMLParser)(parserOptions);
  return parser.parse(xml) as OrderedNode[];
}

/** The tag name of an element node ("#text" for text). */
export function tagOf(node: OrderedNode): string {
  for (const key in node) if (key !== ":@") return key;
  return "";
}

/** The start offset (into the prepared text) of an element node. */
export function offsetOf(node: OrderedNode): number {
  metaSymbol ??= library().XMLParser.getMetaDataSymbol() as symbol;
  const meta = (node as Record<symbol, { startIndex?: number } | undefined>)[metaSymbol];
  return meta?.startIndex ?? 0;
}

/** The children of an element node. */
export function childrenOf(node: OrderedNode, tag: string): OrderedNode[] {
  return node[tag] as OrderedNode[];
}

/** The XML attributes of an element node (names without namespace prefix). */
export function attributesOf(node: OrderedNode): Readonly<Record<string, string>> {
  return (node[":@"] as Record<string, string> | undefined) ?? {};
}

/** The concatenated, trimmed text content of an element node (text children only). */
export function rawTextOf(node: OrderedNode, tag: string): string {
  const children = node[tag] as OrderedNode[];
  if (children.length === 1) {
    const only = children[0]!["#text"];
    if (typeof only === "string") return only;
  }
  let text = "";
  for (const child of children) {
    const value = child["#text"];
    if (typeof value === "string") text += value;
  }
  return text;
}

const predefined: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/**
 * Decodes XML references in text: the five predefined entities and character references.
 * Any other `&name;` is an undefined entity (there is no DTD to define one): returned as an error string.
 */
export function decodeText(raw: string): { text: string; error?: string } {
  if (!raw.includes("&")) return { text: raw };
  let error: string | undefined;
  const text = raw.replace(/&([^;&\s]*);?/g, (whole, name: string) => {
    if (!whole.endsWith(";")) {
      error ??= `a bare "&" must be written &amp;`;
      return whole;
    }
    const known = predefined[name];
    if (known !== undefined) return known;
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(name);
    if (numeric) {
      const code = numeric[1] !== undefined ? parseInt(numeric[1], 16) : Number(numeric[2]);
      if (code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) return String.fromCodePoint(code);
      error ??= `character reference &${name}; is not a valid character`;
      return whole;
    }
    error ??= `undefined entity &${name}; (only &amp; &lt; &gt; &quot; &apos; and character references are read)`;
    return whole;
  });
  return error === undefined ? { text } : { text, error };
}

/**
 * Decodes UTF-8 strictly. Returns the text, or the byte offset of the first invalid sequence.
 * A leading byte-order mark is dropped.
 */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { badOffset: number } {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    return { badOffset: firstInvalidUtf8(bytes) };
  }
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need = 0;
    let min = 0;
    if (b < 0x80) {
      i += 1;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= bytes.length) return i;
    let code = b & (0xff >> (need + 2));
    for (let k = 1; k <= need; k += 1) {
      const c = bytes[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += need + 1;
  }
  return bytes.length;
}

/**
 * Pre-scans the document in one pass: checks that tags nest and close (fast-xml-parser does
 * not), refuses DTD internal subsets (entity declarations, hence entity bombs, never reach a
 * parser), drops a plain DOCTYPE (its DTD is never fetched) with a warning, drops
 * whitespace-only text between tags (about a third of fast-xml-parser's time on indented
 * documents), and records where each newline lands so offsets map back to original lines.
 */
export function prepare(text: string): Prepared {
  const problems: XmlProblem[] = [];
  // The dropped runs, as [from, to) pairs of original offsets, in order.
  const drops: number[] = [];
  // Whether every dropped run lies between ">" and "<" (or at either end): then one native
  // regular-expression replace can build the prepared text (see stripBlanks).
  let betweenTags = true;
  // newlines[k] = offset in the prepared text at which original line k+2 starts.
  const newlines: number[] = [];
  let removed = 0; // characters dropped so far
  // The open elements: where each name starts in the text, its length, and where its tag starts
  // (offsets rather than names: no string is made for each of hundreds of thousands of tags).
  const openStart: number[] = [];
  const openLength: number[] = [];
  const openAt: number[] = [];
  const openName = (depth: number): string => text.slice(openStart[depth]!, openStart[depth]! + openLength[depth]!);
  let rootSeen = false;
  let root = "";
  const rootChildren: [number, number][] = [];
  let childStart = -1;
  let splittable = true;
  const length = text.length;

  // Only errors and warnings need the line of an original offset: count newlines then.
  const lineAtOriginal = (offset: number): number => {
    let line = 1;
    for (let next = text.indexOf("\n"); next >= 0 && next < offset; next = text.indexOf("\n", next + 1)) line += 1;
    return line;
  };
  const keep = (from: number, to: number): void => {
    for (let k = text.indexOf("\n", from); k >= 0 && k < to; k = text.indexOf("\n", k + 1)) newlines.push(k - removed + 1);
  };
  const drop = (from: number, to: number, lines: number): void => {
    drops.push(from, to);
    // Newlines inside a dropped run land at the point where the run was.
    for (let n = 0; n < lines; n += 1) newlines.push(from - removed);
    removed += to - from;
  };
  const fail = (offset: number, message: string): void => {
    problems.push({ line: lineAtOriginal(offset), message, severity: "error" });
  };

  let i = 0;
  // A byte-order mark is not content.
  if (text.charCodeAt(0) === 0xfeff) {
    drop(0, 1, 0);
    betweenTags = false;
    i = 1;
  }
  scan: while (i < length) {
    // Text up to the next "<": dropped when it is only whitespace (the usual indentation).
    let lt = i;
    let lines = 0;
    let blank = true;
    for (; lt < length; lt += 1) {
      const c = text.charCodeAt(lt);
      if (c === 0x3c) break;
      if (c === 0x0a) lines += 1;
      else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) blank = false;
    }
    if (lt > i) {
      if (blank) {
        drop(i, lt, lines);
        if (i > 0 && lt < length && text.charCodeAt(i - 1) !== 0x3e) betweenTags = false;
      } else {
        if (openAt.length === 0) fail(i, "text outside the root element");
        if (openAt.length === 1) splittable = false;
        if (lines > 0) keep(i, lt);
      }
    }
    if (lt >= length) break;
    const c1 = text.charCodeAt(lt + 1);
    if (c1 === 0x21 /* ! */) {
      if (text.startsWith("<!--", lt)) {
        const end = text.indexOf("-->", lt + 4);
        if (end < 0) {
          fail(lt, "comment is not closed");
          break;
        }
        keep(lt, end + 3);
        i = end + 3;
      } else if (text.startsWith("<![CDATA[", lt)) {
        const end = text.indexOf("]]>", lt + 9);
        if (end < 0) {
          fail(lt, "CDATA section is not closed");
          break;
        }
        if (openAt.length === 0) fail(lt, "CDATA outside the root element");
        if (openAt.length === 1) splittable = false;
        keep(lt, end + 3);
        i = end + 3;
      } else if (text.startsWith("<!DOCTYPE", lt)) {
        const end = doctypeEnd(text, lt);
        if (rootSeen || openAt.length > 0) fail(lt, "DOCTYPE inside the document");
        if (end.subset) {
          fail(lt, "a DOCTYPE with an internal subset is refused: entity and DTD declarations are never processed");
          break;
        }
        if (end.end < 0) {
          fail(lt, "DOCTYPE is not closed");
          break;
        }
        problems.push({ line: lineAtOriginal(lt), message: "DOCTYPE ignored: its DTD is never fetched", severity: "warning" });
        let doctypeLines = 0;
        for (let k = lt; k <= end.end; k += 1) if (text.charCodeAt(k) === 0x0a) doctypeLines += 1;
        drop(lt, end.end + 1, doctypeLines);
        betweenTags = false;
        i = end.end + 1;
      } else {
        fail(lt, `unexpected markup "${text.slice(lt, lt + 10)}"`);
        break;
      }
      continue;
    }
    if (c1 === 0x3f /* ? */) {
      const end = text.indexOf("?>", lt + 2);
      if (end < 0) {
        fail(lt, "processing instruction is not closed");
        break;
      }
      keep(lt, end + 2);
      i = end + 2;
      continue;
    }
    // The usual closing tag, `</name>` of the open element, is recognised without scanning its name.
    if (c1 === 0x2f && openAt.length > 1) {
      const depth = openAt.length;
      const start = openStart[depth - 1]!;
      const nameLength = openLength[depth - 1]!;
      const gt = lt + 2 + nameLength;
      if (text.charCodeAt(gt) === 0x3e && sameChars(text, start, lt + 2, nameLength)) {
        openStart.pop();
        openLength.pop();
        openAt.pop();
        i = gt + 1;
        if (depth === 2) rootChildren.push([childStart, i - removed]);
        continue;
      }
    }
    // A tag: its name, then anything up to ">" (quoted attribute values may hold ">").
    const closing = c1 === 0x2f; /* / */
    const nameStart = closing ? lt + 2 : lt + 1;
    let k = nameStart;
    if (!isNameStart(text.charCodeAt(k))) {
      fail(lt, `"<" must be written &lt; in text`);
      break;
    }
    while (isNameChar(text.charCodeAt(k + 1))) k += 1;
    const nameEnd = k + 1;
    let tagLines = 0;
    for (k = nameEnd; k < length; k += 1) {
      const c = text.charCodeAt(k);
      if (c === 0x3e) break;
      if (c === 0x22 || c === 0x27) {
        const close = text.indexOf(c === 0x22 ? '"' : "'", k + 1);
        if (close < 0) break;
        for (let q = k + 1; q < close; q += 1) if (text.charCodeAt(q) === 0x0a) tagLines += 1;
        k = close;
      } else if (c === 0x0a) tagLines += 1;
    }
    if (k >= length) {
      fail(lt, "tag is not closed");
      break;
    }
    const gt = k;
    const startInXml = lt - removed;
    if (tagLines > 0) keep(lt, gt + 1);
    i = gt + 1;
    const endInXml = gt + 1 - removed;
    if (closing) {
      const depth = openAt.length;
      if (depth === 0) {
        fail(lt, `closing tag </${text.slice(nameStart, nameEnd)}> without an opening tag`);
        break scan;
      }
      if (openLength[depth - 1] !== nameEnd - nameStart || !sameChars(text, openStart[depth - 1]!, nameStart, nameEnd - nameStart)) {
        fail(lt, `closing tag </${text.slice(nameStart, nameEnd)}> does not match <${openName(depth - 1)}> opened on line ${lineAtOriginal(openAt[depth - 1]!)}`);
        break scan;
      }
      openStart.pop();
      openLength.pop();
      openAt.pop();
      if (depth === 2) rootChildren.push([childStart, endInXml]);
    } else if (text.charCodeAt(gt - 1) !== 0x2f) {
      const depth = openAt.length;
      if (depth === 0) {
        if (rootSeen) {
          fail(lt, `a second root element <${text.slice(nameStart, nameEnd)}>`);
          break scan;
        }
        root = text.slice(nameStart, nameEnd);
        rootSeen = true;
      } else if (depth === 1) childStart = startInXml;
      openStart.push(nameStart);
      openLength.push(nameEnd - nameStart);
      openAt.push(lt);
    } else if (openAt.length === 0) {
      if (rootSeen) {
        fail(lt, `a second root element <${text.slice(nameStart, nameEnd)}>`);
        break scan;
      }
      root = text.slice(nameStart, nameEnd);
      rootSeen = true;
    } else if (openAt.length === 1) rootChildren.push([startInXml, endInXml]);
  }
  if (problems.every((problem) => problem.severity !== "error")) {
    const depth = openAt.length;
    if (depth > 0) fail(length, `<${openName(depth - 1)}> opened on line ${lineAtOriginal(openAt[depth - 1]!)} is never closed`);
    else if (!rootSeen) fail(length, "no root element");
  }
  const starts = Int32Array.from(newlines);
  let last = 0; // the previous answer's count of line starts at or before its offset
  return {
    xml: (betweenTags && stripBlanks(text, drops, length - removed)) || cutRuns(text, drops),
    problems,
    root: root.slice(root.indexOf(":") + 1),
    ...(splittable && { rootChildren }),
    lineOf(offset: number): number {
      // Number of line starts at or before offset, plus one. Lines are mostly asked for in
      // document order, a few lines apart: look a few starts ahead of the last answer first.
      let low = last;
      if (low > 0 && starts[low - 1]! > offset) low = 0;
      else {
        const near = Math.min(low + 8, starts.length);
        while (low < near && starts[low]! <= offset) low += 1;
        if (low < near || low === starts.length) {
          last = low;
          return low + 1;
        }
      }
      let high = starts.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (starts[middle]! <= offset) low = middle + 1;
        else high = middle;
      }
      last = low;
      return low + 1;
    },
  };
}

/**
 * The text without its blank runs between tags, built by one native replace (faster than slicing
 * and joining hundreds of thousands of pieces). Only called when every run the scan dropped lies
 * between ">" and "<" or at either end. The replace may also match inside comments, CDATA or
 * attribute values, which the scan keeps, so its result is used only when its length is the
 * expected one: it removes every run the scan drops, so an equal length means it removed nothing
 * else. Undefined otherwise (cutRuns then builds the text).
 */
function stripBlanks(text: string, drops: readonly number[], expected: number): string | undefined {
  let from = 0;
  let to = text.length;
  // Runs at either end have no ">" before or "<" after them.
  if (drops.length >= 2 && drops[0] === 0) from = drops[1]!;
  if (drops.length >= 2 && drops[drops.length - 1] === text.length && drops[drops.length - 2]! >= from) to = drops[drops.length - 2]!;
  const stripped = text.slice(from, to).replace(/>[ \t\r\n]+</g, "><");
  return stripped.length === expected ? stripped : undefined;
}

/** The text without the given [from, to) runs. */
function cutRuns(text: string, drops: readonly number[]): string {
  const chunks: string[] = [];
  let kept = 0;
  for (let k = 0; k < drops.length; k += 2) {
    chunks.push(text.slice(kept, drops[k]!));
    kept = drops[k + 1]!;
  }
  chunks.push(text.slice(kept));
  return chunks.join("");
}

/** Whether the `length` characters at `a` and at `b` are the same. */
function sameChars(text: string, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k += 1) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}

/** XML name start characters (ASCII letters, "_", ":"; any non-ASCII character is let through). */
function isNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || c >= 0x80;
}

/** XML name characters: start characters, digits, "-" and ".". */
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
}

/** Where a DOCTYPE ends, and whether it has an internal subset ("[ … ]"). */
function doctypeEnd(text: string, from: number): { end: number; subset: boolean } {
  let quote = 0;
  for (let k = from + 9; k < text.length; k += 1) {
    const c = text.charCodeAt(k);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x5b /* [ */) return { end: -1, subset: true };
    else if (c === 0x3e) return { end: k, subset: false };
  }
  return { end: -1, subset: false };
}
