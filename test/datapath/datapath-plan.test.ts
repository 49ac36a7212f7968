// The datapath decision (topology + site.conf, never a probe) and the kernel datapath's plan for a member, against golden output.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { checkDatapathSettings } from "../../src/config/datapath-conf";
import { parseSiteConf } from "../../src/config/site-conf";
import type { Lan, Node } from "../../src/model/node";
import { decideDatapaths, kernelBridgeName, kernelIfbName, kernelMemberSteps, kernelPortName, type LanDatapath } from "../../src/plan/datapath-plan";
import { renderStep } from "../../src/plan/step";
import { processPlatform } from "../../src/platforms/process";

const node = (name: string, nodeType: string, host: string, lans: string[]): Node => ({
  name,
  localnames: [],
  nodeType,
  host,
  interfaces: lans.map((substrate, index) => ({ name: `inf00${index}`, substrate, control: false, mac: `02:00:00:00:00:0${index}` })),
  attributes: new Map(),
  path: `topology.elements[${name}]`,
  line: 1,
});
const lans = new Map<string, Lan>([
  ["plain", { name: "plain", shaping: {} }],
  ["rate", { name: "rate", shaping: { capacityKbps: 10_000 } }],
  ["slow", { name: "slow", shaping: { latencyMs: 20, capacityKbps: 10_000 } }],
  ["lossy", { name: "lossy", shaping: { loss: 0.01 } }],
  ["pinned", { name: "pinned", shaping: {}, datapath: "vde" }],
  ["mixed", { name: "mixed", shaping: {} }],
  ["wide", { name: "wide", shaping: {} }],
]);
const members = [
  node("a", "process", "p0", ["plain", "rate", "slow", "lossy", "pinned", "mixed", "wide"]),
  node("b", "process", "p0", ["plain", "rate", "slow", "lossy", "pinned"]),
  node("q", "qemu", "p0", ["mixed"]),
  node("far", "process", "p1", ["wide"]),
];
const kernelCapable = (candidate: Node) => candidate.nodeType === "process";
const decide = (text: string) => {
  const { settings, problems } = checkDatapathSettings(parseSiteConf(text, "site.conf"));
  expect(problems).toEqual([]);
  return Object.fromEntries([...decideDatapaths(lans.keys(), lans, members, settings, kernelCapable)].map(([lan, datapath]) => [lan, datapath.kind]));
};

describe("which datapath a LAN uses", () => {
  test("default vde: every LAN on VDE, whatever the LAN", () => {
    expect(Object.values(decide(""))).toEqual(Array(7).fill("vde"));
  });

  test("datapath = kernel: latency/loss stay on VDE without netem = yes; benito:datapath and a VDE-socket platform keep VDE; a LAN spanning pnodes is a kernel one too", () => {
    expect(decide("datapath = kernel\n")).toEqual({ plain: "kernel", rate: "kernel", slow: "vde", lossy: "vde", pinned: "vde", mixed: "vde", wide: "kernel" });
  });

  test("netem = yes moves latency and loss LANs to the kernel datapath too", () => {
    expect(decide("datapath = kernel\nnetem = yes\n")).toMatchObject({ slow: "kernel", lossy: "kernel" });
  });

  test("bad values are problems with their lines", () => {
    const { problems } = checkDatapathSettings(parseSiteConf("datapath = fast\nnetem = maybe\n", "site.conf"));
    expect(problems.map((problem) => `${problem.line}: ${problem.path}: ${problem.message}`)).toEqual(['1: datapath: "fast" is neither "vde" nor "kernel"', '2: netem: "maybe" is neither yes nor no']);
  });

  test("names fit the kernel's 15 bytes and differ per LAN and per NIC", () => {
    for (const name of [kernelBridgeName("a-very-long-substrate-name-indeed"), kernelPortName("node", "inf000"), kernelIfbName("node", "inf000")]) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(15);
    expect(kernelPortName("a", "inf000")).not.toBe(kernelPortName("a", "inf001"));
    expect(kernelBridgeName("lan0")).not.toBe(kernelBridgeName("lan1"));
  });
});

describe("the kernel datapath plan (golden)", () => {
  const golden = (name: string) => readFileSync(resolve(import.meta.dir, "golden", name), "utf8");
  const kernel = (lan: string, netem: boolean): Extract<LanDatapath, { kind: "kernel" }> => ({ kind: "kernel", reason: "test", bridge: kernelBridgeName(lan, "/run/benito"), scope: "/run/benito", shaping: lans.get(lan)?.shaping ?? {}, netem });

  test("a process vnode on an unshaped, a rate-limited and (netem = yes) a delayed LAN", () => {
    const ctx = { runDir: "/run/benito", configDir: "/var/benito/config", benito: "/usr/bin/benito", kvm: false, routeHosts: new Set<string>(), datapaths: new Map([["plain", kernel("plain", false)], ["rate", kernel("rate", false)], ["slow", kernel("slow", true)]]) };
    const plan = processPlatform.plan(node("a", "process", "p0", ["plain", "rate", "slow"]), ctx);
    const stop = processPlatform.stop(node("a", "process", "p0", ["plain", "rate", "slow"]), ctx);
    const text = [`# ${plan.title}`, ...plan.steps.map(renderStep), `# ${stop.title}`, ...stop.steps.map(renderStep)].join("\n") + "\n";
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(resolve(import.meta.dir, "golden", "kernel-member.plan"), text);
    expect(text).toBe(golden("kernel-member.plan"));
  });

  test("a member is two convergent steps (no helper command, so a relaunch keeps a vnode whose veth is there) naming only derived links", () => {
    const steps = kernelMemberSteps({ node: "a", iface: "inf000", lan: "slow", ifname: "inf000", placement: { netns: "bn-a" } }, kernel("slow", true));
    expect(steps.map((step) => step.kind)).toEqual(["kernel.veth", "kernel.shape"]);
    const [veth, shape] = steps;
    expect(veth?.kind === "kernel.veth" ? [veth.name, veth.peer, veth.netns] : []).toEqual([kernelPortName("a", "inf000", "/run/benito"), "inf000", "bn-a"]);
    expect(shape?.kind === "kernel.shape" ? [shape.port, shape.ifb] : []).toEqual([kernelPortName("a", "inf000", "/run/benito"), kernelIfbName("a", "inf000", "/run/benito")]);
  });
});
