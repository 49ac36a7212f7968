// A hand-written XML 1.0 parser for TopDL: well-formedness as the standard says, no DTD ever read, element trees with lines.
import { keepOutOfFtl } from "./jit";

/** XmlProblem interface: a problem found in the XML layer (before TopDL meaning). */
export interface XmlProblem {
  readonly line: number;
  readonly message: string;
  readonly severity: "error" | "warning";
}

/**
 * XmlNode interface: one element, or (name "#text") one run of text among child elements. An
 * element without child elements holds its text in `text`: references decoded, CDATA literal,
 * line ends normalized, and XML whitespace trimmed at the ends of the joined text only.
 */
export interface XmlNode {
  /** The local name (any namespace prefix removed); "#text" for text among elements. */
  readonly name: string;
  /** 1-based line of the element's "<" (of the text's first character for a text run). */
  readonly line: number;
  /** XML attributes by local name (xmlns declarations left out); a null-prototype object. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Child elements, and text runs among them, in document order. */
  readonly children: readonly XmlNode[];
  /** The text of an element without child elements, or of a text run; "" otherwise. */
  readonly text: string;
}

/** ElementNode class: any node but an empty element. */
class ElementNode implements XmlNode {
  constructor(
    readonly name: string,
    readonly line: number,
    readonly attributes: Readonly<Record<string, string>>,
    readonly children: readonly XmlNode[],
    readonly text: string,
  ) {}
}

/**
 * The parts every empty element shares (no attributes, children or text), on a base class:
 * JavaScriptCore makes instances of a class with accessors of its own larger (48 bytes each
 * instead of 32 for EmptyElement, measured), and a hostile document can hold millions of them.
 */
abstract class Empty {
  get attributes(): Readonly<Record<string, string>> {
    return noAttributes;
  }
  get children(): readonly XmlNode[] {
    return noChildren;
  }
  get text(): string {
    return "";
  }
}

/**
 * EmptyElement class: an element with no attribute, child or text (`<x/>`), in two fields: a
 * hostile document can hold millions of them, and each costs a fraction of an ElementNode.
 */
class EmptyElement extends Empty implements XmlNode {
  constructor(
    readonly name: string,
    readonly line: number,
  ) {
    super();
  }
}

/** Block interface: one child element of the root, where it is in the text (for the fast paths). */
export interface Block {
  /** Local name. */
  readonly name: string;
  /** Offset of its "<" and offset just past its end. */
  readonly start: number;
  readonly end: number;
  /** 1-based line and column of its "<". */
  readonly line: number;
  readonly column: number;
  /**
   * Whether it holds a reference (in text or an attribute value), a comment, a CDATA section or a
   * processing instruction: anything that could spell a name otherwise than as plain text.
   */
  readonly odd: boolean;
}

/** XmlOptions interface: how to parse. */
export interface XmlOptions {
  /**
   * When the root's local name is `name`, each of its children is handed to `child` as soon as it
   * is complete and not kept: no tree of the whole document is ever built.
   */
  readonly stream?: { readonly name: string; child(node: XmlNode): void };
  /** Build nothing: check well-formedness and list the root's child elements as blocks. */
  readonly scanOnly?: boolean;
  /**
   * Read everything with the general code, without the loops for plain markup (#plainScan,
   * #plainBuild): the reference the differential test compares them with.
   */
  readonly general?: boolean;
  /**
   * The line the text starts on (default 1): a top-level block parsed by itself (the fast paths)
   * gets the lines it has in the whole document.
   */
  readonly firstLine?: number;
}

/** XmlResult interface: the problems, the root, and (scanOnly) the root's child elements. */
export interface XmlResult {
  /** The first well-formedness error (parsing stops there), and warnings (an ignored DOCTYPE). */
  readonly problems: readonly XmlProblem[];
  /** The root element's local name ("" without one). */
  readonly rootName: string;
  /** The root element's line. */
  readonly rootLine: number;
  /** The root element; without its children when they were streamed; undefined with scanOnly or an error. */
  readonly root?: XmlNode;
  /** scanOnly: the root's child elements. */
  readonly blocks?: readonly Block[];
  /**
   * scanOnly: whether the root holds text of its own (not whitespace) among its child elements:
   * a warning for the whole read that no block carries, so the fast paths leave such a document
   * to the whole read.
   */
  readonly textInRoot?: boolean;
}

/** Elements may nest this deep (TopDL needs about ten; a bound keeps hostile input from recursing). */
export const maxDepth = 64;

/**
 * Recently seen names, by length and first character: most tags repeat a few names. Shared by
 * every parse (an entry is used only when the text holds the same characters): the fast paths
 * parse hundreds of small blocks, and each would otherwise fill its own cache.
 */
const recentNames: (string | undefined)[] = new Array(64 * 128);
/** Each cached name's local part (after a prefix's ":"), in the same slot. */
const recentLocals: string[] = new Array(64 * 128);

const noAttributes: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);
const noChildren: readonly XmlNode[] = Object.freeze([]);

/** Parses a document (see XmlOptions). Never throws on bad input: the first error is in `problems`. */
export function parseXml(text: string, options: XmlOptions = {}): XmlResult {
  return new Parser(text, options).run();
}

