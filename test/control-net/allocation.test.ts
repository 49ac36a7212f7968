// Control-net allocation: deterministic, collision-free across a 5,000-VM experiment, topology addresses first.
import { describe, expect, test } from "bun:test";
import { allocateControl, hasControlNic, nameHash, parseControlPool, type ControlPool } from "../../src/model/control-allocation";
import type { Node, NodeInterface } from "../../src/model/node";

function vm(name: string, control?: Partial<NodeInterface>): Node {
  const interfaces: NodeInterface[] = control ? [{ name: "control", substrate: "control_net", control: true, ...control }] : [];
  return { name, localnames: [], nodeType: "qemu", host: "pnode0", interfaces, attributes: new Map(), path: `elements[0]`, line: 1 };
}

function pool(cidr = "172.30.0.0/16", mac = "02:be:c0"): ControlPool {
  const parsed = parseControlPool(cidr, mac);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

describe("control allocation", () => {
  test("5,000 VMs get distinct addresses and MACs, none reserved", () => {
    const vms = Array.from({ length: 5000 }, (_, i) => vm(`vm${i}`));
    const { leases, problems } = allocateControl(vms, pool());
    expect(problems).toEqual([]);
    expect(leases).toHaveLength(5000);
    expect(new Set(leases.map((l) => l.address)).size).toBe(5000);
    expect(new Set(leases.map((l) => l.mac)).size).toBe(5000);
    for (const lease of leases) {
      expect(lease.address).not.toMatch(/^172\.30\.0\.[01]$|^172\.30\.255\.255$/);
      expect(lease.mac.startsWith("02:be:c0:")).toBe(true);
    }
  });

  test("the answer depends on the set of VMs, not on their order or on the process", async () => {
    const names = Array.from({ length: 300 }, (_, i) => `node-${i}`);
    const forward = allocateControl(names.map((n) => vm(n)), pool("10.200.0.0/22"));
    const backward = allocateControl([...names].reverse().map((n) => vm(n)), pool("10.200.0.0/22"));
    expect(backward).toEqual(forward);
    // A second process computes the same table (no per-process randomness).
    const script = `import { allocateControl, parseControlPool } from "${new URL("../../src/model/control-allocation.ts", import.meta.url).pathname}";
      const vms = ${JSON.stringify(names)}.map((name) => ({ name, localnames: [], nodeType: "qemu", interfaces: [], attributes: new Map(), path: "", line: 1 }));
      console.log(JSON.stringify(allocateControl(vms, parseControlPool("10.200.0.0/22", "02:be:c0")).leases));`;
    const child = Bun.spawnSync([process.execPath, "-e", script]);
    expect(JSON.parse(child.stdout.toString())).toEqual(forward.leases);
  });

  test("addresses given in topo.xml are kept and never handed to another VM", () => {
    const small = pool("10.9.0.0/29"); // usable offsets 2..6: five slots
    const vms = ["p", "q", "r", "s"].map((n) => vm(n));
    const fixed = vm("fixed", { ip4: { address: "10.9.0.2", prefixLength: 29 }, mac: "02:00:00:00:00:99" });
    const { leases, problems } = allocateControl([...vms, fixed], small);
    expect(problems).toEqual([]);
    expect(leases.find((l) => l.node === "fixed")).toMatchObject({ address: "10.9.0.2", source: "topology" });
    expect(new Set(leases.map((l) => l.address)).size).toBe(5);
  });

  test("a pool too small is a problem for every waiting VM, not a partial table", () => {
    const { leases, problems } = allocateControl(["a", "b", "c", "d", "e", "f"].map((n) => vm(n)), pool("10.9.0.0/29"));
    expect(leases).toEqual([]);
    expect(problems).toHaveLength(6);
  });

  test("without a pool, VMs without topology addresses are problems", () => {
    expect(allocateControl([vm("a")], undefined).problems[0]?.message).toContain("control_pool");
  });

  test("bad pools and prefixes are refused with a reason", () => {
    expect(parseControlPool("10.0.0.1/16", "02:be:c0")).toContain("host bits");
    expect(parseControlPool("10.0.0.0/31", "02:be:c0")).toContain("between /8 and /30");
    expect(parseControlPool("10.0.0.0/16", "03:be:c0")).toContain("multicast");
    expect(parseControlPool("10.0.0.0/16", "02:be")).toContain("three bytes");
  });

  test("the name hash is FNV-1a (stable across versions)", () => {
    expect(nameHash("")).toBe(0x811c9dc5);
    expect(nameHash("a")).toBe(0xe40c292c);
  });
});

test("reserved addresses (pnodes' control addresses) are never handed out", () => {
  const small = pool("10.9.0.0/29");
  const { leases, problems } = allocateControl(["a", "b", "c", "d"].map((n) => vm(n)), small, ["10.9.0.3"]);
  expect(problems).toEqual([]);
  expect(leases.map((l) => l.address)).not.toContain("10.9.0.3");
});

test("only hosted vnodes with a control_net interface have a control NIC", () => {
  expect(hasControlNic(vm("a", {}))).toBe(true);
  expect(hasControlNic(vm("b"))).toBe(false);
  expect(hasControlNic({ ...vm("c", {}), host: undefined })).toBe(false);
});
