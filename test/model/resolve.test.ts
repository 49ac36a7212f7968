// The resolver: nodes and one host's view from benito's own fixtures (attributes, prefixes, partitions, bad values).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { hostViewFromDocument } from "../../src/model/host-view";
import { normalizeMac, resolveHostView, resolveNodes } from "../../src/model/resolve";
import { parseTopology } from "../../src/topdl/parse";

const fixture = (name: string) => resolve(import.meta.dir, "../fixtures/topdl", name);
const load = (name: string) => parseTopology(readFileSync(fixture(name)), name);

describe("resolveNodes", () => {
  const nodes = resolveNodes(load("pnode.xml"));
  const byName = new Map(nodes.map((node) => [node.name, node]));

  test("every computer becomes a node with its type and host (benito: and containers: prefixes alike)", () => {
    expect(nodes.map((node) => [node.name, node.nodeType, node.host])).toEqual([
      ["host0", "pnode", undefined],
      ["vm1", "qemu", "host0"],
      ["p2", "process", "host0"],
      ["other", "embedded_pnode", undefined],
    ]);
  });

  test("interfaces carry IPv4 with prefix length, a normalized MAC, VDE switch and port, ifname", () => {
    expect(byName.get("vm1")!.interfaces).toEqual([
      { name: "inf000", substrate: "lan0", control: false, ip4: { address: "10.0.0.1", prefixLength: 24 }, mac: "02:00:0a:00:00:01", vdeSwitch: "/var/run/benito/lan0", vdePort: 3 },
      { name: "inf001", substrate: "lan1", control: false, ip4: { address: "10.0.1.1", prefixLength: 25 }, ifname: "eth7" },
    ]);
  });

  test("the control_net interface is flagged", () => {
    expect(byName.get("host0")!.interfaces[0]).toMatchObject({ name: "ctl", control: true, ip4: { address: "172.16.0.1", prefixLength: 16 } });
  });

  test("startup is read with its escapes decoded once; attributes keep their keys as written", () => {
    expect(byName.get("vm1")!.startup).toBe("echo up && touch /tmp/<ok>");
    expect(byName.get("p2")!.attributes.get("containers:host")).toBe("host0");
  });

  test("every bad value is reported at once with file, line and path", () => {
    let thrown: unknown;
    try {
      resolveNodes(load("bad-values.xml"));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ exitCode: 3 });
    expect((thrown as { details: string[] }).details).toEqual([
      'bad-values.xml:6: elements[0].computer.interface[0].attribute[0]: "10.0.0.300" is not an IPv4 address',
      'bad-values.xml:11: elements[0].computer.interface[1].attribute[1]: "255.0.255.0" is not a contiguous dotted netmask',
      'bad-values.xml:12: elements[0].computer.interface[1].attribute[2]: "02:00:zz:00:00:01" is not a MAC address (six hex octets)',
      'bad-values.xml:13: elements[0].computer.interface[1].attribute[3]: "three" is not a port number',
    ]);
  });
});

describe("resolveHostView", () => {
  const topology = load("pnode.xml");

  test("a pnode sees itself, the vnodes it hosts, and the LANs with their shaping", () => {
    const view = resolveHostView(topology, "host0");
    expect(view.self.name).toBe("host0");
    expect(view.children.map((child) => child.name)).toEqual(["vm1", "p2"]);
    expect(view.lans.get("lan0")).toEqual({ name: "lan0", shaping: { latencyMs: 20, capacityKbps: 10000, loss: 0.05 } });
    expect(view.lans.get("lan1")).toEqual({ name: "lan1", shaping: {} });
  });

  test("the host is found by localname, and node.eid.pid finds node", () => {
    expect(resolveHostView(topology, "host0.exp.proj").self.name).toBe("host0");
    expect(resolveHostView(topology, "vm1.myexp.myproj").self.name).toBe("vm1");
  });

  test("an unknown host is an InputError listing known names", () => {
    expect(() => resolveHostView(topology, "ghost")).toThrow('no computer named "ghost" (by name or localname); known: host0, vm1, p2, other');
  });

  test("a bad value on another node does not stop this host; a bad loss on its own LAN does", () => {
    const bad = load("bad-values.xml");
    expect(() => resolveHostView(bad, "b")).toThrow(expect.objectContaining({ details: ['bad-values.xml:3: substrates[0].attribute[0]: loss "5" is not a fraction between 0 and 1'] }));
  });

  test("Containers partitions: a vnode's host is the pnode of its partition, else pnode-NNNN", () => {
    const partitioned = load("partition.xml");
    const nodes = resolveNodes(partitioned);
    expect(nodes.map((node) => [node.name, node.host])).toEqual([
      ["pnode-0000", undefined],
      ["phys", undefined],
      ["a", "pnode-0000"],
      ["b", "phys"],
      // An embedded pnode is a physical host itself, whatever its partition.
      ["server", undefined],
    ]);
    expect(resolveHostView(partitioned, "phys").children.map((child) => child.name)).toEqual(["b"]);
  });
});

describe("hostViewFromDocument", () => {
  test("gives the same view as parsing the whole document", () => {
    const bytes = readFileSync(fixture("pnode.xml"));
    for (const host of ["host0", "vm1", "p2", "other", "host0.exp.proj"]) {
      const fast = hostViewFromDocument(bytes, "pnode.xml", host);
      const whole = resolveHostView(parseTopology(bytes, "pnode.xml"), host);
      expect(fast.view.self).toEqual(whole.self);
      expect(fast.view.children).toEqual(whole.children);
    }
  });
});

describe("normalizeMac", () => {
  test("accepts colon, dash, dotted and bare forms; refuses the rest", () => {
    for (const text of ["02:00:0A:00:00:01", "2:0:a:0:0:1", "02-00-0a-00-00-01", "0200.0a00.0001", "02000a000001", " 02:00:0a:00:00:01 "]) {
      expect(normalizeMac(text)).toBe("02:00:0a:00:00:01");
    }
    for (const text of ["02:00:0a:00:00", "02:00-0a:00:00:01", "zz:00:0a:00:00:01", "", "02:00:0a:00:00:01:02"]) expect(normalizeMac(text)).toBeUndefined();
  });
});
