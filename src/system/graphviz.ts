// Graphviz's `dot` as a child process: turns dot text into SVG when Graphviz is installed.
import { BenitoError } from "../errors";

/** How long dot may take on one topology (the largest corpus document takes well under a second). */
const timeoutMs = 60_000;

/**
 * Renders dot text to SVG with `dot -Tsvg` (found on PATH; the text goes to its standard input,
 * never through a shell).
 *
 * @throws BenitoError when dot is not installed (saying how to get it) or refuses the text.
 */
export async function dotToSvg(dotText: string, what: string): Promise<string> {
  const program = Bun.which("dot");
  if (program === null) {
    throw new BenitoError("drawing the topology as SVG", what, "Graphviz's dot is not installed (apt-get install graphviz); or print --format dot and render it elsewhere");
  }
  const child = Bun.spawn([program, "-Tsvg"], { stdin: new TextEncoder().encode(dotText), stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  const [svg, errors, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new BenitoError("drawing the topology as SVG", what, `${program} -Tsvg exited with ${code}: ${errors.trim().split("\n")[0] ?? ""}`);
  return svg;
}
