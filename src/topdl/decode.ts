// A document's bytes to text: UTF-8, UTF-16 (byte-order mark) and ISO-8859-1, as its byte-order mark or XML declaration says.

/** Decoded type: the text, or why it cannot be read (with the line of the problem when known). */
export type Decoded = { readonly text: string } | { readonly error: string; readonly line: number };

/** Encodings read byte for byte as code points (ISO-8859-1 and its registered aliases). */
const latin1Names = new Set(["iso-8859-1", "iso8859-1", "iso_8859-1", "iso_8859-1:1987", "latin1", "l1", "iso-ir-100", "cp819", "ibm819", "csisolatin1"]);

/**
 * Decodes a document as XML 1.0 says (appendix F): a byte-order mark wins (UTF-8, UTF-16 LE or
 * BE); else UTF-16 is recognised from `<?` written in two bytes; else the XML declaration's
 * encoding decides (UTF-8 when there is none). ISO-8859-1 maps each byte to the same code point
 * (TextDecoder's "iso-8859-1" is windows-1252, which reads 0x80 as "€"); US-ASCII is UTF-8
 * without bytes above 0x7f. Any other encoding is refused by name.
 */
export function decodeDocument(bytes: Uint8Array): Decoded {
  const [b0, b1, b2, b3] = [bytes[0], bytes[1], bytes[2], bytes[3]];
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return utf8(bytes.subarray(3), 3);
  if (b0 === 0xff && b1 === 0xfe) return utf16(bytes.subarray(2), "utf-16le");
  if (b0 === 0xfe && b1 === 0xff) return utf16(bytes.subarray(2), "utf-16be");
  if (b0 === 0x3c && b1 === 0x00 && b2 === 0x3f && b3 === 0x00) return utf16(bytes, "utf-16le");
  if (b0 === 0x00 && b1 === 0x3c && b2 === 0x00 && b3 === 0x3f) return utf16(bytes, "utf-16be");
  const declared = declaredEncoding(bytes);
  if (declared === undefined || declared === "utf-8" || declared === "utf8") return utf8(bytes, 0);
  if (latin1Names.has(declared)) return { text: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1") };
  if (declared === "us-ascii" || declared === "ascii") {
    const high = bytes.findIndex((byte) => byte > 0x7f);
    if (high >= 0) return { error: `byte 0x${bytes[high]!.toString(16)} at byte offset ${high} is not US-ASCII, the declared encoding`, line: lineOfByte(bytes, high) };
    return utf8(bytes, 0);
  }
  if (declared.startsWith("utf-16") || declared === "ucs-2" || declared.startsWith("utf-32")) {
    return { error: `the XML declaration says ${JSON.stringify(declared)} but the document has no byte-order mark and is not written in it`, line: 1 };
  }
  return { error: `encoding ${JSON.stringify(declared)} is not supported: write the document in UTF-8 (UTF-16 with a byte-order mark, ISO-8859-1 and US-ASCII are read too)`, line: 1 };
}

/** The XML declaration's encoding name, lower-cased (undefined without one). */
function declaredEncoding(bytes: Uint8Array): string | undefined {
  if (bytes[0] !== 0x3c || bytes[1] !== 0x3f) return undefined;
  let head = "";
  for (let k = 0; k < bytes.length && k < 256; k += 1) {
    const byte = bytes[k]!;
    head += String.fromCharCode(byte);
    if (byte === 0x3e) break;
  }
  return /^<\?xml[ \t\r\n][^>]*?encoding[ \t\r\n]*=[ \t\r\n]*(["'])([A-Za-z][A-Za-z0-9._:-]*)\1/.exec(head)?.[2]?.toLowerCase();
}

function utf8(bytes: Uint8Array, skipped: number): Decoded {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    const bad = firstInvalidUtf8(bytes);
    return { error: `invalid UTF-8 at byte offset ${bad + skipped}`, line: lineOfByte(bytes, bad) };
  }
}

function utf16(bytes: Uint8Array, label: "utf-16le" | "utf-16be"): Decoded {
  try {
    return { text: new TextDecoder(label, { fatal: true, ignoreBOM: true }).decode(bytes) };
  } catch {
    return { error: `invalid ${label === "utf-16le" ? "UTF-16 LE" : "UTF-16 BE"} (an odd number of bytes or an unpaired surrogate)`, line: 0 };
  }
}

/** Line (1-based) of a byte offset in an ASCII-compatible encoding. */
function lineOfByte(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset; k += 1) {
    const byte = bytes[k];
    if (byte === 0x0a || (byte === 0x0d && bytes[k + 1] !== 0x0a)) line += 1;
  }
  return line;
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
