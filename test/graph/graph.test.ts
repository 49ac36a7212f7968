// `benito topdl graph`: the example lab's committed dot and mermaid golden, Graphviz accepting every corpus document, hostile names escaped.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { benito, run } from "../helpers/binary";
import { hasShared, sharedDir } from "../helpers/shared";
import { renderDot } from "../../src/graph/dot";
import { renderMermaid } from "../../src/graph/mermaid";
import { topologyGraph } from "../../src/graph/topology-graph";
import { parseTopology } from "../../src/topdl/parse";

const root = resolve(import.meta.dir, "../..");
const labTopo = resolve(root, "examples/lab/topo.xml");
const hasDot = Bun.which("dot") !== null;
if (!hasDot) console.warn("SKIPPED: the Graphviz checks of test/graph (dot is not installed: apt-get install graphviz)");

function corpusFiles(): string[] {
  const folder = resolve(sharedDir, "topdl/corpus");
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".xml") && !entry.parentPath.includes("not-topdl"))
    .map((entry) => resolve(entry.parentPath, entry.name))
    .sort();
}

describe("benito topdl graph", () => {
  test("the committed docs/lab.dot is what benito draws for the example lab (make lab-graph regenerates it)", async () => {
    const result = await benito(["topdl", "graph", labTopo]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(readFileSync(resolve(root, "docs/lab.dot"), "utf8"));
  });

  test("mermaid: the example lab's golden file, one line per computer, LAN and link", async () => {
    const result = await benito(["topdl", "graph", labTopo, "--format", "mermaid"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(readFileSync(resolve(import.meta.dir, "golden/lab.mmd"), "utf8"));
    const lines = result.stdout.trimEnd().split("\n");
    // 7 computers, 2 LAN nodes (lan0, lan1), 6 member links + 1 two-member LAN edge (slow), 1 group (subgraph + end), the header.
    expect(lines.filter((line) => /^\s+c\d+[[({]/.test(line)).length).toBe(7);
    expect(lines.filter((line) => /^\s+l\d+\(\(/.test(line)).length).toBe(2);
    expect(lines.filter((line) => line.includes("---")).length).toBe(7);
    expect(lines.length).toBe(1 + 2 + 7 + 2 + 7);
    expect(result.stdout).toContain("slow: 10 Mb/s, 20 ms");
  });

  test("the drawing says what an operator looks for: platform shapes, routers, pnode groups, addresses and shaping", () => {
    const dot = renderDot(topologyGraph(parseTopology(readFileSync(labTopo), labTopo)));
    expect(dot).toContain('"node:pnode0" [label="pnode0\\npnode", shape=box3d');
    expect(dot).toMatch(/"node:r" \[label="r\\nprocess, router".*peripheries=2/);
    expect(dot).toContain('subgraph cluster_0 {\n    label="pnode0"');
    expect(dot).toContain('"node:a" -- "lan:lan0" [label="10.0.1.1/24"]');
    expect(dot).toContain('"node:d" -- "node:e" [label="slow: 10 Mb/s, 20 ms\\n10.0.3.1/24 - 10.0.3.2/24"]');
  });

  test("names with quotes, backslashes and control characters never break out of a label", () => {
    const xml = `<experiment><version>2.0</version>
      <substrates><name>l"an\\x</name><attribute><attribute>loss</attribute><value>0.01</value></attribute></substrates>
      <elements><computer><name>a"] x [y=</name><interface><substrate>l"an\\x</substrate><name>i0</name></interface>
        <attribute><attribute>benito:node_type</attribute><value>qemu</value></attribute></computer></elements>
      <elements><computer><name>b&#x9;&lt;br/&gt;</name><interface><substrate>l"an\\x</substrate><name>i0</name></interface></computer></elements>
      <elements><computer><name>c</name><interface><substrate>l"an\\x</substrate><name>i0</name></interface></computer></elements>
    </experiment>`;
    const graph = topologyGraph(parseTopology(xml, "hostile.xml"));
    const dot = renderDot(graph);
    expect(dot).toContain('"node:a\\"] x [y=" [label="a\\"] x [y=\\nqemu", shape=component');
    expect(dot).toContain('"lan:l\\"an\\\\x" [label="l\\"an\\\\x\\nloss 1%"');
    expect(dot).not.toContain("\t");
    const mermaid = renderMermaid(graph);
    expect(mermaid).toContain('c0[["a#quot;] x [y=<br/>qemu"]]');
    expect(mermaid).toContain('c1["b#lt;br/#gt;<br/>computer"]');
  });

  test("--format svg renders through Graphviz's dot, or says how to get it", async () => {
    const missing = await benito(["topdl", "graph", labTopo, "--format", "svg"], { env: { PATH: "/nonexistent" } });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Graphviz's dot is not installed (apt-get install graphviz)");
    if (!hasDot) return;
    const svg = await benito(["topdl", "graph", labTopo, "--format", "svg"]);
    expect(svg.code).toBe(0);
    expect(svg.stdout).toContain("<svg");
    expect(svg.stdout).toContain("slow: 10 Mb/s, 20 ms");
  });

  test("usage errors exit 2", async () => {
    expect((await benito(["topdl", "graph"])).code).toBe(2);
    expect((await benito(["topdl", "graph", labTopo, "--format", "png"])).code).toBe(2);
    expect((await benito(["topdl", "graph", labTopo, labTopo])).code).toBe(2);
  });

  test.skipIf(!hasShared || !hasDot)("Graphviz accepts the dot of every corpus document", async () => {
    const files = corpusFiles();
    expect(files.length).toBe(28);
    for (const file of files) {
      const graph = await benito(["topdl", "graph", file]);
      expect(graph.code, file).toBe(0);
      const rendered = await run(["dot", "-Tsvg"], { stdin: graph.stdout });
      expect(rendered.stderr, file).toBe("");
      expect(rendered.code, file).toBe(0);
      expect(rendered.stdout, file).toContain("<svg");
    }
  }, 120_000);
});
