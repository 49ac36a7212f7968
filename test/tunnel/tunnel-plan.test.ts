// Tunnel settings, spanning LANs, per-pnode tunnel layouts and `switch up` actions, on hand-built nodes.
import { describe, expect, test } from "bun:test";
import { parseSiteConf } from "../../src/config/site-conf";
import { tunnelSettings, type TunnelSettings } from "../../src/config/tunnel-conf";
import { InputError } from "../../src/errors";
import type { HostView, Lan, Node, NodeInterface, Shaping } from "../../src/model/node";
import { switchLayout } from "../../src/plan/switch-plan";
import { experimentTunnels, planTunnelUp, renderTunnelPlan, tunnelFingerprint, tunnelLayout, vniBase, type TunnelSpec } from "../../src/plan/tunnel-plan";

const run = "/run/benito";
const vxlan: TunnelSettings = { mode: "vxlan", underlaySubstrate: "underlay", port: 4789, innerMtu: 1500 };

function member(name: string, substrate: string, vdeSwitch: string, vdePort: number): NodeInterface {
  return { name, substrate, control: false, vdeSwitch, vdePort };
}

function vnode(name: string, host: string, interfaces: NodeInterface[]): Node {
  return { name, localnames: [], nodeType: "process", host, interfaces, attributes: new Map(), path: `elements[${name}]`, line: 1 };
}

function pnode(name: string, underlay: string | undefined, nics: NodeInterface[] = []): Node {
  const own: NodeInterface[] = underlay === undefined ? [] : [{ name: "under0", substrate: "underlay", control: false, ip4: { address: underlay, prefixLength: 24 } }];
  return { name, localnames: [], nodeType: "pnode", interfaces: [...own, ...nics], attributes: new Map(), path: `elements[${name}]`, line: 1 };
}

/** Three pnodes: lan0 (plain) on all three, slow (shaped) on p1 and p2, solo only on p3. */
function experimentNodes(): Node[] {
  return [
    pnode("p1", "172.31.0.1"),
    pnode("p2", "172.31.0.2"),
    pnode("p3", "172.31.0.3"),
    vnode("a", "p1", [member("inf000", "lan0", "/s/lan0", 1), member("inf001", "slow", "/s/slow", 1)]),
    vnode("b", "p2", [member("inf000", "lan0", "/s/lan0", 1), member("inf001", "slow", "/s/slow", 1)]),
    vnode("c", "p3", [member("inf000", "lan0", "/s/lan0", 1), member("inf001", "solo", "/s/solo", 1)]),
    vnode("d", "p3", [member("inf000", "solo", "/s/solo", 2)]),
  ];
}

/** Every substrate the nodes use (what the document's substrate list would hold). */
function names(nodes: readonly Node[]): string[] {
  return [...new Set(nodes.flatMap((node) => node.interfaces.map((iface) => iface.substrate)))];
}

const shaping: Record<string, Shaping> = { lan0: {}, slow: { latencyMs: 20 }, solo: {}, underlay: {} };

function viewOf(nodes: readonly Node[], host: string): HostView {
  const self = nodes.find((node) => node.name === host) as Node;
  return { self, children: nodes.filter((node) => node.host === host), lans: new Map(Object.entries(shaping).map(([name, value]): [string, Lan] => [name, { name, shaping: value }])) };
}

function layoutFor(nodes: readonly Node[], host: string, settings: TunnelSettings = vxlan): TunnelSpec[] {
  const view = viewOf(nodes, host);
  return tunnelLayout(view, experimentTunnels(nodes, settings, names(nodes)), switchLayout(view, run), settings, run, "/usr/bin/benito");
}

