// valibot schemas for TopDL leaf values (numbers, kinds, enumerations): what the text may say, as data.
import * as v from "valibot";

/** An xs:double written as a plain decimal number (surrounding whitespace ignored): "100000.0", "1e3". */
const decimal = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Quantities are below this (10^15 kb/s is a million times any link; larger is a typo or an attack). */
export const largestQuantity = 1e15;

/** Whether a decimal's digits are all zero: "0.000e5" is 0, "1e-400" is not (it only rounds to 0). */
function zeroDigits(text: string): boolean {
  return !/[1-9]/.test(text.replace(/[eE].*$/, ""));
}

/** A non-negative number below 10^15: rate (kb/s), time (ms), amount (MB). */
export const quantity = v.pipe(
  v.string(),
  v.trim(),
  v.regex(decimal, (issue) => `"${issue.input}" is not a number`),
  v.check((text) => Math.abs(Number(text)) < largestQuantity, (issue) => `${issue.input} is out of range (below 10^15)`),
  v.check((text) => Number(text) !== 0 || zeroDigits(text), (issue) => `${issue.input} is too small to be held (it would read as 0)`),
  // "+ 0" reads "-0" as 0.
  v.transform((text) => Number(text) + 0),
  v.number(),
  v.minValue(0, (issue) => `${issue.input} is negative`),
);

/** A whole number: cpu count, region level. */
export const whole = v.pipe(
  v.string(),
  v.trim(),
  v.regex(/^[+-]?\d+$/, (issue) => `"${issue.input}" is not a whole number`),
  v.check((text) => Number.isSafeInteger(Number(text)), (issue) => `${issue.input} is out of range`),
  v.transform((text) => Number(text) + 0),
);

/** A positive whole number: cpu count. */
export const count = v.pipe(whole, v.minValue(1, (issue) => `${issue.input} is not a positive count`));

/** capacity/latency `kind`: trimmed and case-folded; "avg" is read as "average" (the caller warns). */
export const kind = v.pipe(
  v.string(),
  v.trim(),
  v.toLowerCase(),
  v.picklist(["max", "average", "avg"], (issue) => `kind ${JSON.stringify(issue.input)} is not "max" or "average"`),
);

/** statusType. */
export const status = v.pipe(
  v.string(),
  v.trim(),
  v.picklist(["empty", "active", "inactive", "starting", "terminating", "failed"], (issue) => `status ${JSON.stringify(issue.input)} is not one of empty, active, inactive, starting, terminating, failed`),
);

/** persistenceType. */
export const persistence = v.pipe(
  v.string(),
  v.trim(),
  v.picklist(["temporary", "persistent"], (issue) => `persistence ${JSON.stringify(issue.input)} is not "temporary" or "persistent"`),
);

/** serviceParamTypeType. */
export const paramType = v.pipe(
  v.string(),
  v.trim(),
  v.picklist(["string", "int", "float"], (issue) => `parameter type ${JSON.stringify(issue.input)} is not string, int or float`),
);

/**
 * Values that the schemas accept unchanged, recognised without running them: a plain decimal
 * `rate`/`time`/`amount` (already trimmed, not negative) and a lower-case `kind`. There are tens
 * of thousands of these in a large document, and a valibot run costs more than the check; any
 * other text (whitespace, "avg", a negative or non-numeric value) goes through the schema,
 * which gives the same output or the issue.
 */
const shortcuts = new Map<v.GenericSchema, (text: string) => unknown>([
  [quantity, (text) => (decimal.test(text) && Number(text) > 0 && Number(text) < largestQuantity ? Number(text) : undefined)],
  [kind, (text) => (text === "max" || text === "average" ? text : undefined)],
]);

/** The schema's output for `text` when it is one of the plain forms in `shortcuts`; undefined otherwise (run the schema). */
export function shortcut(schema: v.GenericSchema, text: string): unknown {
  return shortcuts.get(schema)?.(text);
}

/** Parses a value with a schema: the output, or the first issue's message. */
export function read<T extends v.GenericSchema>(schema: T, text: string): { value: v.InferOutput<T> } | { error: string } {
  const result = v.safeParse(schema, text);
  if (result.success) return { value: result.output };
  return { error: result.issues[0]?.message ?? "invalid value" };
}
