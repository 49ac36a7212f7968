// `benito topdl graph FILE [--format dot|mermaid|svg]`: the experiment as a picture.
import { ExitCode, UsageError } from "../../errors";
import { renderDot } from "../../graph/dot";
import { renderMermaid } from "../../graph/mermaid";
import { topologyGraph } from "../../graph/topology-graph";
import { dotToSvg, readFileBytes } from "../os";
import { defaultMaxBytes, parseTopology } from "../../topdl/parse";
import { parseCommandArgs } from "../args";
import { byteSize } from "../byte-size";
import type { CommandContext } from "../command";

/** The graph lines of `benito topdl --help`. */
export const graphHelp = `graph      Draws the experiment: computers shaped by platform (pnode: 3-D box, process:
           rounded box, qemu: component; two or more experimental interfaces: a router,
           double border), each pnode's vnodes grouped, a LAN of two members as an edge and
           any other LAN as a small node, labels with addresses and shaping ("10 Mb/s, 20 ms").
           --format dot (default) and mermaid are text benito writes (the same document gives
           the same bytes); svg runs Graphviz's dot (apt-get install graphviz).`;

const formats = ["dot", "mermaid", "svg"] as const;

const options = {
  format: { type: "string" },
  top: { type: "string" },
  "max-bytes": { type: "string" },
} as const;

/** Runs `topdl graph` with the arguments after the word "graph". */
export async function topdlGraph(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const parsed = parseCommandArgs("topdl graph", args, options);
  const format = parsed.values.format ?? "dot";
  if (!formats.some((known) => known === format)) throw new UsageError("topdl graph", `--format must be ${formats.join(", ")}; got "${format}"`);
  const [file, ...extra] = parsed.positionals;
  if (file === undefined) throw new UsageError("topdl graph", "missing FILE");
  if (extra.length > 0) throw new UsageError("topdl graph", `one FILE only, got ${parsed.positionals.length}`);
  const limit = parsed.values["max-bytes"];
  const maxBytes = limit === undefined ? defaultMaxBytes : byteSize("topdl graph", "max-bytes", limit);
  const bytes = await readFileBytes(file, "reading the topology", maxBytes);
  const topology = parseTopology(bytes, file, { maxBytes, ...(parsed.values.top !== undefined && { top: parsed.values.top }) });
  const graph = topologyGraph(topology);
  const text = format === "mermaid" ? renderMermaid(graph) : renderDot(graph);
  ctx.io.out((format === "svg" ? await dotToSvg(text, file) : text).trimEnd());
  return ExitCode.ok;
}
