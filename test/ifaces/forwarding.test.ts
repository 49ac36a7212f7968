// A node with two or more experimental interfaces is a router: benito ifaces turns IPv4 forwarding on (never off).
import { describe, expect, test } from "bun:test";
import type { HostView, NodeInterface } from "../../src/model/node";
import { planIfaces } from "../../src/plan/ifaces-plan";
import { renderIfaceScript } from "../../src/plan/ifaces-render";

function view(interfaces: NodeInterface[]): HostView {
  return { self: { name: "r", localnames: [], nodeType: "", interfaces, attributes: new Map(), path: "elements[0]", line: 1 }, children: [], lans: new Map() };
}

const lan0: NodeInterface = { name: "inf000", substrate: "lan0", control: false, ip4: { address: "10.0.1.254", prefixLength: 24 }, mac: "02:00:00:00:00:01" };
const lan1: NodeInterface = { name: "inf001", substrate: "lan1", control: false, ip4: { address: "10.0.2.254", prefixLength: 24 }, mac: "02:00:00:00:00:02" };
const control: NodeInterface = { name: "control", substrate: "control_net", control: true, ip4: { address: "192.168.0.5", prefixLength: 24 } };

describe("ifaces forwarding", () => {
  test("two experimental interfaces with addresses and forwarding off: enable, and the dry run says so", () => {
    const plan = planIfaces(view([lan0, lan1]), [], [], [], false);
    expect(plan.forwarding).toBe("enable");
    expect(renderIfaceScript(plan, "t")).toContain("echo 1 > /proc/sys/net/ipv4/ip_forward");
  });

  test("already on: nothing to do", () => {
    expect(planIfaces(view([lan0, lan1]), [], [], [], true).forwarding).toBe("on");
  });

  test("one experimental interface (the control interface does not count) is not a router", () => {
    const plan = planIfaces(view([lan0, control]), [], [], [], false);
    expect(plan.forwarding).toBe("not-a-router");
    expect(renderIfaceScript(plan, "t")).not.toContain("ip_forward");
  });
});
