// The boot, status and down plans per role: which benito commands, in which order, depending on what.
import { describe, expect, test } from "bun:test";
import type { HostView, Node, NodeInterface } from "../../src/model/node";
import { planBoot, planDown, planStatus, stageCommandLine, type BootContext } from "../../src/plan/boot-plan";

function node(name: string, nodeType: string, host?: string, control = false): Node {
  const interfaces: NodeInterface[] = control ? [{ name: "control", substrate: "control_net", control: true }] : [];
  return { name, localnames: [], nodeType, ...(host ? { host } : {}), interfaces, attributes: new Map(), path: "elements[0]", line: 1 };
}

function view(self: Node, children: Node[] = []): HostView {
  return { self, children, lans: new Map() };
}

const ctx: BootContext = { configDir: "/cfg", runDir: "/run/b", hasRouteFile: true, hasHostsFile: false };
const ids = (stages: readonly { id: string }[]) => stages.map((stage) => stage.id);

describe("boot plan", () => {
  test("a vnode configures itself: interfaces, then routes", () => {
    const plan = planBoot(view(node("n1", "qemu")), ctx);
    expect(plan.role).toBe("node");
    expect(plan.stages.map(stageCommandLine)).toEqual(["benito ifaces --state-dir /run/b /cfg n1", "benito routes /cfg n1"]);
  });

  test("no route file, no routes stage; a hosts file adds --hosts", () => {
    const plan = planBoot(view(node("n1", "embedded_pnode")), { ...ctx, hasRouteFile: false, hasHostsFile: true });
    expect(plan.stages.map(stageCommandLine)).toEqual(["benito ifaces --hosts --state-dir /run/b /cfg n1"]);
  });

  test("a pnode: own network, switches, then every child in one parallel group after the switches", () => {
    const plan = planBoot(view(node("p", "pnode"), [node("a", "process", "p"), node("b", "qemu", "p")]), ctx);
    expect(plan.role).toBe("pnode");
    expect(ids(plan.stages)).toEqual(["ifaces", "routes", "switch", "child:a", "child:b"]);
    for (const child of plan.stages.slice(3)) {
      expect(child.group).toBe("children");
      expect(child.after).toEqual(["switch"]);
      expect(child.converge?.healthy).toEqual(["status", child.id.slice("child:".length), "/cfg", "--run-dir", "/run/b"]);
    }
  });

  test("a vnode the ledger holds that the topology no longer has is stopped before the children launch", () => {
    const plan = planBoot(view(node("p", "pnode"), [node("a", "process", "p")]), { ...ctx, recordedVnodes: ["a", "old"] });
    expect(ids(plan.stages)).toEqual(["ifaces", "routes", "switch", "remove:old", "child:a"]);
    expect(plan.stages.find((stage) => stage.id === "remove:old")?.args.slice(0, 2)).toEqual(["stop", "old"]);
  });

  test("children with control NICs bring the control allocation and bridge before them", () => {
    const plan = planBoot(view(node("p", "pnode"), [node("vm", "qemu", "p", true)]), ctx);
    expect(ids(plan.stages)).toEqual(["ifaces", "routes", "switch", "control-net", "control-bridge", "child:vm"]);
    expect(plan.stages.at(-1)?.after).toEqual(["switch", "control-net"]);
  });

  test("a control bridge the ledger holds that no child needs any more is taken down (after the removed VMs), and status looks at it", () => {
    const recorded = { ...ctx, recordedVnodes: ["vm"], hasControlBridgeRecord: true };
    const plan = planBoot(view(node("p", "pnode"), [node("a", "process", "p")]), recorded);
    expect(ids(plan.stages)).toEqual(["ifaces", "routes", "switch", "remove:vm", "control-bridge", "child:a"]);
    expect(plan.stages.find((stage) => stage.id === "control-bridge")).toMatchObject({ args: ["down", "--run-dir", "/run/b"], after: ["remove:vm"] });
    expect(ids(planStatus(view(node("p", "pnode"), [node("a", "process", "p")]), recorded).stages)).toEqual(["switch", "control-bridge", "status:a"]);
    expect(ids(planBoot(view(node("p", "pnode"), [node("a", "process", "p")]), ctx).stages)).not.toContain("control-bridge");
  });
});

describe("status and down plans", () => {
  test("down is the reverse: the children the ledger holds first, control bridge, switches, then own routes and addresses", () => {
    // "gone" was launched earlier and is no longer in the topology; "vm" is in it but was never launched.
    const plan = planDown(view(node("p", "pnode"), [node("a", "process", "p"), node("vm", "qemu", "p", true)]), { ...ctx, recordedVnodes: ["a", "gone"] });
    expect(ids(plan.stages)).toEqual(["stop:a", "stop:gone", "control-bridge", "switch", "routes", "ifaces"]);
    expect(plan.stages.find((stage) => stage.id === "routes")?.args).toContain("--remove-all");
    expect(plan.stages.find((stage) => stage.id === "ifaces")?.args).toContain("--remove-all");
  });

  test("a vnode's down removes only its own routes and addresses", () => {
    expect(ids(planDown(view(node("n1", "qemu")), ctx).stages)).toEqual(["routes", "ifaces"]);
  });

  test("status of a pnode looks at switches, control bridge and every child", () => {
    const plan = planStatus(view(node("p", "pnode"), [node("a", "process", "p"), node("vm", "qemu", "p", true)]), ctx);
    expect(ids(plan.stages)).toEqual(["switch", "control-bridge", "status:a", "status:vm"]);
  });
});
