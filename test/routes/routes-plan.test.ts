// The route plan: diff against the kernel's table (ownership by protocol), ordering, blocked routes, the dry-run script, the bounded wait.
import { describe, expect, test } from "bun:test";
import { dropDuplicates, parseRouteFile } from "../../src/model/route-file";
import { planRoutes, type NetState } from "../../src/plan/routes-plan";
import { renderRouteScript } from "../../src/plan/routes-render";
import { applyRoutePlan, planWithWait, summarizeRoutes, type Clock } from "../../src/apply/routes-apply";
import type { NetSystem } from "../../src/apply/net-system";
import type { AddressInfo, LinkInfo, Route, RouteRequest } from "../../src/system/netlink/types";

const benito = 183;
const options = { table: 254, protocol: benito };

function link(index: number, name: string, up = true): LinkInfo {
  return { index, name, mac: `02:00:00:00:00:0${index}`, up, lowerUp: up, mtu: 1500, kind: "veth", master: 0 };
}
const eth1 = link(2, "eth1");
const eth2 = link(3, "eth2");
const addr = (index: number, address: string, prefixLength = 24): AddressInfo => ({ index, address, prefixLength, label: "" });
const kernel = (route: Partial<Route> & { dst: string; prefixLength: number }): Route => ({ protocol: benito, table: 254, scope: route.gateway === undefined ? 253 : 0, metric: 0, ...route });

function wanted(text: string) {
  const file = parseRouteFile(text, "route/h1");
  expect(file.problems).toEqual([]);
  return dropDuplicates(file.routes).routes;
}

const baseState: NetState = { links: [eth1, eth2], addresses: [addr(2, "10.1.1.2"), addr(3, "10.2.1.2")], routes: [] };

