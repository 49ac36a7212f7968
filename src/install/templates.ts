// The init files of dist/, embedded in the binary so `benito install` writes exactly what the repository ships.
import preflight from "../../dist/preflight.sh" with { type: "text" };
import sysvScript from "../../dist/benito.init" with { type: "text" };
import rcLocalSnippet from "../../dist/rc.local.snippet" with { type: "text" };
import statusUnit from "../../dist/benito-status.service" with { type: "text" };
import unit from "../../dist/benito.service" with { type: "text" };

/** The dist/ files, verbatim (paths in them assume PREFIX /usr/local). */
export const templates = { unit, statusUnit, sysvScript, rcLocalSnippet, preflight } as const;

/** The prefix the dist/ files are written for; install rewrites it to --prefix. */
export const templatePrefix = "/usr/local";
