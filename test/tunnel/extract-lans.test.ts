// The tunnel fast path reads the members of some LANs and their pnodes, and gives the same nodes as a whole read.
import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors";
import { lanNodesFromDocument } from "../../src/model/lan-nodes";
import { resolveNodes } from "../../src/model/resolve";
import { experimentTunnels } from "../../src/plan/tunnel-plan";
import { extractLanTopology } from "../../src/topdl/extract-lans";
import { parseTopology } from "../../src/topdl/parse";
import { topologyXml, type Vnode } from "./topology";

const member = (substrate: string, n: number, port: number) => ({ substrate, address: `10.9.${n}.${port}`, mac: `02:00:00:00:${String(n).padStart(2, "0")}:${String(port).padStart(2, "0")}`, vdeSwitch: `/s/${substrate}`, port });
const pnodes = [1, 2, 3, 4].map((n) => ({ name: `p${n}`, underlay: `172.30.0.${n}` }));
const vnodes: Vnode[] = [
  { name: "a", host: "p1", interfaces: [member("lan0", 0, 1), member("lan1", 1, 1)] },
  { name: "b", host: "p2", interfaces: [member("lan0", 0, 2)] },
  { name: "c", host: "p3", interfaces: [member("lan1", 1, 2), member("lan2", 2, 1)] },
  { name: "d", host: "p4", interfaces: [member("lan2", 2, 2)] },
];
const lans = [{ name: "lan0" }, { name: "lan1" }, { name: "lan2", latencyMs: 5 }];
const xml = topologyXml(pnodes, lans, vnodes);
const settings = { mode: "vxlan", underlaySubstrate: "underlay", port: 4789, innerMtu: 1500 } as const;

describe("extractLanTopology", () => {
  test("reads the LANs' members and their pnodes only, with every substrate name", () => {
    const result = extractLanTopology(xml, "topo.xml", new Set(["lan0"]));
    expect(result.partial).toBe(true);
    expect(result.errors).toEqual([]);
    expect(result.topology?.elements.map((element) => element.name).sort()).toEqual(["a", "b", "p1", "p2"]);
    expect(result.substrateNames).toEqual(["underlay", "lan0", "lan1", "lan2"]);
  });

  test("the tunnels of a pnode's LANs are the same from the fast path as from the whole document", () => {
    const whole = parseTopology(xml, "topo.xml");
    const everyone = experimentTunnels(resolveNodes(whole), settings, whole.substrates.map((substrate) => substrate.name));
    const part = lanNodesFromDocument(xml, "topo.xml", new Set(["lan0", "lan1"]));
    const some = experimentTunnels(part.nodes, settings, part.substrateNames);
    expect(part.partial).toBe(true);
    for (const lan of ["lan0", "lan1"]) expect(some.lans.get(lan)).toEqual(everyone.lans.get(lan));
    expect(some.underlay.get("p3")).toBe("172.30.0.3");
  });

  test("comments and Containers partitions are read by the fast path too, with the same answer", () => {
    for (const variant of [xml.replace("<version>", "<!-- a comment --><version>"), xml.replace("benito:host</attribute><value>p4", "containers:partition</attribute><value>4</value></attribute><attribute><attribute>benito:host</attribute><value>p4")]) {
      const result = extractLanTopology(variant, "topo.xml", new Set(["lan0"]));
      expect(result.partial).toBe(true);
      expect(result.errors).toEqual([]);
      expect(result.topology?.elements.map((element) => element.name).sort()).toEqual(["a", "b", "p1", "p2"]);
      expect(result.substrateNames).toEqual(["underlay", "lan0", "lan1", "lan2"]);
    }
  });

  test("a problem in the parts read is an input error naming the line", () => {
    try {
      lanNodesFromDocument(xml.replace("02:00:00:00:00:02", "02:zz"), "topo.xml", new Set(["lan0"]));
      throw new Error("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).details.join("\n")).toMatch(/^topo\.xml:\d+: .*"02:zz" is not a MAC address/);
    }
  });
});
