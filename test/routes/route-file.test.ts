// Route file parsing: the three syntaxes detected per line, bad lines with file:line and why, duplicates, site.conf's default route.
import { describe, expect, test } from "bun:test";
import { dropDuplicates, formatLineProblem, parseRouteFile, siteDefaultRoute } from "../../src/model/route-file";
import { defaultRouteSetting, parseSiteConf } from "../../src/config/site-conf";

const shape = (text: string) => parseRouteFile(text, "route/h1").routes.map(({ dst, prefixLength, gateway, dev, metric, src, syntax }) => ({ dst, prefixLength, gateway, dev, metric, src, syntax }));

describe("route file syntaxes", () => {
  test("Emulab tmcd lines: net, host and default; COST is the metric; SRC the preferred source", () => {
    const text = [
      "ROUTE DEST=10.1.2.0 DESTTYPE=net DESTMASK=255.255.255.0 NEXTHOP=10.1.1.3 COST=0",
      "ROUTE DEST=10.1.9.9 DESTTYPE=host NEXTHOP=10.1.1.3 COST=2 SRC=10.1.1.2",
      "ROUTE DEST=0.0.0.0 DESTTYPE=default DESTMASK=0.0.0.0 NEXTHOP=10.1.1.1 COST=7",
    ].join("\n");
    expect(shape(text)).toEqual([
      { dst: "10.1.2.0", prefixLength: 24, gateway: "10.1.1.3", dev: undefined, metric: 0, src: undefined, syntax: "tmcd" },
      { dst: "10.1.9.9", prefixLength: 32, gateway: "10.1.1.3", dev: undefined, metric: 2, src: "10.1.1.2", syntax: "tmcd" },
      { dst: "0.0.0.0", prefixLength: 0, gateway: "10.1.1.1", dev: undefined, metric: 7, src: undefined, syntax: "tmcd" },
    ]);
  });

  test("iproute lines: via, dev, metric (priority, preference), src, default, host without /len, on-link", () => {
    const text = ["10.1.2.0/24 via 10.1.1.3 dev eth1 metric 5 src 10.1.1.2", "default via 10.1.1.1", "10.1.9.9 via 10.1.1.3 priority 3", "10.9.0.0/16 dev eth2"].join("\n");
    expect(shape(text)).toEqual([
      { dst: "10.1.2.0", prefixLength: 24, gateway: "10.1.1.3", dev: "eth1", metric: 5, src: "10.1.1.2", syntax: "iproute" },
      { dst: "0.0.0.0", prefixLength: 0, gateway: "10.1.1.1", dev: undefined, metric: 0, src: undefined, syntax: "iproute" },
      { dst: "10.1.9.9", prefixLength: 32, gateway: "10.1.1.3", dev: undefined, metric: 3, src: undefined, syntax: "iproute" },
      { dst: "10.9.0.0", prefixLength: 16, gateway: undefined, dev: "eth2", metric: 0, src: undefined, syntax: "iproute" },
    ]);
  });

  test("triplet lines: destination, netmask, gateway", () => {
    expect(shape("10.1.2.0 255.255.255.0 10.1.1.3\n0.0.0.0 0.0.0.0 10.1.1.1")).toEqual([
      { dst: "10.1.2.0", prefixLength: 24, gateway: "10.1.1.3", dev: undefined, metric: 0, src: undefined, syntax: "triplet" },
      { dst: "0.0.0.0", prefixLength: 0, gateway: "10.1.1.1", dev: undefined, metric: 0, src: undefined, syntax: "triplet" },
    ]);
  });

  test("the three syntaxes mix in one file; comments and blank lines are ignored; line numbers are kept", () => {
    const text = "# header\n\nROUTE DEST=10.1.2.0 DESTTYPE=net DESTMASK=255.255.255.0 NEXTHOP=10.1.1.3 COST=0\r\n10.1.3.0/24 via 10.1.1.3   # trailing comment\n10.1.4.0 255.255.255.0 10.1.1.3\n";
    const file = parseRouteFile(text, "route/h1");
    expect(file.problems).toEqual([]);
    expect(file.routes.map((route) => [route.syntax, route.origin.line])).toEqual([
      ["tmcd", 3],
      ["iproute", 4],
      ["triplet", 5],
    ]);
  });
});

