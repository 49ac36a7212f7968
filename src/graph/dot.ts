// Renders a TopologyGraph as Graphviz dot text (deterministic: the same document always gives the same bytes).
import type { ComputerShape, GraphComputer, TopologyGraph } from "./topology-graph";

/** A dot double-quoted string: backslash and quote escaped, line breaks as \n, other control characters dropped. */
function quote(text: string): string {
  const escaped = text
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"')
    .replaceAll("\n", "\\n")
    .replace(/[\u0000-\u001f\u007f]/g, "");
  return `"${escaped}"`;
}

/** Ids of computers and LANs live apart, so a LAN named like a computer stays a different node. */
const computerId = (name: string) => quote(`node:${name}`);
const lanId = (name: string) => quote(`lan:${name}`);

const shapeAttributes: Readonly<Record<ComputerShape, string>> = {
  pnode: 'shape=box3d, style=filled, fillcolor="#dde7f3"',
  embedded_pnode: 'shape=box3d, style="filled,dashed", fillcolor="#dde7f3"',
  process: 'shape=box, style="rounded,filled", fillcolor="#e8f3dd"',
  qemu: 'shape=component, style=filled, fillcolor="#f6ead8"',
  other: "shape=box",
};

function computerLine(computer: GraphComputer): string {
  const kind = [computer.nodeType || "computer", ...(computer.router ? ["router"] : [])].join(", ");
  const router = computer.router ? ", peripheries=2" : "";
  return `${computerId(computer.name)} [label=${quote(`${computer.name}\n${kind}`)}, ${shapeAttributes[computer.shape]}${router}];`;
}

/**
 * The graph as dot: pnodes as 3-D boxes, process vnodes as rounded boxes, QEMU vnodes as
 * components, routers (more than one experimental interface) with a double border; each
 * pnode's vnodes in a cluster; a LAN of two members is an edge, any other LAN a small ellipse.
 */
export function renderDot(graph: TopologyGraph): string {
  const lines = ["graph topology {", '  graph [rankdir=LR, fontname="Helvetica", fontsize=11];', '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];'];
  const clustered = new Set(graph.clusters.flatMap((cluster) => cluster.members));
  const byName = new Map(graph.computers.map((computer) => [computer.name, computer]));
  graph.clusters.forEach((cluster, index) => {
    lines.push(`  subgraph cluster_${index} {`, `    label=${quote(cluster.host)}; style=dashed;`);
    for (const name of cluster.members) {
      const computer = byName.get(name);
      if (computer !== undefined) lines.push(`    ${computerLine(computer)}`);
    }
    lines.push("  }");
  });
  for (const computer of graph.computers) if (!clustered.has(computer.name)) lines.push(`  ${computerLine(computer)}`);
  for (const lan of graph.lans) {
    const label = lan.shaping === "" ? lan.name : `${lan.name}\n${lan.shaping}`;
    lines.push(`  ${lanId(lan.name)} [label=${quote(label)}, shape=ellipse, style=filled, fillcolor="#f2f2f2", fontsize=9];`);
  }
  for (const link of graph.links) {
    const to = link.toLan ? lanId(link.to) : computerId(link.to);
    lines.push(`  ${computerId(link.from)} -- ${to}${link.label === "" ? "" : ` [label=${quote(link.label)}]`};`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
