// Writes the man page benito(8) (src/cli/man-page.ts renders it from the help texts) to build/benito.8 or the given path.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { manPage } from "../src/cli/man-page";

const out = resolve(process.argv[2] ?? "build/benito.8");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, await manPage());
console.log(`wrote ${out}`);