describe("diff", () => {
  test("an empty table: every route is added, with benito's protocol and the table", () => {
    const plan = planRoutes(wanted("10.5.0.0/16 via 10.1.1.3\n10.6.0.0/16 via 10.2.1.3 dev eth2 metric 4 src 10.1.1.2"), baseState, options);
    expect(plan.steps).toEqual([
      { action: "add", wanted: expect.anything(), route: { dst: "10.5.0.0", prefixLength: 16, gateway: "10.1.1.3", metric: 0, protocol: benito, table: 254, scope: 0 } },
      { action: "add", wanted: expect.anything(), route: { dst: "10.6.0.0", prefixLength: 16, gateway: "10.2.1.3", oif: 3, metric: 4, src: "10.1.1.2", protocol: benito, table: 254, scope: 0 } },
    ]);
    expect(plan.blocked).toEqual([]);
  });

  test("present and equal: unchanged; present and different: changed; benito's route no longer listed: removed; others' routes: untouched", () => {
    const state: NetState = {
      ...baseState,
      routes: [
        kernel({ dst: "10.5.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2 }),
        kernel({ dst: "10.6.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2 }),
        kernel({ dst: "10.7.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2 }),
        kernel({ dst: "10.8.0.0", prefixLength: 16, gateway: "10.1.1.9", oif: 2, protocol: 4 }),
        kernel({ dst: "10.1.1.0", prefixLength: 24, oif: 2, protocol: 2, src: "10.1.1.2" }),
        kernel({ dst: "10.5.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2, table: 100 }),
      ],
    };
    const plan = planRoutes(wanted("10.5.0.0/16 via 10.1.1.3\n10.6.0.0/16 via 10.1.1.4"), state, options);
    expect(plan.steps.map((step) => `${step.action} ${step.route.dst} ${step.route.gateway}`)).toEqual(["change 10.6.0.0 10.1.1.4", "remove 10.7.0.0 10.1.1.3"]);
    expect(plan.unchanged.map((entry) => entry.route.dst)).toEqual(["10.5.0.0"]);
  });

  test("a metric change is a new route plus the removal of the old one (the metric is part of the kernel's key)", () => {
    const state = { ...baseState, routes: [kernel({ dst: "10.5.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2, metric: 1 })] };
    const plan = planRoutes(wanted("10.5.0.0/16 via 10.1.1.3 metric 2"), state, options);
    expect(plan.steps.map((step) => `${step.action} ${step.route.metric}`)).toEqual(["add 2", "remove 1"]);
  });

  test("a route without dev matches whatever device the kernel chose; with dev, the device must match", () => {
    const state = { ...baseState, routes: [kernel({ dst: "10.5.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2 })] };
    expect(planRoutes(wanted("10.5.0.0/16 via 10.1.1.3"), state, options).steps).toEqual([]);
    expect(planRoutes(wanted("10.5.0.0/16 via 10.1.1.3 dev eth1"), state, options).steps).toEqual([]);
    const addresses = [...baseState.addresses, addr(3, "10.1.1.7")];
    expect(planRoutes(wanted("10.5.0.0/16 via 10.1.1.3 dev eth2"), { ...state, addresses }, options).steps.map((step) => step.action)).toEqual(["change"]);
  });

  test("a destination held by a route benito did not install is left alone and reported, unless it already does the same", () => {
    const state = { ...baseState, routes: [kernel({ dst: "0.0.0.0", prefixLength: 0, gateway: "10.1.1.1", oif: 2, protocol: 16 })] };
    const different = planRoutes(wanted("default via 10.1.1.254"), state, options);
    expect(different.steps).toEqual([]);
    expect(different.blocked).toEqual([{ wanted: expect.anything(), waitable: false, reason: "a route to 0.0.0.0/0 metric 0 that benito did not install (protocol 16) is already there; benito leaves it alone" }]);
    const same = planRoutes(wanted("default via 10.1.1.1"), state, options);
    expect([same.steps, same.blocked, same.unchanged.length]).toEqual([[], [], 1]);
  });

  test("an on-link route the kernel already has for an address's subnet counts as unchanged; benito's own route losing its src is a change", () => {
    const connected = kernel({ dst: "10.1.1.0", prefixLength: 24, oif: 2, protocol: 2, src: "10.1.1.2" });
    const plan = planRoutes(wanted("10.1.1.0/24 dev eth1"), { ...baseState, routes: [connected] }, options);
    expect([plan.steps, plan.blocked, plan.unchanged.length]).toEqual([[], [], 1]);
    const ownWithSource = kernel({ dst: "10.9.0.0", prefixLength: 16, oif: 2, src: "10.1.1.2" });
    expect(planRoutes(wanted("10.9.0.0/16 dev eth1"), { ...baseState, routes: [ownWithSource] }, options).steps.map((step) => step.action)).toEqual(["change"]);
  });

  test("a wanted route that is blocked keeps benito's present route with the same key (never removed while still configured)", () => {
    const state = { ...baseState, routes: [kernel({ dst: "10.5.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2 })] };
    const plan = planRoutes(wanted("10.5.0.0/16 via 10.1.1.3 dev eth9"), state, options);
    expect(plan.steps).toEqual([]);
    expect(plan.blocked.map((entry) => entry.reason)).toEqual(["device eth9 does not exist"]);
  });

  test("--table: only that table's routes are diffed", () => {
    const state = { ...baseState, routes: [kernel({ dst: "10.7.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2 })] };
    const plan = planRoutes(wanted("10.5.0.0/16 via 10.1.1.3"), state, { table: 100, protocol: benito });
    expect(plan.steps.map((step) => `${step.action} ${step.route.dst} table ${step.route.table}`)).toEqual(["add 10.5.0.0 table 100"]);
  });
});

describe("ordering and reachability", () => {
  test("a gateway reachable only through an on-link route of the file is installed after it, whatever the line order", () => {
    const plan = planRoutes(wanted("10.8.0.0/16 via 10.9.0.1\n10.7.0.0/16 via 10.1.1.3\n10.9.0.0/16 dev eth1"), baseState, options);
    expect(plan.steps.map((step) => step.route.dst)).toEqual(["10.9.0.0", "10.8.0.0", "10.7.0.0"]);
    expect(plan.steps[0]?.route).toMatchObject({ oif: 2, scope: 253 });
    expect(plan.blocked).toEqual([]);
  });

  test("a gateway on no local subnet and on no on-link route is reported, naming a gateway route that would only reach it indirectly", () => {
    const plan = planRoutes(wanted("10.9.0.0/16 via 10.1.1.3\n10.8.0.0/16 via 10.9.0.1\n10.7.0.0/16 via 10.77.0.1"), baseState, options);
    expect(plan.steps.map((step) => step.route.dst)).toEqual(["10.9.0.0"]);
    expect(plan.blocked.map((entry) => [entry.wanted.origin.line, entry.reason])).toEqual([
      [2, "gateway 10.9.0.1 is on no local subnet and on no on-link route of the file (the route at route/h1:1 reaches it through gateway 10.1.1.3, but the kernel needs a gateway on a directly connected subnet)"],
      [3, "gateway 10.77.0.1 is on no local subnet and on no on-link route of the file"],
    ]);
  });

  test("a gateway on an interface that is down, or a dev that is down or missing, is blocked and worth waiting for", () => {
    const state = { ...baseState, links: [eth1, link(3, "eth2", false)] };
    const plan = planRoutes(wanted("10.5.0.0/16 via 10.2.1.3\n10.6.0.0/16 dev eth2\n10.7.0.0/16 dev eth5"), state, options);
    expect(plan.blocked.map((entry) => [entry.reason, entry.waitable])).toEqual([
      ["device eth2 is not up", true],
      ["device eth5 does not exist", true],
      ["gateway 10.2.1.3 is on 10.2.1.0/24, whose interface eth2 is not up", true],
    ]);
  });

  test("a gateway not on the subnet of the named dev is blocked; a src that is not a local address is blocked", () => {
    const plan = planRoutes(wanted("10.5.0.0/16 via 10.1.1.3 dev eth2\n10.6.0.0/16 via 10.1.1.3 src 10.1.1.99"), baseState, options);
    expect(plan.blocked.map((entry) => entry.reason)).toEqual(["gateway 10.1.1.3 is not on a subnet of device eth2", "src 10.1.1.99 is not an address of this host on an interface that is up"]);
  });

  test("an on-link route someone else installed makes its gateways reachable", () => {
    const state = { ...baseState, routes: [kernel({ dst: "10.40.0.0", prefixLength: 16, oif: 3, protocol: 4 })] };
    expect(planRoutes(wanted("10.8.0.0/16 via 10.40.0.1"), state, options).blocked).toEqual([]);
  });
});

describe("dry-run script", () => {
  test("prints replace/del lines in plan order with devices by name, then unchanged and not-installed comments", () => {
    const state: NetState = { ...baseState, routes: [kernel({ dst: "10.5.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2 }), kernel({ dst: "10.7.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2, metric: 3 })] };
    const plan = planRoutes(wanted("10.5.0.0/16 via 10.1.1.3\ndefault via 10.1.1.1 src 10.1.1.2\n10.9.0.0/16 dev eth2\n10.6.0.0/16 via 10.66.0.1"), state, options);
    const script = renderRouteScript(plan, { linkNames: new Map([[2, "eth1"], [3, "eth2"]]), title: "benito routes for h1" });
    expect(script).toBe(
      [
        "#!/bin/sh",
        "# benito routes for h1",
        "ip route replace 10.9.0.0/16 dev eth2 metric 0 proto 183 table 254  # add, route/h1:3",
        "ip route replace default via 10.1.1.1 metric 0 src 10.1.1.2 proto 183 table 254  # add, route/h1:2",
        "ip route del 10.7.0.0/16 via 10.1.1.3 dev eth1 metric 3 proto 183 table 254  # no longer configured",
        "# unchanged: 10.5.0.0/16 via 10.1.1.3 (route/h1:1)",
        "# not installed: route/h1:4: 10.6.0.0/16 via 10.66.0.1: gateway 10.66.0.1 is on no local subnet and on no on-link route of the file",
      ].join("\n"),
    );
  });
});

/** A NetSystem fake: state changes after a number of reads; route batches are recorded and answered from a table. */
function fakeSystem(states: NetState[], refuse: (request: RouteRequest) => string | undefined = () => undefined) {
  let reads = 0;
  const batches: RouteRequest[][] = [];
  const current = () => states[Math.min(reads, states.length - 1)] as NetState;
  const system: NetSystem = {
    links: () => current().links,
    addresses: () => current().addresses,
    routes: () => {
      const routes = current().routes;
      reads += 1;
      return routes;
    },
    applyRoutes: (requests) => {
      batches.push([...requests]);
      return requests.map((request) => {
        const message = refuse(request);
        return message === undefined ? { ok: true } : { ok: false, errno: 101, message };
      });
    },
    addAddress: () => ({ ok: true }),
    deleteAddress: () => ({ ok: true }),
    setLinkUp: () => ({ ok: true }),
    promoteSecondaries: () => ({ ok: true }),
    close: () => {},
  };
  return { system, batches, reads: () => reads };
}

function fakeClock(): Clock & { slept: number } {
  const clock = {
    slept: 0,
    now: () => clock.slept,
    sleep: async (ms: number) => {
      clock.slept += ms;
    },
  };
  return clock;
}

describe("apply and the bounded wait", () => {
  test("waits (polling) while an egress interface is down, then applies as one batch in plan order", async () => {
    const down = { ...baseState, links: [link(2, "eth1", false), eth2] };
    const fake = fakeSystem([down, down, down, baseState]);
    const clock = fakeClock();
    const { plan } = await planWithWait(fake.system, wanted("10.5.0.0/16 via 10.1.1.3\n10.9.0.0/16 dev eth1"), options, 5000, clock);
    expect(plan.blocked).toEqual([]);
    expect(clock.slept).toBe(300);
    const outcomes = await applyRoutePlan(fake.system, plan);
    expect(fake.batches.map((batch) => batch.map((request) => `${request.action} ${request.route.dst}`))).toEqual([["replace 10.9.0.0", "replace 10.5.0.0"]]);
    expect(summarizeRoutes(outcomes)).toEqual({ added: 2, changed: 0, removed: 0, unchanged: 0, failed: 0 });
  });

  test("gives up at the deadline and reports what is still blocked; nothing is waited for when nothing is blocked", async () => {
    const fake = fakeSystem([baseState]);
    const clock = fakeClock();
    const { plan } = await planWithWait(fake.system, wanted("10.5.0.0/16 via 10.99.0.1\n10.6.0.0/16 via 10.1.1.3"), options, 1000, clock);
    expect(clock.slept).toBe(1000);
    expect(plan.blocked.length).toBe(1);
    const quick = fakeClock();
    await planWithWait(fake.system, wanted("10.6.0.0/16 via 10.1.1.3"), options, 1000, quick);
    expect(quick.slept).toBe(0);
  });

  test("a route the kernel refuses is failed with the kernel's words; the others still count", async () => {
    const fake = fakeSystem([baseState], (request) => (request.route.dst === "10.6.0.0" ? "Network is unreachable: Nexthop has invalid gateway" : undefined));
    const { plan } = await planWithWait(fake.system, wanted("10.5.0.0/16 via 10.1.1.3\n10.6.0.0/16 via 10.1.1.4"), options, 0, fakeClock());
    const outcomes = await applyRoutePlan(fake.system, plan);
    expect(outcomes.map((outcome) => [outcome.status, outcome.error])).toEqual([
      ["added", undefined],
      ["failed", "Network is unreachable: Nexthop has invalid gateway"],
    ]);
  });

  test("nothing to change sends no batch", async () => {
    const state = { ...baseState, routes: [kernel({ dst: "10.5.0.0", prefixLength: 16, gateway: "10.1.1.3", oif: 2 })] };
    const fake = fakeSystem([state]);
    const { plan } = await planWithWait(fake.system, wanted("10.5.0.0/16 via 10.1.1.3"), options, 0, fakeClock());
    expect(summarizeRoutes(await applyRoutePlan(fake.system, plan))).toEqual({ added: 0, changed: 0, removed: 0, unchanged: 1, failed: 0 });
    expect(fake.batches).toEqual([]);
  });
});
