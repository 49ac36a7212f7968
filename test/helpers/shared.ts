// Locates ../shared (the read-only reference material CI always has) and says plainly when it is absent.
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** The shared material folder beside the checkout. */
export const sharedDir = resolve(import.meta.dir, "../../../shared");

/** True when ../shared is present; tests that need it are skipped (and say so) when it is not. */
export const hasShared = existsSync(resolve(sharedDir, "topdl"));

if (!hasShared) {
  console.warn(`SKIPPED: tests that read ${sharedDir} (TopDL corpus and edge cases): the folder is absent on this clone`);
}
