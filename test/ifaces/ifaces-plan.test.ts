// The interface plan: NIC by MAC then ifname, ownership through benito's records, control_net skipped, missing NICs, dry-run script, records.
import { describe, expect, test } from "bun:test";
import type { HostView, NodeInterface } from "../../src/model/node";
import { planIfaces } from "../../src/plan/ifaces-plan";
import { renderIfaceScript } from "../../src/plan/ifaces-render";
import { applyIfacePlan, nextOwnedAddresses } from "../../src/apply/ifaces-apply";
import type { NetSystem } from "../../src/apply/net-system";
import type { AddressInfo, LinkInfo } from "../../src/system/netlink/types";

const link = (index: number, name: string, mac: string, up = true): LinkInfo => ({ index, name, mac, up, lowerUp: up, mtu: 1500, kind: "", master: 0 });
const addr = (index: number, address: string, prefixLength = 24): AddressInfo => ({ index, address, prefixLength, label: "" });

function view(interfaces: NodeInterface[]): HostView {
  return { self: { name: "h1", localnames: [], nodeType: "", interfaces, attributes: new Map(), path: "elements[0]", line: 1 }, children: [], lans: new Map() };
}
const iface = (name: string, extra: Partial<NodeInterface>): NodeInterface => ({ name, substrate: "lan0", control: false, ...extra });

const eth1 = link(2, "eth1", "02:00:00:00:01:01", false);
const eth2 = link(3, "eth2", "02:00:00:00:01:02");
const eth0 = link(4, "eth0", "02:00:00:00:01:00");

describe("ifaces plan", () => {
  test("finds NICs by MAC (any case), sets the address, brings the link up; skips control_net", () => {
    const plan = planIfaces(
      view([
        iface("inf000", { mac: "02:00:00:00:01:01", ip4: { address: "10.1.1.2", prefixLength: 24 } }),
        iface("ctl", { substrate: "control_net", control: true, mac: "02:00:00:00:01:00", ip4: { address: "192.168.1.5", prefixLength: 22 } }),
      ]),
      [eth0, eth1, eth2],
      [],
      [],
    );
    expect(plan.steps).toEqual([
      { kind: "address.add", iface: "inf000", index: 2, ifname: "eth1", mac: "02:00:00:00:01:01", address: "10.1.1.2", prefixLength: 24 },
      { kind: "link.up", iface: "inf000", index: 2, ifname: "eth1" },
    ]);
    expect(plan.entries.map((entry) => [entry.iface, entry.status])).toEqual([
      ["inf000", "configured"],
      ["ctl", "skipped"],
    ]);
  });

  test("falls back to benito:ifname; a NIC that matches neither is missing (a warning naming the MAC) and the others proceed", () => {
    const plan = planIfaces(
      view([
        iface("inf000", { mac: "02:00:00:00:09:09", ifname: "eth2", ip4: { address: "10.2.1.2", prefixLength: 24 } }),
        iface("inf001", { mac: "02:00:00:00:09:0a", ip4: { address: "10.3.1.2", prefixLength: 24 } }),
        iface("inf002", { ip4: { address: "10.4.1.2", prefixLength: 24 } }),
      ]),
      [eth1, eth2],
      [],
      [],
    );
    expect(plan.steps.map((step) => `${step.kind} ${step.ifname}`)).toEqual(["address.add eth2"]);
    expect(plan.entries.map((entry) => [entry.status, entry.note])).toEqual([
      ["configured", undefined],
      ["missing", "no NIC with MAC 02:00:00:00:09:0a for interface inf001 (10.3.1.2/24)"],
      ["missing", "interface inf002 (10.4.1.2/24) has neither benito:mac_address nor benito:ifname, so no NIC can be chosen"],
    ]);
  });

  test("replaces an address benito set earlier, leaves addresses it did not set, and is unchanged when already right", () => {
    const addresses = [addr(3, "10.2.1.9"), addr(3, "172.16.0.1", 16)];
    const owned = [{ mac: "02:00:00:00:01:02", address: "10.2.1.9", prefixLength: 24 }];
    const target = view([iface("inf000", { mac: "02:00:00:00:01:02", ip4: { address: "10.2.1.2", prefixLength: 24 } })]);
    const plan = planIfaces(target, [eth2], addresses, owned);
    expect(plan.steps.map((step) => `${step.kind} ${"address" in step ? step.address : ""}`)).toEqual(["address.delete 10.2.1.9", "address.add 10.2.1.2"]);
    expect(plan.entries[0]?.status).toBe("changed");
    const again = planIfaces(target, [eth2], [addr(3, "10.2.1.2"), addr(3, "172.16.0.1", 16)], [{ mac: "02:00:00:00:01:02", address: "10.2.1.2", prefixLength: 24 }]);
    expect([again.steps, again.entries[0]?.status]).toEqual([[], "unchanged"]);
    // Not benito's: a different address on the NIC is left alone and the wanted one is added beside it.
    const foreign = planIfaces(target, [eth2], addresses, []);
    expect(foreign.steps.map((step) => step.kind)).toEqual(["address.add"]);
  });

  test("before deleting its address from a subnet that also holds others' addresses, benito turns on promote_secondaries (so the kernel keeps them)", () => {
    const target = view([iface("inf000", { mac: "02:00:00:00:01:02", ip4: { address: "10.2.1.20", prefixLength: 24 } })]);
    const owned = [{ mac: "02:00:00:00:01:02", address: "10.2.1.2", prefixLength: 24 }];
    const shared = planIfaces(target, [eth2], [addr(3, "10.2.1.2"), addr(3, "10.2.1.50")], owned);
    expect(shared.steps.map((step) => step.kind)).toEqual(["link.promote-secondaries", "address.delete", "address.add"]);
    expect(renderIfaceScript(shared, "t")).toContain("echo 1 > /proc/sys/net/ipv4/conf/eth2/promote_secondaries");
    const alone = planIfaces(target, [eth2], [addr(3, "10.2.1.2"), addr(3, "10.9.1.50")], owned);
    expect(alone.steps.map((step) => step.kind)).toEqual(["address.delete", "address.add"]);
  });

  test("two interfaces naming one NIC keep each other's addresses; the link is brought up once", () => {
    const nic = link(3, "eth2", "02:00:00:00:01:02", false);
    const owned = [{ mac: nic.mac, address: "10.2.1.2", prefixLength: 24 }, { mac: nic.mac, address: "10.3.1.2", prefixLength: 24 }];
    const plan = planIfaces(
      view([iface("inf000", { mac: nic.mac, ip4: { address: "10.2.1.2", prefixLength: 24 } }), iface("inf001", { ifname: "eth2", ip4: { address: "10.3.1.2", prefixLength: 24 } })]),
      [nic],
      [addr(3, "10.2.1.2"), addr(3, "10.3.1.2")],
      owned,
    );
    expect(plan.steps.map((step) => step.kind)).toEqual(["link.up"]);
  });

  test("a MAC shared by a NIC and the bridge above it picks the NIC", () => {
    const bridge = { ...link(2, "br0", "02:00:00:00:01:02"), kind: "bridge" };
    const plan = planIfaces(view([iface("inf000", { mac: "02:00:00:00:01:02", ip4: { address: "10.2.1.2", prefixLength: 24 } })]), [bridge, eth2], [], []);
    expect(plan.entries[0]?.ifname).toBe("eth2");
  });

  test("removes benito's address from a NIC the topology no longer configures", () => {
    const plan = planIfaces(view([]), [eth1, eth2], [addr(3, "10.2.1.2"), addr(2, "10.1.1.2")], [{ mac: "02:00:00:00:01:02", address: "10.2.1.2", prefixLength: 24 }]);
    expect(plan.steps).toEqual([{ kind: "address.delete", iface: "", index: 3, ifname: "eth2", mac: "02:00:00:00:01:02", address: "10.2.1.2", prefixLength: 24 }]);
  });

  test("dry-run script", () => {
    const plan = planIfaces(
      view([iface("inf000", { mac: "02:00:00:00:01:01", ip4: { address: "10.1.1.2", prefixLength: 24 } }), iface("inf001", { mac: "02:00:00:00:09:09" })]),
      [eth1],
      [addr(2, "10.1.1.7")],
      [{ mac: "02:00:00:00:01:01", address: "10.1.1.7", prefixLength: 24 }],
    );
    expect(renderIfaceScript(plan, "benito ifaces for h1")).toBe(
      [
        "#!/bin/sh",
        "# benito ifaces for h1",
        "ip addr del 10.1.1.7/24 dev eth1  # inf000: replaced",
        "ip addr add 10.1.1.2/24 brd + dev eth1  # inf000",
        "ip link set dev eth1 up  # inf000",
        "# missing: inf001: no NIC with MAC 02:00:00:00:09:09 for interface inf001",
      ].join("\n"),
    );
  });
});

