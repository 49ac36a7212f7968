// Text from input made safe for a terminal: control characters escaped, never printed raw.

/**
 * C0 controls (newline and tab included: one problem stays one line), DEL, C1 controls, and the
 * bidirectional overrides and isolates (which reorder what a terminal shows).
 */
const controls = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** The controls JSON.stringify leaves raw (it escapes C0 in strings; its own newlines indent). */
const rawInJson = /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function hex(c: string, width: number): string {
  return c.charCodeAt(0).toString(16).padStart(width, "0");
}

/** The text with every control character written as an escape: ESC as `\x1b`, U+202E as `\u202e`. */
export function printable(text: string): string {
  return text.replace(controls, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/**
 * JSON.stringify, with the control characters it leaves raw (DEL, C1, bidi overrides) written as
 * `\uXXXX` escapes, which JSON readers decode back to the same characters.
 */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(value, undefined, indent).replace(rawInJson, (c) => `\\u${hex(c, 4)}`);
}
