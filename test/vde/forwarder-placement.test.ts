// Where the forwarder pool puts a port (src/plan/forwarder-placement.ts, pure): the decision the apply step makes, and the dry run's move lines against golden output.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { countPort, emptyCounts, forwarderMoves, placePort, renderSteps, type PoolCounts, type PoolView, type RecordedPort } from "../../src/plan/forwarder-placement";
import { processPlatform } from "../../src/platforms/process";
import type { Step } from "../../src/plan/step";
import { nic, node, testContext } from "../platforms/nodes";

/** Counts of recorded ports given as [shard, switch] pairs. */
function counted(ports: readonly (readonly [number, string])[]): PoolCounts {
  const counts = emptyCounts(2);
  for (const [shard, key] of ports) countPort(counts, shard, key, 1);
  return counts;
}

/** A view of a two-member pool: the plan's recorded ports by id, the other ports counted too. */
function view(recorded: ReadonlyMap<string, RecordedPort>, others: readonly (readonly [number, string])[], running: readonly boolean[] = [true, true]): PoolView {
  return { size: 2, counts: counted([...others, ...[...recorded.values()].map((port) => [port.shard, port.switchKey] as const)]), ports: recorded, running, switchKeys: new Map() };
}

const portStep = (port: string, switchDir: string): Step => ({ kind: "forwarder.port", id: `port-${port}`, runDir: "/run/benito", port, tap: port, switchDir, switchPort: 0, owner: "test" });

describe("placePort: a switch's ports on one pool member", () => {
  test("a new port joins its switch's holder, else the least loaded member (the lowest on a tie)", () => {
    expect(placePort(counted([[1, "/sw/a"]]), 2, undefined, "/sw/a")).toEqual({ kind: "add", shard: 1 });
    expect(placePort(counted([[0, "/sw/a"], [0, "/sw/b"]]), 2, undefined, "/sw/c")).toEqual({ kind: "add", shard: 1 });
    expect(placePort(counted([]), 2, undefined, "/sw/c")).toEqual({ kind: "add", shard: 0 });
    // A pool of one (a process pinned to one CPU) puts a new switch's port on member 0, a known switch's on its holder.
    expect(placePort(counted([[0, "/sw/a"], [1, "/sw/b"]]), 1, undefined, "/sw/c")).toEqual({ kind: "add", shard: 0 });
    expect(placePort(counted([[0, "/sw/a"], [1, "/sw/b"]]), 1, undefined, "/sw/b")).toEqual({ kind: "add", shard: 1 });
  });

  test("a recorded port stays unless its switch changed or its switch's ports are held elsewhere", () => {
    expect(placePort(counted([[1, "/sw/a"], [1, "/sw/a"]]), 2, { shard: 1, switchKey: "/sw/a" }, "/sw/a")).toEqual({ kind: "keep", shard: 1 });
    // Split 2 : 1 by an older placement: the lone port joins the two.
    expect(placePort(counted([[0, "/sw/a"], [0, "/sw/a"], [1, "/sw/a"]]), 2, { shard: 1, switchKey: "/sw/a" }, "/sw/a")).toEqual({ kind: "move", from: 1, to: 0, why: "lan" });
    // Split 1 : 1: the lowest member holds the switch.
    expect(placePort(counted([[0, "/sw/a"], [1, "/sw/a"]]), 2, { shard: 1, switchKey: "/sw/a" }, "/sw/a")).toEqual({ kind: "move", from: 1, to: 0, why: "lan" });
    // Moved to another LAN: to that switch's member, or (a switch with no port yet) the least loaded once it left.
    expect(placePort(counted([[0, "/sw/a"], [1, "/sw/b"]]), 2, { shard: 0, switchKey: "/sw/a" }, "/sw/b")).toEqual({ kind: "move", from: 0, to: 1, why: "switch" });
    expect(placePort(counted([[0, "/sw/a"], [1, "/sw/b"], [1, "/sw/b"]]), 2, { shard: 0, switchKey: "/sw/a" }, "/sw/c")).toEqual({ kind: "move", from: 0, to: 0, why: "switch" });
  });

  test("the counts are not changed by a decision", () => {
    const counts = counted([[0, "/sw/a"], [1, "/sw/a"]]);
    const before = JSON.stringify([counts.loads, [...counts.bySwitch]]);
    placePort(counts, 2, { shard: 1, switchKey: "/sw/a" }, "/sw/a");
    expect(JSON.stringify([counts.loads, [...counts.bySwitch]])).toBe(before);
  });
});

