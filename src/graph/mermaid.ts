// Renders a TopologyGraph as a Mermaid flowchart: one line per computer, LAN and link (plus the pnode groups' subgraph lines).
import type { ComputerShape, GraphComputer, TopologyGraph } from "./topology-graph";

/** Mermaid label text: quotes and angle brackets as entities, line breaks as <br/>, other control characters dropped. */
function label(text: string): string {
  const escaped = text
    .replaceAll("&", "#amp;")
    .replaceAll('"', "#quot;")
    .replaceAll("<", "#lt;")
    .replaceAll(">", "#gt;")
    .replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, "")
    .replaceAll("\n", "<br/>");
  return `"${escaped}"`;
}

/** Mermaid node shapes by platform (open and close brackets). */
const brackets: Readonly<Record<ComputerShape, readonly [string, string]>> = {
  pnode: ["[(", ")]"],
  embedded_pnode: ["[(", ")]"],
  process: ["(", ")"],
  qemu: ["[[", "]]"],
  other: ["[", "]"],
};

/**
 * The graph as a Mermaid flowchart. Ids are positional (c0, c1 … for computers, l0 … for LANs):
 * names from the document reach the output only as quoted labels. Routers are hexagons.
 */
export function renderMermaid(graph: TopologyGraph): string {
  const ids = new Map(graph.computers.map((computer, index) => [computer.name, `c${index}`]));
  const lanIds = new Map(graph.lans.map((lan, index) => [lan.name, `l${index}`]));
  const line = (computer: GraphComputer) => {
    const [open, close] = computer.router ? ["{{", "}}"] : brackets[computer.shape];
    const kind = [computer.nodeType || "computer", ...(computer.router ? ["router"] : [])].join(", ");
    return `${ids.get(computer.name)}${open}${label(`${computer.name}\n${kind}`)}${close}`;
  };
  const lines = ["flowchart LR"];
  const clustered = new Set(graph.clusters.flatMap((cluster) => cluster.members));
  const byName = new Map(graph.computers.map((computer) => [computer.name, computer]));
  graph.clusters.forEach((cluster, index) => {
    lines.push(`  subgraph g${index} [${label(cluster.host)}]`);
    for (const name of cluster.members) {
      const computer = byName.get(name);
      if (computer !== undefined) lines.push(`    ${line(computer)}`);
    }
    lines.push("  end");
  });
  for (const computer of graph.computers) if (!clustered.has(computer.name)) lines.push(`  ${line(computer)}`);
  for (const lan of graph.lans) lines.push(`  ${lanIds.get(lan.name)}((${label(lan.shaping === "" ? lan.name : `${lan.name}\n${lan.shaping}`)}))`);
  for (const link of graph.links) {
    const to = link.toLan ? lanIds.get(link.to) : ids.get(link.to);
    lines.push(`  ${ids.get(link.from)} ---${link.label === "" ? "" : `|${label(link.label)}|`} ${to}`);
  }
  return `${lines.join("\n")}\n`;
}
