// `benito link`'s pure parts: which wirefilter is whose, overrides set and reset per LAN and member, the commands sent, showinfo read back.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { hostViewFromDocument } from "../../src/model/host-view";
import { effectiveParams, kernelCommands, overriddenNames, shapedMembers, wirefilterCommands, withReset, withSet, type KernelShaper, type LinkOverrides } from "../../src/plan/link-plan";
import { switchLayout } from "../../src/plan/switch-plan";
import { parseShowinfo } from "../../src/system/wirefilter";

const topo = resolve(import.meta.dir, "../../examples/lab/topo.xml");
const { view } = hostViewFromDocument(readFileSync(topo), topo, "pnode0");
const members = shapedMembers(view, switchLayout(view, "/run/benito-test"));
const none: LinkOverrides = { lans: {} };

describe("link plan", () => {
  test("the example lab's shaped members: d and e on slow, each with its port's wirefilter and the topology's values", () => {
    expect(members.map((member) => [member.lan, member.node, member.iface, member.port])).toEqual([
      ["slow", "d", "inf001", 1],
      ["slow", "e", "inf000", 2],
    ]);
    const shaper = members[0]?.shaper;
    if (shaper?.kind !== "wirefilter") throw new Error("d's member is not a wirefilter");
    expect(shaper.spec.id).toMatch(/^wf-slow-[0-9a-f]{8}-1$/);
    expect(shaper.spec.mgmt).toBe(`/run/benito-test/vde/${shaper.spec.id}.mgmt`);
    expect(members[0]?.topology).toEqual({ latencyMs: 20, jitterMs: 0, lossPercent: 0, capacityKbps: 10000 });
  });

  test("set changes only the parameters named; a LAN-wide set replaces the members' own values of those; reset undoes", () => {
    const [d, e] = members;
    if (d === undefined || e === undefined) throw new Error("no members");
    const own = withSet(none, "slow", "d", { lossPercent: 5, latencyMs: 30 });
    expect(effectiveParams(d, own)).toEqual({ latencyMs: 30, jitterMs: 0, lossPercent: 5, capacityKbps: 10000 });
    expect(effectiveParams(e, own)).toEqual(e.topology);
    const wide = withSet(own, "slow", undefined, { latencyMs: 100 });
    expect(effectiveParams(d, wide)).toMatchObject({ latencyMs: 100, lossPercent: 5 });
    expect(effectiveParams(e, wide)).toMatchObject({ latencyMs: 100, lossPercent: 0 });
    expect(overriddenNames(d, wide)).toEqual(["latencyMs", "lossPercent"]);
    expect(overriddenNames(e, wide)).toEqual(["latencyMs"]);
    const memberReset = withReset(wide, "slow", "d");
    expect(effectiveParams(d, memberReset)).toMatchObject({ latencyMs: 100, lossPercent: 0 });
    expect(withReset(wide, "slow", undefined)).toEqual(none);
    expect(withReset(wide, undefined, undefined)).toEqual(none);
  });

  test("wirefilter commands: delay and loss member→LAN, bandwidth in bytes/s both ways, only what was named", () => {
    const params = { latencyMs: 40, jitterMs: 5, lossPercent: 2.5, capacityKbps: 10000 };
    expect(wirefilterCommands(params, ["latencyMs"])).toEqual(["delay LR 40+5"]);
    expect(wirefilterCommands({ ...params, jitterMs: 0 }, ["latencyMs", "lossPercent", "capacityKbps"])).toEqual(["bandwidth 1250000", "delay LR 40", "loss LR 2.5"]);
  });

  test("showinfo is read back in the same units (wirefilter prints bandwidth as 1.25e+06 bytes/s)", () => {
    const lines = [
      "WireFilter: bidirectional",
      "Loss   L->R 2.5+0U   R->L 0+0U",
      "Delay  L->R 40+5U   R->L 0+0U",
      "Bandw  L->R 1.25e+06+0U   R->L 1.25e+06+0U",
    ];
    expect(parseShowinfo(lines)).toEqual({ latencyMs: 40, jitterMs: 5, lossPercent: 2.5, capacityKbps: 10000 });
    expect(parseShowinfo(["Port 1 untagged_vlan=0 ACTIVE"])).toBeUndefined();
  });

  test("kernel datapath: capacity by tbf on the veth's host end and the IFB; netem takes every parameter; without netem only capacity", () => {
    const tbfOnly: KernelShaper = { kind: "kernel", hostEnd: "bkvhost", ifb: "bkiifb", netem: false };
    const params = { latencyMs: 40, jitterMs: 5, lossPercent: 2.5, capacityKbps: 1000 };
    expect(kernelCommands(tbfOnly, params, ["capacityKbps"])).toEqual([
      ["tc", "qdisc", "change", "dev", "bkvhost", "root", "tbf", "rate", "1000kbit", "burst", "6056", "latency", "50ms"],
      ["tc", "qdisc", "change", "dev", "bkiifb", "root", "tbf", "rate", "1000kbit", "burst", "6056", "latency", "50ms"],
    ]);
    expect(kernelCommands(tbfOnly, params, ["latencyMs"])).toMatchObject({ refused: expect.stringContaining("only --capacity can change live") });
    expect(kernelCommands(tbfOnly, { ...params, capacityKbps: 0 }, ["capacityKbps"])).toMatchObject({ refused: expect.stringContaining("cannot be set live") });
    const withNetem: KernelShaper = { ...tbfOnly, netem: true };
    expect(kernelCommands(withNetem, params, ["latencyMs"])).toEqual([["tc", "qdisc", "change", "dev", "bkiifb", "root", "netem", "delay", "40ms", "5ms", "loss", "2.5%", "rate", "1000kbit", "limit", "10000"]]);
  });
});
