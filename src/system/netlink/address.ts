// IPv4 and hardware address text ↔ bytes, without allocation on the hot path of route encoding.

/**
 * Parses dotted-quad IPv4 text ("10.1.2.3") into its 32-bit value (first octet in the high byte).
 * Returns -1 for anything that is not exactly four decimal octets 0–255 (no leading "+", no spaces,
 * no shorthand such as "10.1").
 */
export function parseIPv4(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      // A leading zero followed by more digits ("010") is ambiguous (octal in inet_aton): refuse it.
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      digits += 1;
      if (octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots += 1;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/** Formats a 32-bit IPv4 value (first octet in the high byte) as dotted-quad text. */
export function formatIPv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** The netmask of a prefix length as a 32-bit value (0 for /0, 0xffffffff for /32). */
export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/**
 * Parses a hardware address "aa:bb:cc:dd:ee:ff" (also "-" separated, any case) into its six bytes.
 * Returns undefined when the text is not six two-digit hex groups.
 */
export function parseMac(text: string): Uint8Array | undefined {
  const match = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(text);
  if (match === null) return undefined;
  const bytes = new Uint8Array(6);
  for (let i = 0; i < 6; i++) bytes[i] = Number.parseInt(match[i + 1] as string, 16);
  return bytes;
}

const hex = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** Formats hardware-address bytes as lower-case colon-separated hex ("" for no bytes). */
export function formatMac(bytes: Uint8Array, offset = 0, length = bytes.length - offset): string {
  let text = "";
  for (let i = 0; i < length; i++) {
    if (i > 0) text += ":";
    text += hex[bytes[offset + i] as number];
  }
  return text;
}