describe("bad lines", () => {
  const cases: [string, string][] = [
    ["bogus line", "not a route in any of the three syntaxes"],
    ["ROUTE DEST=10.1.2.0 DESTTYPE=net NEXTHOP=10.1.1.3", "DESTTYPE=net needs DESTMASK"],
    ["ROUTE DEST=10.1.2.0 DESTTYPE=net DESTMASK=255.0.255.0 NEXTHOP=10.1.1.3", "not a contiguous IPv4 netmask"],
    ["ROUTE DEST=10.1.2.0 DESTTYPE=net DESTMASK=255.255.255.0", "NEXTHOP is missing"],
    ["ROUTE DEST=10.1.2.0 DESTTYPE=bridge DESTMASK=255.255.255.0 NEXTHOP=10.1.1.3", "DESTTYPE=bridge is not net, host or default"],
    ["ROUTE DEST=10.1.2.0 DESTTYPE=net DESTMASK=255.255.255.0 NEXTHOP=10.1.1.3 WEIGHT=1", "unknown key WEIGHT"],
    ["ROUTE DEST=10.1.2.0 DESTTYPE=net DESTMASK=255.255.255.0 NEXTHOP=10.1.1.3 COST=x", 'COST "x" is not a whole number'],
    ["10.1.2.0/24 via 10.1.1.300", 'via "10.1.1.300" is not an IPv4 address'],
    ["10.1.2.0/33 via 10.1.1.3", "the prefix length must be 0 to 32"],
    ["10.1.2.5/24 via 10.1.1.3", "has host bits set beyond the prefix; the network is 10.1.2.0/24"],
    ["10.1.2.0/24", "needs a gateway (via GW) or a device (dev IF)"],
    ["10.1.2.0/24 via 10.1.1.3 table 5", 'unknown word "table"'],
    ["10.1.2.0/24 via", '"via" needs a value'],
    ["10.1.2.0/24 via 10.1.1.3 via 10.1.1.4", '"via" is given twice'],
    ["10.1.2.0/24 dev ../../etc", "is not an interface name"],
    ["10.1.2.0 255.255.255.0 0.0.0.0", "0.0.0.0 (directly connected) needs a device"],
    ["10.1.2.0 255.255.0.255 10.1.1.3", "not a contiguous IPv4 netmask"],
    ["010.1.2.0/24 via 10.1.1.3", "is not an IPv4 address"],
  ];
  for (const [line, why] of cases) {
    test(`${JSON.stringify(line)} → ${why}`, () => {
      const file = parseRouteFile(`10.5.0.0/16 via 10.1.1.1\n${line}\n10.6.0.0/16 via 10.1.1.1`, "route/h1");
      expect(file.problems.map(formatLineProblem)).toEqual([expect.stringContaining(`route/h1:2: `)]);
      expect(file.problems[0]?.message).toContain(why);
      // The good lines around it still count.
      expect(file.routes.map((route) => route.dst)).toEqual(["10.5.0.0", "10.6.0.0"]);
    });
  }
});

describe("duplicates", () => {
  test("a second, different route to the same destination and metric is a problem; the first is kept", () => {
    const file = parseRouteFile("10.1.2.0/24 via 10.1.1.3\n10.1.2.0 255.255.255.0 10.1.1.3\n10.1.2.0/24 via 10.1.1.4\n10.1.2.0/24 via 10.1.1.4 metric 9", "r");
    const unique = dropDuplicates(file.routes);
    expect(unique.routes.map((route) => `${route.gateway} ${route.metric}`)).toEqual(["10.1.1.3 0", "10.1.1.4 9"]);
    expect(unique.problems.map(formatLineProblem)).toEqual(["r:3: a second route to 10.1.2.0/24 metric 0 (the first, at r:1, is kept)"]);
  });
});

describe("site.conf default route", () => {
  const site = (text: string) => siteDefaultRoute(defaultRouteSetting(parseSiteConf(text, "site.conf")));

  test("default_router alone is the default route", () => {
    expect(site("default_router = 10.0.0.1").route).toMatchObject({ dst: "0.0.0.0", prefixLength: 0, gateway: "10.0.0.1", syntax: "site.conf", origin: { file: "site.conf", line: 1 } });
  });

  test("default_dest in CIDR, address + netmask, or 'default'", () => {
    expect(site("[benito]\ndefault_router = 10.0.0.1\ndefault_dest = 192.168.0.0/16").route).toMatchObject({ dst: "192.168.0.0", prefixLength: 16 });
    expect(site("default_router: 10.0.0.1\ndefault_dest: 192.168.0.0 255.255.0.0").route).toMatchObject({ dst: "192.168.0.0", prefixLength: 16 });
    expect(site("default_router=10.0.0.1\ndefault_dest=default").route).toMatchObject({ dst: "0.0.0.0", prefixLength: 0 });
  });

  test("no default_router: no route; a bad value: a problem naming the line", () => {
    expect(site("default_dest = 10.0.0.0/8")).toEqual({});
    expect(site("# c\ndefault_router = 10.0.0.1\ndefault_dest = 10.0.0.0").problem).toEqual({ file: "site.conf", line: 3, message: 'default_dest "10.0.0.0" needs a prefix length or netmask (e.g. 10.0.0.0/8), or "default"' });
    expect(site("default_router = gateway.example").problem?.message).toContain("is not an IPv4 address");
  });
});
