// Hex helpers for the netlink byte-layout tests: expected layouts are written as commented hex, field by field.

/** Bytes from hex text; spaces, newlines and `#` comments to the end of a line are ignored. */
export function bytesOf(hex: string): Uint8Array {
  const digits = hex.replace(/#[^\n]*/g, "").replace(/\s+/g, "");
  if (digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) throw new Error(`bad hex: ${digits}`);
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** Hex text of bytes, space-separated (what the tests compare, so a failure shows the differing byte). */
export function hexOf(bytes: Uint8Array, length = bytes.length): string {
  return Array.from(bytes.subarray(0, length), (byte) => byte.toString(16).padStart(2, "0")).join(" ");
}

/** Normalizes commented hex to the form `hexOf` produces. */
export function hex(text: string): string {
  return hexOf(bytesOf(text));
}

/** A Received over the whole of `bytes`, as the decoders take it. */
export function receivedOf(bytes: Uint8Array) {
  return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), start: 0, end: bytes.length };
}
