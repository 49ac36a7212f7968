// A private copy of the example lab (examples/lab) for one test: node names and switch folders made unique.
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The example experiment shipped in the repository. */
export const exampleLab = resolve(import.meta.dir, "../../examples/lab");

/** The example's vnodes. */
export const labNodes = ["a", "b", "c", "d", "e", "r"] as const;

/** Lab interface: where the copy lives and how its names map. */
export interface Lab {
  /** Temporary folder holding config/ and run/. */
  readonly dir: string;
  readonly config: string;
  readonly runDir: string;
  /** The unique name of an example node ("a" → "bt12xa"). */
  name(node: (typeof labNodes)[number]): string;
  /** The process platform's namespace of an example node. */
  namespace(node: (typeof labNodes)[number]): string;
}

/**
 * Copies examples/lab with every vnode renamed PREFIX+name and the switch folders moved under a
 * temporary folder, so the test's namespaces and sockets are its own.
 */
export function makeLab(prefix: string): Lab {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-lab-`));
  const config = join(dir, "config");
  cpSync(exampleLab, config, { recursive: true });
  let topo = readFileSync(join(config, "topo.xml"), "utf8").replaceAll("/run/benito/lab/switch/", `${dir}/sw/`);
  for (const node of labNodes) topo = topo.replaceAll(`<name>${node}</name>`, `<name>${prefix}${node}</name>`);
  writeFileSync(join(config, "topo.xml"), topo);
  for (const file of readdirSync(join(config, "route"))) renameSync(join(config, "route", file), join(config, "route", `${prefix}${file}`));
  return {
    dir,
    config,
    runDir: join(dir, "run"),
    name: (node) => `${prefix}${node}`,
    namespace: (node) => `bn-${prefix}${node}`,
  };
}
