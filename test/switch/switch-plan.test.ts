// switchLayout / planSwitchUp on hand-built host views: which daemons, which flags, which actions.
import { describe, expect, test } from "bun:test";
import type { HostView, Lan, Node, NodeInterface, Shaping } from "../../src/model/node";
import { fingerprint, planSwitchUp, switchLayout, type Observed } from "../../src/plan/switch-plan";
import { InputError } from "../../src/errors";

function iface(name: string, substrate: string, vdeSwitch: string | undefined, vdePort?: number): NodeInterface {
  return { name, substrate, control: false, vdeSwitch, vdePort };
}

function node(name: string, interfaces: NodeInterface[]): Node {
  return { name, localnames: [], nodeType: "process", host: "pn", interfaces, attributes: new Map(), path: `elements[${name}]`, line: 1 };
}

function view(children: Node[], lans: Record<string, Shaping>): HostView {
  const self = node("pn", [iface("control", "control_net", undefined)]);
  return { self: { ...self, nodeType: "pnode", host: undefined }, children, lans: new Map(Object.entries(lans).map(([name, shaping]): [string, Lan] => [name, { name, shaping }])) };
}

const run = "/run/benito";

describe("switchLayout", () => {
  test("an unshaped substrate is one plain switch, shared by its members", () => {
    const layout = switchLayout(view([node("a", [iface("inf000", "lan0", "/s/lan0", 1)]), node("b", [iface("inf000", "lan0", "/s/lan0", 2)])], { lan0: {} }), run);
    expect(layout.daemons).toHaveLength(1);
    const [only] = layout.daemons;
    expect(only?.role).toBe("switch");
    expect(only?.argv).toEqual(["vde_switch", "-s", "/s/lan0", "-M", `${run}/vde/${only?.id}.mgmt`, "-d", "-p", `${run}/vde/${only?.id}.pid`, "-n", "32"]);
    expect(only?.rc).toBeUndefined();
  });

  test("a shaped substrate: member VLANs, a core switch, one wirefilter per member shaping member→LAN", () => {
    const layout = switchLayout(
      view([node("c", [iface("inf000", "slow", "/s/slow", 1)]), node("d", [iface("inf000", "slow", "/s/slow", 3)])], { slow: { latencyMs: 100, loss: 0.5, capacityKbps: 8000 } }),
      run,
    );
    expect(layout.daemons.map((daemon) => daemon.role)).toEqual(["switch", "core", "wirefilter", "wirefilter"]);
    const [lan, core, first, second] = layout.daemons;
    // Member ports 1 and 3; uplinks 1+3 and 3+3, each in its member's VLAN.
    expect(lan?.rc?.content).toBe(
      ["vlan/create 1", "port/create 1", "port/setvlan 1 1", "port/create 4", "port/setvlan 4 1", "vlan/create 3", "port/create 3", "port/setvlan 3 3", "port/create 6", "port/setvlan 6 3", ""].join("\n"),
    );
    expect(lan?.argv).toContain("-f");
    expect(core?.sockDir).toBe(`${run}/vde/core-${lan?.id}`);
    expect(first?.argv).toEqual(["wirefilter", "-v", `/s/slow[4]:${core?.sockDir}`, "-d", "LR100", "-l", "LR50", "-b", "1000000", "-M", `${run}/vde/wf-${lan?.id}-1.mgmt`, "--daemon", "--pidfile", `${run}/vde/wf-${lan?.id}-1.pid`]);
    expect(second?.argv[2]).toBe(`/s/slow[6]:${core?.sockDir}`);
    expect(first?.joins).toEqual([lan?.id ?? "", core?.id ?? ""]);
  });

  test("problems are input errors, all listed", () => {
    const bad = view(
      [
        node("a", [iface("inf000", "slow", "/s/slow", undefined)]),
        node("b", [iface("inf000", "slow", "/s/slow", 1), iface("inf001", "flat", "/s/slow", 2)]),
        node("c", [iface("inf000", "flat", "relative/path", 1), iface("inf001", "flat2", "/s/dup", 1)]),
        node("d", [iface("inf000", "flat2", "/s/dup", 1)]),
      ],
      { slow: { latencyMs: 10 }, flat: {}, flat2: {} },
    );
    let error: unknown;
    try {
      switchLayout(bad, run);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    const details = (error as InputError).details.join("\n");
    expect(details).toContain("switch /s/slow");
    expect(details).toContain("a shaped substrate needs a switch of its own");
    expect(details).toContain("must be absolute");
    expect(details).toContain("port 1 is used twice");
  });
});

describe("planSwitchUp", () => {
  const layout = switchLayout(view([node("c", [iface("inf000", "slow", "/s/slow", 1)]), node("d", [iface("inf000", "slow", "/s/slow", 2)])], { slow: { latencyMs: 5 } }), run);
  const running = (id: string, overrides: Partial<Observed> = {}): Observed => {
    const spec = layout.daemons.find((daemon) => daemon.id === id);
    return { id, program: spec?.program ?? "", fingerprint: spec ? fingerprint(spec) : "", pid: 100, alive: true, role: spec?.role ?? "switch", summary: spec?.summary ?? id, ...overrides };
  };

  test("nothing running: everything starts, switches first", () => {
    const actions = planSwitchUp(layout, []);
    expect(actions.map((step) => step.action)).toEqual(["start", "start", "start", "start"]);
    expect(actions.map((step) => step.spec?.role)).toEqual(["switch", "core", "wirefilter", "wirefilter"]);
  });

  test("everything running as wanted: a no-op (all kept)", () => {
    const actions = planSwitchUp(layout, layout.daemons.map((daemon) => running(daemon.id)));
    expect(actions.every((step) => step.action === "keep")).toBe(true);
  });

  test("a dead switch is started again and the wirefilters joined to it restart; a changed one restarts", () => {
    const [lan, core, wf1, wf2] = layout.daemons.map((daemon) => daemon.id) as [string, string, string, string];
    const actions = planSwitchUp(layout, [running(lan, { alive: false }), running(core), running(wf1, { fingerprint: "old" }), running(wf2)]);
    expect(actions.map((step) => [step.action, step.reason])).toEqual([
      ["start", "dead (pid 100 is gone)"],
      ["keep", "running as configured"],
      ["restart", "configuration changed"],
      ["restart", `switch ${lan} was (re)started`],
    ]);
  });

  test("daemons no longer in the topology are stopped first, wirefilters before switches", () => {
    const gone: Observed[] = [
      { id: "old-switch", program: "vde_switch", fingerprint: "x", pid: 5, alive: true, role: "switch", summary: "old switch" },
      { id: "old-wf", program: "wirefilter", fingerprint: "x", pid: 6, alive: true, role: "wirefilter", summary: "old wirefilter" },
    ];
    const actions = planSwitchUp(layout, gone);
    expect(actions.slice(0, 2).map((step) => [step.action, step.id])).toEqual([
      ["stop", "old-wf"],
      ["stop", "old-switch"],
    ]);
  });
});
