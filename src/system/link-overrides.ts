// The run dir's record of live link shaping (`benito link set`): read through a versioned valibot schema, written atomically, forgotten by down.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { BenitoError, messageOf } from "../errors";
import type { LinkOverrides } from "../plan/link-plan";
import { removeFile, writeFileAtomic } from "./state-files";

/** The record's file name in the run dir. */
export const overridesFile = "link-overrides.json";

const figure = v.pipe(v.number(), v.finite(), v.minValue(0));
const params = v.strictObject({
  capacityKbps: v.optional(figure),
  latencyMs: v.optional(figure),
  jitterMs: v.optional(figure),
  lossPercent: v.optional(v.pipe(figure, v.maxValue(100))),
});
const schema = v.strictObject({
  version: v.literal(1),
  lans: v.record(v.string(), v.strictObject({ lan: params, members: v.record(v.string(), params) })),
});

/** The overrides recorded in the run dir (none when the file is absent). @throws BenitoError naming the file when it is not a record benito wrote. */
export function readLinkOverrides(runDir: string): LinkOverrides {
  const path = join(runDir, overridesFile);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { lans: {} };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new BenitoError("reading the link overrides", path, `not JSON: ${messageOf(error)}`);
  }
  const result = v.safeParse(schema, data);
  if (!result.success) throw new BenitoError("reading the link overrides", path, `not a version 1 record: ${result.issues.map((issue) => `${v.getDotPath(issue) ?? "(root)"}: ${issue.message}`).join("; ")}`);
  return { lans: result.output.lans };
}

/** Records the overrides (removes the file when there are none). */
export function writeLinkOverrides(runDir: string, overrides: LinkOverrides): void {
  const path = join(runDir, overridesFile);
  try {
    if (Object.keys(overrides.lans).length === 0) removeFile(path);
    else writeFileAtomic(path, `${JSON.stringify({ version: 1, lans: overrides.lans }, null, 2)}\n`);
  } catch (error) {
    throw new BenitoError("recording the link overrides", path, messageOf(error));
  }
}

/** Forgets every override (`down`). */
export function forgetLinkOverrides(runDir: string): void {
  removeFile(join(runDir, overridesFile));
}