/** The state of one element being read. Frames are reused by depth, so reading allocates no frame per element. */
class Frame {
  qname = "";
  name = "";
  line = 0;
  start = 0;
  column = 0;
  attributes = noAttributes;
  /** Child nodes so far; null while the element has no child element. */
  children: XmlNode[] | null = null;
  /** Text read so far (leading whitespace dropped), and where it began. */
  pending = "";
  pendingLine = 0;
  /** A whitespace-only piece after `pending`, kept as offsets until more text follows (-1: none). */
  blankFrom = -1;
  blankTo = -1;
  blankCdata = false;
}

/** Flags of a checked run of characters. */
const hasCr = 1;
const nonBlank = 2;
const hasAmpersand = 4;
const hasBracket = 8;

class Parser {
  readonly #text: string;
  readonly #length: number;
  readonly #stream: XmlOptions["stream"];
  readonly #build: boolean;
  readonly #plain: boolean;
  #i = 0;
  #line = 1;
  #lineStart = 0;
  #depth = 0;
  readonly #frames: Frame[] = [];
  readonly #problems: XmlProblem[] = [];
  #failed = false;
  #rootSeen = false;
  #rootName = "";
  #rootLine = 0;
  #root: XmlNode | undefined;
  #streaming = false;
  #doctypeSeen = false;
  readonly #blocks: Block[] = [];
  /** scanOnly: whether the block being read is odd (see Block). */
  #odd = false;
  /** scanOnly: see XmlResult.textInRoot. */
  #textInRoot = false;
  /** The local part of the name #name returned last. */
  #local = "";

  /** Whether the per-token methods were kept out of the FTL tier (done once, at the first parse). */
  static #tuned = false;