describe("forwarderMoves: the dry run's moves, decided in plan order", () => {
  test("a port leaving a LAN makes the LAN's holder the other member: a later port of that LAN moves there too", () => {
    // Switch A split 2 : 2, held by member 0; p1 leaves it for B (on member 1), so A is 1 : 2 and p2 follows to member 1.
    const recorded = new Map<string, RecordedPort>([
      ["p1", { shard: 0, switchKey: "/sw/a" }],
      ["p2", { shard: 0, switchKey: "/sw/a" }],
    ]);
    const moves = forwarderMoves([portStep("p1", "/sw/b"), portStep("p2", "/sw/a")], view(recorded, [[1, "/sw/a"], [1, "/sw/a"], [1, "/sw/b"]]));
    expect([...moves.values()]).toEqual([
      { port: "p1", from: 0, to: 1, why: "switch", running: true },
      { port: "p2", from: 0, to: 1, why: "lan", running: true },
    ]);
  });

  test("a port on a member that does not run moves without being unplugged, and says so", () => {
    const moves = forwarderMoves([portStep("p1", "/sw/a")], view(new Map([["p1", { shard: 1, switchKey: "/sw/a" }]]), [[0, "/sw/a"], [0, "/sw/a"]], [true, false]));
    expect(renderSteps([portStep("p1", "/sw/a")], moves).at(-1)).toBe("  # port p1 moves from forwarder 1 to forwarder 0 of the pool, to join its switch's other ports: nothing to unplug (forwarder 1 is not running)");
  });

  test("golden: a process vnode whose LAN was split, one NIC kept, one moved to another LAN", () => {
    const vnode = node("b", "process", {}, [nic(0), nic(1), nic(2)]);
    const plan = processPlatform.plan(vnode, testContext);
    const ports = plan.steps.flatMap((step) => (step.kind === "forwarder.port" ? [step] : []));
    const [lan0, lan1, lan2] = ports;
    if (lan0 === undefined || lan1 === undefined || lan2 === undefined) throw new Error("the plan has no three forwarder ports");
    // lan0's other ports are on member 0 (b's on 1, an older split); b's lan1 port is with lan1's other one on 1;
    // b's third NIC was on lan1 and is on lan2 now (a topology edit), whose ports are on member 0.
    const recorded = new Map<string, RecordedPort>([
      [lan0.port, { shard: 1, switchKey: "/run/vde/lan0" }],
      [lan1.port, { shard: 1, switchKey: "/run/vde/lan1" }],
      [lan2.port, { shard: 1, switchKey: "/run/vde/lan1" }],
    ]);
    const pool = view(recorded, [[0, "/run/vde/lan0"], [0, "/run/vde/lan0"], [1, "/run/vde/lan1"], [0, "/run/vde/lan2"]]);
    const text = [`# ${plan.title}`, ...renderSteps(plan.steps, forwarderMoves(plan.steps, pool))].join("\n") + "\n";
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(resolve(import.meta.dir, "golden", "forwarder-moves.plan"), text);
    expect(text).toBe(readFileSync(resolve(import.meta.dir, "golden", "forwarder-moves.plan"), "utf8"));
    expect(text.split("\n").filter((line) => line.includes(" moves "))).toHaveLength(2);
  });
});