describe("ifaces apply and records", () => {
  test("runs every step even after a refusal, and records exactly the addresses benito holds afterwards", async () => {
    const calls: string[] = [];
    const system: NetSystem = {
      links: () => [],
      addresses: () => [],
      routes: () => [],
      applyRoutes: () => [],
      addAddress: (index, address) => {
        calls.push(`add ${index} ${address}`);
        return address === "10.9.9.9" ? { ok: false, message: "Permission denied" } : { ok: true };
      },
      deleteAddress: (index, address) => {
        calls.push(`del ${index} ${address}`);
        return { ok: true };
      },
      setLinkUp: (index) => {
        calls.push(`up ${index}`);
        return { ok: true };
      },
      promoteSecondaries: (ifname) => {
        calls.push(`promote ${ifname}`);
        return { ok: true };
      },
      close: () => {},
    };
    const before = [addr(2, "10.1.1.7")];
    const owned = [{ mac: "02:00:00:00:01:01", address: "10.1.1.7", prefixLength: 24 }, { mac: "02:00:00:00:01:01", address: "10.1.1.99", prefixLength: 24 }];
    const plan = planIfaces(
      view([iface("inf000", { mac: "02:00:00:00:01:01", ip4: { address: "10.1.1.2", prefixLength: 24 } }), iface("inf001", { mac: "02:00:00:00:01:02", ip4: { address: "10.9.9.9", prefixLength: 24 } })]),
      [eth1, eth2],
      before,
      owned,
    );
    const outcomes = await applyIfacePlan(system, plan);
    expect(calls).toEqual(["del 2 10.1.1.7", "add 2 10.1.1.2", "up 2", "add 3 10.9.9.9"]);
    expect(outcomes.filter((outcome) => !outcome.ok).map((outcome) => outcome.error)).toEqual(["Permission denied"]);
    // 10.1.1.99 is no longer on the NIC, 10.1.1.7 was deleted, 10.9.9.9 was refused: only 10.1.1.2 is benito's now.
    expect(nextOwnedAddresses(owned, outcomes, [eth1, eth2], before)).toEqual([{ mac: "02:00:00:00:01:01", address: "10.1.1.2", prefixLength: 24 }]);
  });
});