  constructor(text: string, options: XmlOptions) {
    this.#text = text;
    this.#length = text.length;
    this.#stream = options.stream;
    this.#build = options.scanOnly !== true;
    this.#plain = options.general !== true;
    this.#line = options.firstLine ?? 1;
    if (!Parser.#tuned) {
      Parser.#tuned = true;
      // #plainScan is one long call over the whole document: the FTL compiled it in 81 ms for
      // on-stack entry (then 48 ms more) while the scan took 39 ms; the DFG compiles it in 7 ms.
      // The per-token methods of the tree-building parse: FTL compiles of ~70 ms CPU for no
      // shorter main thread in a one-shot read of the 9 MB document (jit.ts).
      keepOutOfFtl([this.#plainScan, this.#plainBuild, this.run, this.#textRun, this.#charsToTag, this.#startTag, this.#nameEnd, this.#name, this.#open, this.#endTag, this.#close, this.#append]);
    }
  }

  run(): XmlResult {
    const text = this.#text;
    // A byte-order mark left in a string is not content.
    if (text.charCodeAt(0) === 0xfeff) this.#i = 1;
    const documentStart = this.#i;
    while (!this.#failed && this.#i < this.#length) {
      if (this.#plain && this.#depth > 0) {
        if (this.#build) this.#plainBuild();
        else this.#plainScan();
        if (this.#i >= this.#length) break;
      }
      this.#textRun();
      if (this.#failed || this.#i >= this.#length) break;
      const at = this.#i;
      const c1 = text.charCodeAt(at + 1);
      if (c1 === 0x2f /* / */) this.#endTag(at);
      else if (c1 === 0x21 /* ! */) this.#markup(at);
      else if (c1 === 0x3f /* ? */) this.#instruction(at, at === documentStart);
      else this.#startTag(at);
    }
    if (!this.#failed) {
      if (this.#depth > 0) {
        const open = this.#frames[this.#depth - 1]!;
        this.#fail(this.#length, `<${open.qname}> opened on line ${open.line} is never closed`);
      } else if (!this.#rootSeen) this.#fail(this.#length, "no root element");
    }
    const base = { problems: this.#problems, rootName: this.#rootName, rootLine: this.#rootLine };
    if (this.#failed) return base;
    if (!this.#build) return { ...base, blocks: this.#blocks, textInRoot: this.#textInRoot };
    return { ...base, ...(this.#root !== undefined && { root: this.#root }) };
  }

  /**
   * The check-only scan of the usual markup, in one loop with its state in local variables: text
   * of plain characters (no "&", "]", CR, control character or surrogate), start tags `<name>`
   * and `<name/>` with an ASCII name and nothing else in them, and end tags `</name>` written
   * exactly. It stops, with the parser's state as it was before that token, at anything else (and
   * at the end of the document), which the general code then reads — and reports, when it is an
   * error. Every token it accepts, the general code would accept with the same effect (a block
   * it completes is never odd: it meets nothing that would make one odd).
   */
  #plainScan(): void {
    const text = this.#text;
    const length = this.#length;
    const frames = this.#frames;
    let i = this.#i;
    let line = this.#line;
    let lineStart = this.#lineStart;
    let depth = this.#depth;
    for (;;) {
      // Text up to the next "<"; line ends counted in local copies, kept only once the tag is read.
      let k = i;
      let runLine = line;
      let runLineStart = lineStart;
      let c = 0;
      let blank = true;
      for (; k < length; k += 1) {
        c = text.charCodeAt(k);
        if (c === 0x3c) break;
        if (c === 0x0a) {
          runLine += 1;
          runLineStart = k + 1;
        } else if (c < 0x20 ? c !== 0x09 : c === 0x26 || c === 0x5d || (c >= 0xd800 && c <= 0xdfff) || c >= 0xfffe) break;
        else if (c !== 0x20 && c !== 0x09) blank = false;
      }
      // Text of the root's own is left to the general code, which notes it (XmlResult.textInRoot).
      if (c !== 0x3c || k >= length || (!blank && depth === 1)) break;
      const at = k;
      const c1 = text.charCodeAt(at + 1);
      if (c1 === 0x2f /* / */) {
        // The root's end tag is left to the general code (it completes the document).
        if (depth === 1) break;
        const frame = frames[depth - 1]!;
        const qname = frame.qname;
        const close = at + 2 + qname.length;
        if (text.charCodeAt(close) !== 0x3e || !sameAt(text, at + 2, qname)) break;
        depth -= 1;
        if (depth === 1) {
          this.#blocks.push({ name: frame.name, start: frame.start, end: close + 1, line: frame.line, column: frame.column, odd: this.#odd });
          this.#odd = false;
        }
        i = close + 1;
      } else {
        if (!isPlainNameStart(c1) || depth >= maxDepth) break;
        let end = at + 2;
        while (isPlainNameChar(text.charCodeAt(end))) end += 1;
        const after = text.charCodeAt(end);
        const empty = after === 0x2f && text.charCodeAt(end + 1) === 0x3e;
        if (after !== 0x3e && !empty) break;
        const qname = this.#name(at + 1, end);
        frames[depth - 1]!.blankFrom = -1;
        let frame = frames[depth];
        if (frame === undefined) frames.push((frame = new Frame()));
        frame.qname = qname;
        frame.name = this.#local;
        frame.line = runLine;
        frame.start = at;
        frame.column = at - runLineStart + 1;
        frame.attributes = noAttributes;
        frame.children = null;
        frame.pending = "";
        frame.blankFrom = -1;
        if (empty) {
          if (depth === 1) {
            this.#blocks.push({ name: frame.name, start: at, end: end + 2, line: runLine, column: frame.column, odd: this.#odd });
            this.#odd = false;
          }
          i = end + 2;
        } else {
          depth += 1;
          i = end + 1;
        }
      }
      line = runLine;
      lineStart = runLineStart;
    }
    this.#i = i;
    this.#line = line;
    this.#lineStart = lineStart;
    this.#depth = depth;
  }

  /**
   * #plainScan for the tree-building parse: the same plain markup (and the same stops) read in
   * one loop, with what #textRun and #open do for it inline; completed elements still go
   * through #close. Text of the root's own stops it (the general code reads it, for streaming).
   */
  #plainBuild(): void {
    const text = this.#text;
    const length = this.#length;
    const frames = this.#frames;
    let i = this.#i;
    let line = this.#line;
    let lineStart = this.#lineStart;
    let depth = this.#depth;
    for (;;) {
      let k = i;
      let runLine = line;
      let runLineStart = lineStart;
      let c = 0;
      let blank = true;
      for (; k < length; k += 1) {
        c = text.charCodeAt(k);
        if (c === 0x3c) break;
        if (c === 0x0a) {
          runLine += 1;
          runLineStart = k + 1;
        } else if (c < 0x20 ? c !== 0x09 : c === 0x26 || c === 0x5d || (c >= 0xd800 && c <= 0xdfff) || c >= 0xfffe) break;
        else if (c !== 0x20 && c !== 0x09) blank = false;
      }
      if (c !== 0x3c || k >= length || (!blank && depth === 1)) break;
      const at = k;
      const c1 = text.charCodeAt(at + 1);
      let close = -1;
      let opened: Frame | undefined;
      let empty = false;
      if (c1 === 0x2f /* / */) {
        if (depth === 1) break;
        const qname = frames[depth - 1]!.qname;
        close = at + 2 + qname.length;
        if (text.charCodeAt(close) !== 0x3e || !sameAt(text, at + 2, qname)) break;
        close += 1;
      } else {
        if (!isPlainNameStart(c1) || depth >= maxDepth) break;
        let end = at + 2;
        while (isPlainNameChar(text.charCodeAt(end))) end += 1;
        const after = text.charCodeAt(end);
        empty = after === 0x2f && text.charCodeAt(end + 1) === 0x3e;
        if (after !== 0x3e && !empty) break;
        const qname = this.#name(at + 1, end);
        opened = frames[depth];
        if (opened === undefined) frames.push((opened = new Frame()));
        opened.qname = qname;
        opened.name = this.#local;
        opened.line = runLine;
        opened.start = at;
        opened.column = at - runLineStart + 1;
        close = empty ? end + 2 : end + 1;
      }
      // The tag is read: the text before it takes effect (as #textRun), then the tag.
      const frame = frames[depth - 1]!;
      if (k > i) {
        if (!blank) this.#append(frame, text.slice(i, k), line);
        else if (frame.pending !== "") {
          frame.blankFrom = i;
          frame.blankTo = k;
          frame.blankCdata = false;
        }
      }
      line = runLine;
      lineStart = runLineStart;
      i = close;
      if (opened === undefined) {
        this.#commit(i, line, lineStart, depth);
        this.#close(i);
        depth = this.#depth;
        continue;
      }
      // As #open does for a child element (the root is never opened here).
      if (frame.pending !== "") this.#flushText(frame, depth - 1);
      frame.children ??= [];
      frame.blankFrom = -1;
      opened.attributes = noAttributes;
      opened.children = null;
      opened.pending = "";
      opened.blankFrom = -1;
      depth += 1;
      if (empty) {
        this.#commit(i, line, lineStart, depth);
        this.#close(i);
        depth = this.#depth;
      }
    }
    this.#commit(i, line, lineStart, depth);
  }

  /** The position and depth a plain loop reached, written back to the parser. */
  #commit(i: number, line: number, lineStart: number, depth: number): void {
    this.#i = i;
    this.#line = line;
    this.#lineStart = lineStart;
    this.#depth = depth;
  }

  // ---- problems ----

  #fail(offset: number, message: string, withColumn = false): void {
    if (this.#failed) return;
    this.#failed = true;
    const [line, column] = this.#position(offset);
    this.#problems.push({ line, message: withColumn ? `${message} (column ${column})` : message, severity: "error" });
  }

  /** Line and column of an offset, counted from the start (only for problems: rare). */
  #position(offset: number): [number, number] {
    const text = this.#text;
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < offset && k < this.#length; k += 1) {
      const c = text.charCodeAt(k);
      if (c === 0x0a || (c === 0x0d && text.charCodeAt(k + 1) !== 0x0a)) {
        line += 1;
        lineStart = k + 1;
      }
    }
    return [line, offset - lineStart + 1];
  }

  /**
   * Checks the characters in [from, to) against XML's Char production, counts line ends (LF, CR
   * and CRLF), and returns flags (hasCr, nonBlank, hasAmpersand, hasBracket); -1 after a failure.
   */
  #chars(from: number, to: number): number {
    const text = this.#text;
    let flags = 0;
    for (let k = from; k < to; k += 1) {
      const c = text.charCodeAt(k);
      if (c < 0x20) {
        if (c === 0x0a) {
          this.#line += 1;
          this.#lineStart = k + 1;
        } else if (c === 0x0d) {
          flags |= hasCr;
          if (text.charCodeAt(k + 1) !== 0x0a) {
            this.#line += 1;
            this.#lineStart = k + 1;
          }
        } else if (c !== 0x09) return this.#badChar(k, c);
      } else if (c === 0x26) flags |= hasAmpersand | nonBlank;
      else if (c === 0x5d) flags |= hasBracket | nonBlank;
      else if (c !== 0x20) {
        flags |= nonBlank;
        if (c >= 0xd800 && !this.#goodHigh(k, c)) return this.#badChar(k, c);
        if (c >= 0xd800 && c <= 0xdbff) k += 1;
      }
    }
    return flags;
  }

  /**
   * #chars from `from` up to the next "<" or the end, in the same pass that looks for the "<"
   * (most runs are a line end or a short value: one loop beats a search and then a check).
   * Leaves #i at the "<" and returns the flags (-1 after a failure).
   */
  #charsToTag(from: number): number {
    const text = this.#text;
    const length = this.#length;
    let flags = 0;
    let k = from;
    for (; k < length; k += 1) {
      const c = text.charCodeAt(k);
      if (c < 0x20) {
        if (c === 0x0a) {
          this.#line += 1;
          this.#lineStart = k + 1;
        } else if (c === 0x0d) {
          flags |= hasCr;
          if (text.charCodeAt(k + 1) !== 0x0a) {
            this.#line += 1;
            this.#lineStart = k + 1;
          }
        } else if (c !== 0x09) return this.#badChar(k, c);
      } else if (c === 0x3c) break;
      else if (c === 0x26) flags |= hasAmpersand | nonBlank;
      else if (c === 0x5d) flags |= hasBracket | nonBlank;
      else if (c !== 0x20) {
        flags |= nonBlank;
        if (c >= 0xd800 && !this.#goodHigh(k, c)) return this.#badChar(k, c);
        if (c >= 0xd800 && c <= 0xdbff) k += 1;
      }
    }
    this.#i = k;
    return flags;
  }

  /** For a character at or above U+D800: whether it is a Char (a surrogate only as a pair's first half, checked with its second). */
  #goodHigh(k: number, c: number): boolean {
    if (c <= 0xdbff) {
      const low = this.#text.charCodeAt(k + 1);
      return low >= 0xdc00 && low <= 0xdfff;
    }
    if (c <= 0xdfff) return false;
    return c !== 0xfffe && c !== 0xffff;
  }

  #badChar(k: number, c: number): number {
    this.#fail(k, `character U+${c.toString(16).toUpperCase().padStart(4, "0")} is not allowed in XML`, true);
    return -1;
  }

  // ---- text ----

  /** Reads text up to the next "<" (or the end) into the open element. */
  #textRun(): void {
    const text = this.#text;
    const from = this.#i;
    if (text.charCodeAt(from) === 0x3c) return;
    const line = this.#line;
    const flags = this.#charsToTag(from);
    if (flags < 0) return;
    const lt = this.#i;
    if (this.#depth === 0) {
      if ((flags & nonBlank) !== 0) this.#fail(from + firstNonBlank(text, from), "text outside the root element");
      return;
    }
    const frame = this.#frames[this.#depth - 1]!;
    if ((flags & nonBlank) === 0) {
      // Whitespace matters only between other text of the same element (the ends are trimmed).
      if (frame.pending !== "") {
        frame.blankFrom = from;
        frame.blankTo = lt;
        frame.blankCdata = false;
      }
      return;
    }
    if ((flags & hasBracket) !== 0) {
      // Searched within this run only: searching on past it made a document of many "]" runs quadratic.
      const end = text.slice(from, lt).indexOf("]]>");
      if (end >= 0) return this.#fail(from + end, `"]]>" must not appear in text`, true);
    }
    if (!this.#build) {
      if (this.#depth === 1) this.#textInRoot = true;
      if ((flags & hasAmpersand) !== 0) {
        if (this.#depth >= 2) this.#odd = true;
        this.#references(text.slice(from, lt), from);
      }
      return;
    }
    let piece = text.slice(from, lt);
    if ((flags & hasAmpersand) !== 0) {
      // Decoded from the raw text (an error's column is where it is written), line ends normalized between the references.
      const decoded = this.#references(piece, from, (flags & hasCr) !== 0 ? textLineEnds : undefined);
      if (decoded === undefined) return;
      piece = decoded;
    } else if ((flags & hasCr) !== 0) piece = textLineEnds(piece);
    this.#append(frame, piece, line);
  }

  #append(frame: Frame, piece: string, line: number): void {
    if (frame.pending === "") {
      frame.pendingLine = line;
      frame.pending = piece;
      return;
    }
    if (frame.blankFrom >= 0) {
      const blank = this.#text.slice(frame.blankFrom, frame.blankTo);
      frame.pending += blank.includes("\r") ? blank.replace(/\r\n?/g, "\n") : blank;
      frame.blankFrom = -1;
    }
    frame.pending += piece;
  }

  /**
   * Decodes the references in a piece of text or an attribute value: the five predefined
   * entities and character references (which must name a Char). Anything else fails the parse:
   * there is no DTD to define an entity. `at` is the piece's offset, for the position.
   */
  #references(raw: string, at: number, literal?: (text: string) => string): string | undefined {
    let out = "";
    let last = 0;
    for (let amp = raw.indexOf("&"); amp >= 0; amp = raw.indexOf("&", last)) {
      const semi = raw.indexOf(";", amp + 1);
      const name = semi < 0 ? "" : raw.slice(amp + 1, semi);
      if (!referenceName.test(name)) {
        this.#fail(at + amp, `a bare "&" must be written &amp;`, true);
        return undefined;
      }
      let decoded: string | undefined;
      if (name.charCodeAt(0) === 0x23 /* # */) {
        const code = name.charCodeAt(1) === 0x78 /* x */ ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        if (isChar(code)) decoded = String.fromCodePoint(code);
        else {
          this.#fail(at + amp, `character reference &${name}; is not a character XML allows`, true);
          return undefined;
        }
      } else {
        decoded = predefined.get(name);
        if (decoded === undefined) {
          this.#fail(at + amp, `undefined entity &${name}; (only &amp; &lt; &gt; &quot; &apos; and character references are read)`, true);
          return undefined;
        }
      }
      out += (literal === undefined ? raw.slice(last, amp) : literal(raw.slice(last, amp))) + decoded;
      last = semi + 1;
    }
    return out + (literal === undefined ? raw.slice(last) : literal(raw.slice(last)));
  }

  // ---- tags ----

  /** A name starting at `from` (which is a name start character); returns its end. */
  #nameEnd(from: number): number {
    const text = this.#text;
    let k = from + 1;
    while (k < this.#length && isNameChar(text.charCodeAt(k))) k += 1;
    return k;
  }

  /** The name text in [from, to), shared with earlier tags of the same name; its local part is left in #local. */
  #name(from: number, to: number): string {
    const length = to - from;
    const first = this.#text.charCodeAt(from);
    if (length >= 64 || first >= 128) {
      const name = this.#text.slice(from, to);
      this.#local = localPart(name);
      return name;
    }
    const slot = length * 128 + first;
    const cached = recentNames[slot];
    if (cached !== undefined && sameAt(this.#text, from, cached)) {
      this.#local = recentLocals[slot]!;
      return cached;
    }
    const name = this.#text.slice(from, to);
    recentNames[slot] = name;
    this.#local = recentLocals[slot] = localPart(name);
    return name;
  }

  #startTag(at: number): void {
    const text = this.#text;
    const nameStart = at + 1;
    if (!isNameStart(text.charCodeAt(nameStart))) return this.#fail(at, `"<" must be written &lt; in text`, true);
    const nameEnd = this.#nameEnd(nameStart);
    const qname = this.#name(nameStart, nameEnd);
    const local = this.#local;
    const line = this.#line;
    let attributes = noAttributes;
    let k = nameEnd;
    let empty = false;
    for (;;) {
      if (k >= this.#length) return this.#fail(at, "tag is not closed");
      let c = text.charCodeAt(k);
      if (c === 0x3e /* > */) {
        k += 1;
        break;
      }
      if (c === 0x2f /* / */ && text.charCodeAt(k + 1) === 0x3e) {
        k += 2;
        empty = true;
        break;
      }
      if (!isSpace(c)) return this.#fail(k, `unexpected character ${JSON.stringify(text[k])} in tag <${qname}>`, true);
      // Whitespace, then the end of the tag or an attribute.
      const spaceFrom = k;
      while (k < this.#length && isSpace(text.charCodeAt(k))) k += 1;
      if (this.#chars(spaceFrom, k) < 0) return;
      c = text.charCodeAt(k);
      if (c === 0x3e || c === 0x2f) continue;
      if (!isNameStart(c)) return this.#fail(k, `unexpected character ${JSON.stringify(text[k] ?? "")} in tag <${qname}>`, true);
      const attributeEnd = this.#nameEnd(k);
      const attributeName = text.slice(k, attributeEnd);
      k = attributeEnd;
      const eqFrom = k;
      while (k < this.#length && isSpace(text.charCodeAt(k))) k += 1;
      if (text.charCodeAt(k) !== 0x3d /* = */) return this.#fail(k, `attribute ${attributeName} of <${qname}> has no "=" and value`, true);
      k += 1;
      while (k < this.#length && isSpace(text.charCodeAt(k))) k += 1;
      if (this.#chars(eqFrom, k) < 0) return;
      const quote = text.charCodeAt(k);
      if (quote !== 0x22 && quote !== 0x27) return this.#fail(k, `attribute ${attributeName} of <${qname}>: the value must be quoted`, true);
      const close = text.indexOf(quote === 0x22 ? '"' : "'", k + 1);
      if (close < 0) return this.#fail(at, "tag is not closed");
      let value = text.slice(k + 1, close);
      // Searched within the value only: searching on to the next "<" cost every attribute the rest of its tag.
      const lt = value.indexOf("<");
      if (lt >= 0) return this.#fail(k + 1 + lt, `"<" is not allowed in an attribute value`, true);
      const flags = this.#chars(k + 1, close);
      if (flags < 0) return;
      // Attribute-value normalization: each literal line end or tab is a space (references are not).
      const blanks = /[\t\n\r]/.test(value);
      if ((flags & hasAmpersand) !== 0) {
        // In a block's own tag (depth 1 while it is read) or deeper.
        if (this.#depth >= 1) this.#odd = true;
        const decoded = this.#references(value, k + 1, blanks ? attributeBlanks : undefined);
        if (decoded === undefined) return;
        value = decoded;
      } else if (blanks) value = attributeBlanks(value);
      k = close + 1;
      if (attributes === noAttributes) attributes = Object.create(null) as Record<string, string>;
      const record = attributes as Record<string, string>;
      if (attributeName === "xmlns" || attributeName.startsWith("xmlns:")) {
        if (Object.hasOwn(record, `\0${attributeName}`)) return this.#fail(eqFrom, `attribute ${attributeName} repeated in <${qname}>`, true);
        record[`\0${attributeName}`] = value;
        continue;
      }
      if (Object.hasOwn(record, attributeName)) return this.#fail(eqFrom, `attribute ${attributeName} repeated in <${qname}>`, true);
      record[attributeName] = value;
    }
    this.#i = k;
    this.#open(at, qname, local, line, attributes === noAttributes ? noAttributes : localAttributes(attributes));
    if (empty) this.#close(k);
  }

  #open(at: number, qname: string, name: string, line: number, attributes: Readonly<Record<string, string>>): void {
    const depth = this.#depth;
    if (depth >= maxDepth) return this.#fail(at, `elements nested more than ${maxDepth} deep`);
    if (depth === 0) {
      if (this.#rootSeen) return this.#fail(at, `a second root element <${qname}>`);
      this.#rootSeen = true;
      this.#rootName = name;
      this.#rootLine = line;
      this.#streaming = this.#stream !== undefined && this.#stream.name === name;
    } else {
      const parent = this.#frames[depth - 1]!;
      if (this.#build) {
        if (parent.pending !== "") this.#flushText(parent, depth - 1);
        parent.children ??= [];
      }
      parent.blankFrom = -1;
    }
    let frame = this.#frames[depth];
    if (frame === undefined) this.#frames.push((frame = new Frame()));
    frame.qname = qname;
    frame.name = name;
    frame.line = line;
    frame.start = at;
    frame.column = at - this.#lineStart + 1;
    frame.attributes = attributes;
    frame.children = null;
    frame.pending = "";
    frame.blankFrom = -1;
    this.#depth = depth + 1;
  }

  /** The text read so far in an element becomes a "#text" child (text among elements). */
  #flushText(frame: Frame, depth: number): void {
    const node = new ElementNode("#text", frame.pendingLine, noAttributes, noChildren, frame.pending);
    frame.pending = "";
    frame.blankFrom = -1;
    if (depth === 0 && this.#streaming) this.#stream!.child(node);
    else (frame.children ??= []).push(node);
  }

  #endTag(at: number): void {
    const text = this.#text;
    const depth = this.#depth;
    const nameStart = at + 2;
    if (depth === 0) {
      const end = isNameStart(text.charCodeAt(nameStart)) ? this.#nameEnd(nameStart) : nameStart;
      return this.#fail(at, `closing tag </${text.slice(nameStart, end)}> without an opening tag`);
    }
    const frame = this.#frames[depth - 1]!;
    const qname = frame.qname;
    let k = nameStart + qname.length;
    // The open tag's name is in the text at frame.start + 1: compared there, character by character.
    if (k <= this.#length && sameText(text, frame.start + 1, nameStart, qname.length) && !isNameChar(text.charCodeAt(k))) {
      const spaceFrom = k;
      while (k < this.#length && isSpace(text.charCodeAt(k))) k += 1;
      if (k > spaceFrom && this.#chars(spaceFrom, k) < 0) return;
      if (text.charCodeAt(k) === 0x3e) {
        this.#i = k + 1;
        this.#close(k + 1);
        return;
      }
      if (k >= this.#length) return this.#fail(at, "tag is not closed");
      return this.#fail(k, `unexpected character ${JSON.stringify(text[k])} in closing tag </${qname}>`, true);
    }
    const end = isNameStart(text.charCodeAt(nameStart)) ? this.#nameEnd(nameStart) : nameStart;
    this.#fail(at, `closing tag </${text.slice(nameStart, end)}> does not match <${qname}> opened on line ${frame.line}`);
  }

  /** Completes the innermost open element (its end is at `end`). */
  #close(end: number): void {
    const depth = this.#depth - 1;
    const frame = this.#frames[depth]!;
    this.#depth = depth;
    if (!this.#build) {
      if (depth === 1) {
        this.#blocks.push({ name: frame.name, start: frame.start, end, line: frame.line, column: frame.column, odd: this.#odd });
        this.#odd = false;
      }
      return;
    }
    let node: XmlNode;
    if (frame.children === null) {
      const text = frame.pending === "" ? "" : trimXml(frame.pending);
      if (text === "" && frame.attributes === noAttributes) {
        // Immutable: a run of empty siblings on one line (<x/><x/>…) can share one node.
        const previous = depth > 0 ? this.#frames[depth - 1]!.children?.at(-1) : undefined;
        node = previous instanceof EmptyElement && previous.name === frame.name && previous.line === frame.line ? previous : new EmptyElement(frame.name, frame.line);
      } else node = new ElementNode(frame.name, frame.line, frame.attributes, noChildren, text);
    } else {
      if (frame.pending !== "") this.#flushText(frame, depth);
      node = new ElementNode(frame.name, frame.line, frame.attributes, frame.children, "");
    }
    frame.children = null;
    frame.pending = "";
    if (depth === 0) {
      this.#root = node;
      return;
    }
    if (depth === 1 && this.#streaming) {
      this.#stream!.child(node);
      return;
    }
    const parent = this.#frames[depth - 1]!;
    (parent.children ??= []).push(node);
  }

  // ---- comments, CDATA, DOCTYPE, processing instructions ----

  #markup(at: number): void {
    const text = this.#text;
    if (text.startsWith("<!--", at)) {
      const end = text.indexOf("-->", at + 4);
      if (end < 0) return this.#fail(at, "comment is not closed");
      const dashes = text.indexOf("--", at + 4);
      if (dashes < end) return this.#fail(dashes, `"--" inside a comment`, true);
      if (this.#chars(at + 4, end) < 0) return;
      this.#i = end + 3;
      if (this.#depth >= 2) this.#odd = true;
      return;
    }
    if (text.startsWith("<![CDATA[", at)) {
      const end = text.indexOf("]]>", at + 9);
      if (end < 0) return this.#fail(at, "CDATA section is not closed");
      if (this.#depth === 0) return this.#fail(at, "CDATA outside the root element");
      const line = this.#line;
      const flags = this.#chars(at + 9, end);
      if (flags < 0) return;
      this.#i = end + 3;
      if (this.#depth >= 2) this.#odd = true;
      if (!this.#build) {
        if (this.#depth === 1 && (flags & nonBlank) !== 0) this.#textInRoot = true;
        return;
      }
      const frame = this.#frames[this.#depth - 1]!;
      // CDATA is literal: no references, only line ends normalized.
      if ((flags & nonBlank) === 0) {
        if (frame.pending !== "") {
          frame.blankFrom = at + 9;
          frame.blankTo = end;
          frame.blankCdata = true;
        }
        return;
      }
      let piece = text.slice(at + 9, end);
      if ((flags & hasCr) !== 0) piece = piece.replace(/\r\n?/g, "\n");
      this.#append(frame, piece, line);
      return;
    }
    if (text.startsWith("<!DOCTYPE", at) && isSpace(text.charCodeAt(at + 9))) {
      if (this.#rootSeen || this.#depth > 0) return this.#fail(at, "DOCTYPE inside the document");
      if (this.#doctypeSeen) return this.#fail(at, "a second DOCTYPE");
      this.#doctypeSeen = true;
      const end = doctypeEnd(text, at);
      if (end.subset) return this.#fail(at, "a DOCTYPE with an internal subset is refused: entity and DTD declarations are never processed");
      if (end.end < 0) return this.#fail(at, "DOCTYPE is not closed");
      const line = this.#line;
      if (this.#chars(at + 9, end.end) < 0) return;
      this.#problems.push({ line, message: "DOCTYPE ignored: its DTD is never fetched", severity: "warning" });
      this.#i = end.end + 1;
      return;
    }
    this.#fail(at, `unexpected markup ${JSON.stringify(text.slice(at, at + 10))}`);
  }

  /** A processing instruction (skipped), or the XML declaration, which only the very start may hold. */
  #instruction(at: number, atStart: boolean): void {
    const text = this.#text;
    if (!isNameStart(text.charCodeAt(at + 2))) return this.#fail(at, "processing instruction without a target name", true);
    const nameEnd = this.#nameEnd(at + 2);
    const target = text.slice(at + 2, nameEnd);
    const end = text.indexOf("?>", nameEnd);
    if (end < 0) return this.#fail(at, "processing instruction is not closed");
    if (end > nameEnd && !isSpace(text.charCodeAt(nameEnd))) return this.#fail(nameEnd, `processing instruction <?${target}: a space must follow the target`, true);
    if (target.toLowerCase() === "xml") {
      if (!atStart || target !== "xml") return this.#fail(at, "an XML declaration must come first in the document (nothing, not even whitespace, before it)");
      if (!/^[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])1\.[0-9]+\1/.test(text.slice(nameEnd, end))) return this.#fail(at, "the XML declaration has no version");
    }
    if (this.#chars(nameEnd, end) < 0) return;
    this.#i = end + 2;
    if (this.#depth >= 2) this.#odd = true;
  }
}

/** `&NAME;` contents this parser reads: a character reference or a plain entity name. */
const referenceName = /^(?:#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z_:][A-Za-z0-9_.:-]*)$/;

const predefined = new Map([
  ["amp", "&"],
  ["lt", "<"],
  ["gt", ">"],
  ["quot", '"'],
  ["apos", "'"],
]);

/** XML's Char production. */
function isChar(code: number): boolean {
  return code === 0x09 || code === 0x0a || code === 0x0d || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

/** XML NameStartChar (surrogates let through: a pair encodes U+10000 and above, checked as Chars). */
function isNameStart(c: number): boolean {
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
  return (
    (c >= 0xc0 && c <= 0xd6) || (c >= 0xd8 && c <= 0xf6) || (c >= 0xf8 && c <= 0x2ff) || (c >= 0x370 && c <= 0x37d) || (c >= 0x37f && c <= 0x1fff) ||
    c === 0x200c || c === 0x200d || (c >= 0x2070 && c <= 0x218f) || (c >= 0x2c00 && c <= 0x2fef) || (c >= 0x3001 && c <= 0xdbff) || (c >= 0xdc00 && c <= 0xdfff) ||
    (c >= 0xf900 && c <= 0xfdcf) || (c >= 0xfdf0 && c <= 0xfffd)
  );
}

/** The ASCII name start characters #plainScan reads itself (":" too: a prefix is split off by #name). */
function isPlainNameStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a;
}

/** The ASCII name characters #plainScan reads itself. */
function isPlainNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x3a || c === 0x2d || c === 0x2e;
}

/** XML NameChar. */
function isNameChar(c: number): boolean {
  if (c < 0x80) return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x3a || c === 0x2d || c === 0x2e;
  return c === 0xb7 || (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040 || isNameStart(c);
}

/** Attributes by local name: "p:x" is read as "x" (the first one wins); xmlns declarations are left out. */
function localAttributes(attributes: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  let plain = true;
  for (const key in attributes) if (key.includes(":") || key.charCodeAt(0) === 0) plain = false;
  if (plain) return attributes;
  const local = Object.create(null) as Record<string, string>;
  for (const key in attributes) {
    if (key.charCodeAt(0) === 0) continue;
    const name = key.slice(key.indexOf(":") + 1);
    if (!Object.hasOwn(local, name)) local[name] = attributes[key]!;
  }
  return local;
}

/** Line ends in text: CRLF and CR read as LF. */
function textLineEnds(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

/** Attribute-value normalization of literal text: each line end (CRLF as one) and tab is a space. */
function attributeBlanks(text: string): string {
  return text.replace(/\r\n?|[\t\n]/g, " ");
}

/** A name without its namespace prefix ("t:name" → "name"). */
function localPart(qname: string): string {
  const colon = qname.indexOf(":");
  return colon < 0 ? qname : qname.slice(colon + 1);
}

/** Whether `text` holds `name` at `at` (a loop of charCodeAt, which the JIT inlines; startsWith is a call). */
function sameAt(text: string, at: number, name: string): boolean {
  for (let k = 0; k < name.length; k += 1) if (text.charCodeAt(at + k) !== name.charCodeAt(k)) return false;
  return true;
}

/** Whether the `length` characters of `text` at `a` and at `b` are the same (`b + length` within the text). */
function sameText(text: string, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k += 1) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}

/** Trims XML whitespace (space, tab, line ends; not U+00A0 or other Unicode spaces) from both ends. */
function trimXml(text: string): string {
  if (!isSpace(text.charCodeAt(0)) && !isSpace(text.charCodeAt(text.length - 1))) return text;
  let from = 0;
  let to = text.length;
  while (from < to && isSpace(text.charCodeAt(from))) from += 1;
  while (to > from && isSpace(text.charCodeAt(to - 1))) to -= 1;
  return text.slice(from, to);
}

function firstNonBlank(text: string, from: number): number {
  let k = from;
  while (isSpace(text.charCodeAt(k))) k += 1;
  return k - from;
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