describe("tunnelSettings", () => {
  test("defaults: vxlan over control_net, port 4789, inner MTU 1500, head-end replication", () => {
    expect(tunnelSettings(parseSiteConf("", "site.conf"))).toEqual({ mode: "vxlan", underlaySubstrate: "control_net", port: 4789, innerMtu: 1500 });
  });

  test("every key read; bad values listed with their lines", () => {
    expect(tunnelSettings(parseSiteConf("[benito]\ntunnel_mode = LAN\nunderlay_substrate = fabric\ntunnel_group = 239.1.1.1\ntunnel_port = 8472\ntunnel_mtu = 1450\n", "s"))).toEqual({
      mode: "lan",
      underlaySubstrate: "fabric",
      group: "239.1.1.1",
      port: 8472,
      innerMtu: 1450,
    });
    try {
      tunnelSettings(parseSiteConf("tunnel_mode = gre\ntunnel_group = 10.0.0.1\ntunnel_port = 0\ntunnel_mtu = big\n", "site.conf"));
      throw new Error("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      const details = (error as InputError).details.join("\n");
      expect(details).toContain('site.conf:1: tunnel_mode: "gre"');
      expect(details).toContain("site.conf:2: tunnel_group");
      expect(details).toContain("site.conf:3: tunnel_port");
      expect(details).toContain("site.conf:4: tunnel_mtu");
    }
  });
});

describe("experimentTunnels", () => {
  test("only LANs with members on two or more pnodes span; VNIs are stable, distinct and from the base up", () => {
    const experiment = experimentTunnels(experimentNodes(), vxlan, names(experimentNodes()));
    expect([...experiment.lans.keys()]).toEqual(["lan0", "slow"]);
    expect(experiment.lans.get("lan0")?.pnodes).toEqual(["p1", "p2", "p3"]);
    expect(experiment.lans.get("slow")?.pnodes).toEqual(["p1", "p2"]);
    const vnis = [...experiment.lans.values()].map((lan) => lan.vni);
    expect(new Set(vnis).size).toBe(2);
    for (const vni of vnis) expect(vni).toBeGreaterThanOrEqual(vniBase);
    // The same topology in another order gives the same numbers: every pnode agrees.
    const again = experimentTunnels([...experimentNodes()].reverse(), vxlan, names(experimentNodes()).reverse());
    expect([...again.lans.values()].map((lan) => lan.vni).sort()).toEqual([...vnis].sort());
    expect(experiment.underlay.get("p2")).toBe("172.31.0.2");
  });

  test("colliding hashes are probed apart in name order", () => {
    // Many LANs on two pnodes: whatever the hash does, every VNI is distinct.
    const nodes: Node[] = [pnode("p1", "10.0.0.1"), pnode("p2", "10.0.0.2")];
    for (let index = 0; index < 3000; index += 1) {
      nodes.push(vnode(`x${index}`, "p1", [member("i", `lan${index}`, `/s/lan${index}`, 1)]), vnode(`y${index}`, "p2", [member("i", `lan${index}`, `/s/lan${index}`, 1)]));
    }
    const vnis = [...experimentTunnels(nodes, vxlan, names(nodes)).lans.values()].map((lan) => lan.vni);
    expect(vnis).toHaveLength(3000);
    expect(new Set(vnis).size).toBe(3000);
  });
});

describe("tunnelLayout", () => {
  test("vxlan: one tunnel per spanning LAN, flooding to the peers; the plain LAN's switch on its spare top port", () => {
    const nodes = experimentNodes();
    const specs = layoutFor(nodes, "p1");
    expect(specs.map((spec) => spec.substrate).sort()).toEqual(["lan0", "slow"]);
    const lan0 = specs.find((spec) => spec.substrate === "lan0") as TunnelSpec;
    expect(lan0.local).toBe("172.31.0.1");
    expect(lan0.remotes).toEqual(["172.31.0.2", "172.31.0.3"]);
    expect(lan0.links).toEqual({ bridge: `bnb${lan0.id}`, tap: `bnt${lan0.id}`, vxlan: `bnx${lan0.id}` });
    expect(lan0.switchDir).toBe("/s/lan0");
    expect(lan0.switchPort).toBe(31);
    expect(lan0.plug?.argv).toEqual(["/usr/bin/benito", "vde", "plug", "--switch", "/s/lan0", "--port", "31", "--tap", `bnt${lan0.id}`, "--reconnect", "--daemon", "--pidfile", `${run}/tunnel/${lan0.id}.plug.pid`]);
    for (const name of Object.values(lan0.links)) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(15);
  });

  test("a kernel LAN (no switch attributes needed): its VXLAN link joins the LAN's bridge straight; no TAP, bridge or plug of its own; the VDE LAN beside it unchanged", () => {
    const nodes = experimentNodes().map((node) => ({ ...node, interfaces: node.interfaces.map((iface) => (iface.substrate === "lan0" ? { name: iface.name, substrate: iface.substrate, control: false } : iface)) }));
    const kernelLans = new Set(["lan0"]);
    const layout = (host: string) => {
      const view = viewOf(nodes, host);
      return tunnelLayout(view, experimentTunnels(nodes, vxlan, names(nodes), kernelLans), switchLayout(view, run, kernelLans), vxlan, run, "/usr/bin/benito", new Map([["lan0", "bkbfeedf00d"]]));
    };
    // Without kernelLans a switchless member is no member: lan0 would span nothing.
    expect([...experimentTunnels(nodes, vxlan, names(nodes)).lans.keys()]).toEqual(["slow"]);
    const specs = layout("p1");
    const lan0 = specs.find((spec) => spec.substrate === "lan0") as TunnelSpec;
    expect(lan0.links).toEqual({ vxlan: `bnx${lan0.id}` });
    expect({ kernelBridge: lan0.kernelBridge, switchId: lan0.switchId, plug: lan0.plug, switchDir: lan0.switchDir, remotes: lan0.remotes }).toEqual({ kernelBridge: "bkbfeedf00d", switchId: "bkbfeedf00d", plug: undefined, switchDir: undefined, remotes: ["172.31.0.2", "172.31.0.3"] });
    expect(renderTunnelPlan(planTunnelUp([lan0], [], [], new Set()))[0]).toContain(`master bkbfeedf00d (the LAN's bridge, mtu 1500)`);
    expect(specs.find((spec) => spec.substrate === "slow")?.plug).toBeDefined();
    // The same VNI on every pnode, so the ends meet.
    expect(layout("p3").find((spec) => spec.substrate === "lan0")?.vni).toBe(lan0.vni);
  });

  test("a shaped LAN's tunnel plugs into its core switch, past the member wirefilters (shaped once per path)", () => {
    const specs = layoutFor(experimentNodes(), "p2");
    const slow = specs.find((spec) => spec.substrate === "slow") as TunnelSpec;
    expect(slow.switchDir).toMatch(new RegExp(`^${run}/vde/core-`));
    expect(slow.switchId.startsWith("core-")).toBe(true);
  });

  test("the two ends of a tunnel agree: same VNI, each floods to the other", () => {
    const nodes = experimentNodes();
    const one = layoutFor(nodes, "p1").find((spec) => spec.substrate === "slow") as TunnelSpec;
    const two = layoutFor(nodes, "p2").find((spec) => spec.substrate === "slow") as TunnelSpec;
    expect(one.vni).toBe(two.vni);
    expect(one.remotes).toEqual([two.local ?? ""]);
    expect(two.remotes).toEqual([one.local ?? ""]);
  });

  test("a LAN on this pnode alone gets no tunnel", () => {
    expect(layoutFor(experimentNodes(), "p3").map((spec) => spec.substrate)).toEqual(["lan0"]);
  });

  test("a multicast group replaces the flood entries", () => {
    const spec = layoutFor(experimentNodes(), "p1", { ...vxlan, group: "239.1.2.3" })[0] as TunnelSpec;
    expect(spec.group).toBe("239.1.2.3");
    expect(spec.remotes).toEqual([]);
    expect(renderTunnelPlan(planTunnelUp([spec], [], [], new Set()))[0]).toContain("group 239.1.2.3");
  });

  test("lan mode bridges the pnode's own NIC on the substrate, found by its MAC", () => {
    const nodes = experimentNodes().map((node) =>
      node.nodeType === "pnode" ? { ...node, interfaces: [...node.interfaces, { name: "eth1", substrate: "lan0", control: false, mac: `02:00:00:00:00:0${node.name.slice(1)}` }, { name: "eth2", substrate: "slow", control: false, ifname: "eth2" }] } : node,
    );
    const specs = layoutFor(nodes, "p1", { ...vxlan, mode: "lan" });
    expect(specs.find((spec) => spec.substrate === "lan0")?.nic).toEqual({ mac: "02:00:00:00:00:01" });
    expect(specs.find((spec) => spec.substrate === "slow")?.nic).toEqual({ ifname: "eth2" });
    expect(specs[0]?.links.vxlan).toBeUndefined();
  });

  test("problems are input errors, all listed: no underlay address, no NIC, one switch carrying two spanning LANs", () => {
    const noAddress = experimentNodes().map((node) => (node.name === "p2" ? pnode("p2", undefined) : node));
    expect(() => layoutFor(noAddress, "p1")).toThrow(InputError);
    try {
      layoutFor(noAddress, "p1");
    } catch (error) {
      expect((error as InputError).details.join("\n")).toContain("p2 has no ip4_address on the underlay substrate underlay");
    }
    try {
      layoutFor(experimentNodes(), "p1", { ...vxlan, mode: "lan" });
      throw new Error("accepted");
    } catch (error) {
      expect((error as InputError).details).toHaveLength(2);
      expect((error as InputError).details[0]).toContain("p1 has no interface on that substrate");
    }
    const shared = [pnode("p1", "10.0.0.1"), pnode("p2", "10.0.0.2"), vnode("a", "p1", [member("i", "x", "/s/one", 1), member("j", "y", "/s/one", 2)]), vnode("b", "p2", [member("i", "x", "/s/one", 1), member("j", "y", "/s/one", 2)])];
    try {
      layoutFor(shared, "p1");
      throw new Error("accepted");
    } catch (error) {
      expect((error as InputError).details.join("\n")).toContain("would loop frames between pnodes");
    }
  });
});

describe("planTunnelUp", () => {
  const specs = layoutFor(experimentNodes(), "p1");
  const healthy = specs.map((spec) => ({ id: spec.id, fingerprint: tunnelFingerprint(spec), summary: spec.summary }));

  test("nothing there: every tunnel starts", () => {
    expect(planTunnelUp(specs, [], [], new Set()).map((step) => step.action)).toEqual(["start", "start"]);
  });

  test("everything as wanted: all kept; a (re)started switch rebuilds its tunnel", () => {
    expect(planTunnelUp(specs, healthy, [], new Set()).map((step) => step.action)).toEqual(["keep", "keep"]);
    const restarted = planTunnelUp(specs, healthy, [], new Set([specs[0]?.switchId ?? ""]));
    expect(restarted.map((step) => step.action)).toEqual(["restart", "keep"]);
    expect(restarted[0]?.reason).toContain("was (re)started");
  });

  test("flood entries that drifted are repaired in place (nothing restarted), unless the switch was restarted", () => {
    const drifted = [{ ...healthy[0]!, forwarding: { link: "bnv1", missing: ["10.9.0.2"], foreign: ["10.9.0.9"] } }, healthy[1]!];
    const actions = planTunnelUp(specs, drifted, [], new Set());
    expect(actions.map((step) => step.action)).toEqual(["repair", "keep"]);
    expect(actions[0]?.reason).toBe("bnv1: forwarding entry 00:00:00:00:00:00 dst 10.9.0.2 missing, bnv1: forwarding entry 00:00:00:00:00:00 dst 10.9.0.9 not recorded (foreign remote)");
    expect(planTunnelUp(specs, drifted, [], new Set([specs[0]?.switchId ?? ""])).map((step) => step.action)).toEqual(["restart", "keep"]);
  });

  test("broken or changed tunnels are rebuilt; unwanted tunnels and stray marked links removed first", () => {
    const observed = [{ ...healthy[0]!, broken: "its plug is not running" }, { ...healthy[1]!, fingerprint: "old" }, { id: "dead", fingerprint: "x", summary: "tunnel gone" }];
    const actions = planTunnelUp(specs, observed, ["bnx1", `bnb${specs[0]?.id}`], new Set());
    expect(actions.map((step) => `${step.action} ${step.id}`)).toEqual(["stop dead", "stop link:bnx1", `restart ${specs[0]?.id}`, `restart ${specs[1]?.id}`]);
    expect(actions[2]?.reason).toBe("its plug is not running");
    expect(actions[3]?.reason).toBe("configuration changed");
  });
});
