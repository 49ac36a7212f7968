// The tunnel plan's fast path: reads only the elements on given LANs, the pnodes hosting them, and every substrate.
import { addPlacement, plainName, TopdlDocument } from "./extract";
import type { CheckResult, ParseOptions } from "./parse";

/** LanExtractResult interface: a partial topology (or problems), every substrate name, and whether the fast path was taken. */
export interface LanExtractResult extends CheckResult {
  /** True when only the LANs' parts were read; false when the whole document was (the fallback). */
  readonly partial: boolean;
  /** The name of every substrate of the whole document, in document order (VNIs are numbered over them). */
  readonly substrateNames: readonly string[];
}

/**
 * Reads the parts of a document that the tunnels of LANs `lans` depend on, answering exactly as
 * the whole document would: every `<elements>` block whose text contains one of the LAN names
 * (every member of those LANs, wherever it is hosted), the blocks naming the pnodes those
 * elements give as `benito:host` or sharing their partition, every `<substrates>` block (VNIs
 * are numbered over all their names, so each is read as the whole read reads it), and every
 * other top-level block; blocks holding references, comments, CDATA or processing instructions
 * are always read. The same superset rule and block scan as extractHostTopology (extract.ts).
 */
export function extractLanTopology(input: Uint8Array | string | TopdlDocument, file: string, lans: ReadonlySet<string>, options: ParseOptions = {}): LanExtractResult {
  const document = input instanceof TopdlDocument ? input : new TopdlDocument(input, file, options);
  const whole = (): LanExtractResult => {
    const result = document.whole();
    return { ...result, partial: false, substrateNames: result.topology?.substrates.map((substrate) => substrate.name) ?? [] };
  };
  if ([...lans].some((name) => !plainName.test(name))) return whole();
  const scanned = document.scanned();
  if (scanned === undefined) return whole();
  const chosen = new Set([...scanned.elementsContaining([...lans]), ...scanned.oddBlocks("elements")]);
  // Where the LANs' members are placed: the same rule as the host path's.
  if (!addPlacement(scanned, chosen, [])) return whole();
  const result = scanned.check(chosen, file, options, true);
  if (result === undefined) return whole();
  return { ...result, partial: true, substrateNames: result.topology?.substrates.map((substrate) => substrate.name) ?? [] };
}
