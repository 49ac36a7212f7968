// The version and commit baked into the binary at compile time (see scripts/compile.ts).
import pkg from "../package.json";

declare const BENITO_VERSION: string | undefined;
declare const BENITO_COMMIT: string | undefined;

/** The package version; from package.json when running from source. */
export const version: string = typeof BENITO_VERSION === "string" ? BENITO_VERSION : pkg.version;

/** The git commit the binary was built from, or "source" when running from source. */
export const commit: string = typeof BENITO_COMMIT === "string" ? BENITO_COMMIT : "source";
