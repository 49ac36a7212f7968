// The rtnetlink layer against the real kernel, in a throwaway namespace (driven by driver.ts; the test process never touches its own namespace).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { BENITO_RTPROT } from "../../src/system/netlink/constants";
import type { LinkInfo, RequestOutcome, Route, RouteRequest } from "../../src/system/netlink/types";
import { inNamespace, ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";

const driver = resolve(import.meta.dir, "driver.ts");

type Result = { value: unknown; error?: undefined; errno?: undefined } | { value?: undefined; error: string; errno?: number };

describe.skipIf(!isRoot)("Rtnl in a network namespace", () => {
  const namespaces = new NamespaceSet();
  let ns = "";
  // Link names carry the set's unique prefix (they also die with the namespace).
  const a = `${namespaces.prefix}a`;
  const b = `${namespaces.prefix}b`;
  const bridge = `${namespaces.prefix}br`;
  let aIndex = 0;

  /** Runs operations in the namespace; one process, one Rtnl instance. */
  async function drive(ops: unknown[][], bufferBytes?: number): Promise<Result[]> {
    const result = await inNamespace(ns, [process.execPath, driver], { stdin: JSON.stringify({ ops, ...(bufferBytes === undefined ? {} : { bufferBytes }) }), timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`driver failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as Result[];
  }

  /** One operation's value; fails the test with the error when it threw. */
  async function one<T>(...op: unknown[]): Promise<T> {
    const [result] = await drive([op]);
    if (result?.error !== undefined) throw new Error(result.error);
    return result?.value as T;
  }

  /** What iproute2 sees, as JSON: the independent observer of every change. */
  async function ipJson<T>(...args: string[]): Promise<T> {
    return JSON.parse(await ip("-n", ns, "-j", ...args)) as T;
  }

  beforeAll(async () => {
    ns = await namespaces.add("nl");
    await ip("-n", ns, "link", "add", a, "address", "02:00:5e:10:00:01", "type", "veth", "peer", "name", b);
    aIndex = (await ipJson<{ ifindex: number }[]>("link", "show", a))[0]?.ifindex ?? 0;
  });

  afterAll(async () => {
    await namespaces.cleanup();
  });

  test("finds links by name, index and MAC, and lists them", async () => {
    const [byName, missingName, longName, byIndex, missingIndex, byMac, missingMac, all] = await drive([
      ["linkByName", a],
      ["linkByName", `${namespaces.prefix}none`],
      ["linkByName", "x".repeat(20)],
      ["linkByIndex", aIndex],
      ["linkByIndex", 99999],
      ["linkByMac", "02:00:5E:10:00:01"],
      ["linkByMac", "02:00:5e:10:00:99"],
      ["links"],
    ]);
    const expected = { index: aIndex, name: a, mac: "02:00:5e:10:00:01", up: false, lowerUp: false, mtu: 1500, kind: "veth", master: 0 };
    expect(byName?.value).toEqual(expected);
    expect(missingName?.value).toBeNull();
    expect(longName?.value).toBeNull();
    expect(byIndex?.value).toEqual(expected);
    expect(missingIndex?.value).toBeNull();
    expect(byMac?.value).toEqual(expected);
    expect(missingMac?.value).toBeNull();
    const names = (all?.value as LinkInfo[]).map((link) => link.name).sort();
    expect(names).toEqual(["lo", a, b].sort());
  });

  test("sets a link up and down", async () => {
    await one("setLinkUp", aIndex, true);
    expect((await ipJson<{ flags: string[] }[]>("link", "show", a))[0]?.flags).toContain("UP");
    expect((await one<LinkInfo>("linkByIndex", aIndex)).up).toBe(true);
    await one("setLinkUp", aIndex, false);
    expect((await ipJson<{ flags: string[] }[]>("link", "show", a))[0]?.flags).not.toContain("UP");
    expect((await one<LinkInfo>("linkByIndex", aIndex)).up).toBe(false);
  });

  test("sets a hardware address, and refuses a malformed one", async () => {
    const [set, bad] = await drive([
      ["setLinkMac", aIndex, "02:00:5E:10:00:42"],
      ["setLinkMac", aIndex, "02:00:5e:10:00"],
    ]);
    expect(set?.error).toBeUndefined();
    expect((await ipJson<{ address: string }[]>("link", "show", a))[0]?.address).toBe("02:00:5e:10:00:42");
    expect(bad?.error).toContain('"02:00:5e:10:00" is not a MAC address');
    await one("setLinkMac", aIndex, "02:00:5e:10:00:01");
  });

  test("adds and deletes IPv4 addresses, with the kernel's own error messages", async () => {
    const [added, again, replaced, listed] = await drive([
      ["addAddress", aIndex, "10.77.0.1", 24],
      ["addAddress", aIndex, "10.77.0.1", 24],
      ["addAddress", aIndex, "10.77.0.1", 24, { replace: true }],
      ["addresses", aIndex],
    ]);
    expect(added?.error).toBeUndefined();
    expect(again?.errno).toBe(17);
    expect(again?.error).toBe(`benito: while adding address 10.77.0.1/24 on link ${aIndex}: File exists: ipv4: Address already assigned`);
    expect(replaced?.error).toBeUndefined();
    expect(listed?.value).toEqual([{ index: aIndex, address: "10.77.0.1", prefixLength: 24, label: a, broadcast: "10.77.0.255" }]);
    const shown = await ipJson<{ addr_info: { family: string; local: string; prefixlen: number; broadcast?: string }[] }[]>("addr", "show", "dev", a);
    expect(shown[0]?.addr_info.filter((info) => info.family === "inet")).toEqual([expect.objectContaining({ local: "10.77.0.1", prefixlen: 24, broadcast: "10.77.0.255" })]);

    const [deleted, deletedAgain, after] = await drive([
      ["deleteAddress", aIndex, "10.77.0.1", 24],
      ["deleteAddress", aIndex, "10.77.0.1", 24],
      ["addresses", aIndex],
    ]);
    expect(deleted?.error).toBeUndefined();
    expect(deletedAgain?.errno).toBe(99);
    expect(deletedAgain?.error).toContain("Cannot assign requested address");
    expect(after?.value).toEqual([]);
    expect(await ip("-n", ns, "-4", "addr", "show", "dev", a)).not.toContain("10.77.0.1");
  });

  describe("routes", () => {
    const route = (fields: Partial<Route> & Pick<Route, "dst" | "prefixLength">): Route => ({ protocol: BENITO_RTPROT, table: 254, scope: 0, ...fields });

    beforeAll(async () => {
      await ip("-n", ns, "addr", "add", "10.88.0.1/24", "dev", a);
      await ip("-n", ns, "link", "set", a, "up");
      await ip("-n", ns, "link", "set", b, "up");
    });

    test("replace installs marked routes with metric, gateway, interface and source; a second replace changes them", async () => {
      const outcomes = await one<RequestOutcome[]>("applyRoutes", [
        { action: "replace", route: route({ dst: "10.90.0.0", prefixLength: 16, gateway: "10.88.0.2", metric: 20 }) },
        { action: "replace", route: route({ dst: "10.91.0.0", prefixLength: 24, oif: aIndex, scope: 253, src: "10.88.0.1" }) },
        { action: "replace", route: route({ dst: "10.92.0.0", prefixLength: 16, gateway: "10.88.0.2", table: 1000 }) },
      ] satisfies RouteRequest[]);
      expect(outcomes).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
      const shown = await ipJson<Record<string, unknown>[]>("route", "show", "table", "all", "proto", String(BENITO_RTPROT));
      // iproute2 lists table 1000 before main.
      expect(shown).toEqual([
        expect.objectContaining({ dst: "10.92.0.0/16", gateway: "10.88.0.2", dev: a, table: "1000" }),
        expect.objectContaining({ dst: "10.90.0.0/16", gateway: "10.88.0.2", dev: a, metric: 20 }),
        expect.objectContaining({ dst: "10.91.0.0/24", dev: a, scope: "link", prefsrc: "10.88.0.1" }),
      ]);

      const [main, other, all] = await drive([["routes", 254], ["routes", 1000], ["routes"]]);
      expect(main?.value).toEqual([
        { dst: "10.88.0.0", prefixLength: 24, oif: aIndex, src: "10.88.0.1", metric: 0, protocol: 2, table: 254, scope: 253 },
        { dst: "10.90.0.0", prefixLength: 16, gateway: "10.88.0.2", oif: aIndex, metric: 20, protocol: BENITO_RTPROT, table: 254, scope: 0 },
        { dst: "10.91.0.0", prefixLength: 24, oif: aIndex, src: "10.88.0.1", metric: 0, protocol: BENITO_RTPROT, table: 254, scope: 253 },
      ]);
      expect(other?.value).toEqual([{ dst: "10.92.0.0", prefixLength: 16, gateway: "10.88.0.2", oif: aIndex, metric: 0, protocol: BENITO_RTPROT, table: 1000, scope: 0 }]);
      expect((all?.value as Route[]).length).toBe(4);

      await ip("-n", ns, "addr", "add", "10.88.0.3/32", "dev", a);
      expect(await one<RequestOutcome[]>("applyRoutes", [{ action: "replace", route: route({ dst: "10.90.0.0", prefixLength: 16, gateway: "10.88.0.3", metric: 20 }) }])).toEqual([{ ok: true }]);
      expect(await ipJson("route", "show", "10.90.0.0/16")).toEqual([expect.objectContaining({ gateway: "10.88.0.3", metric: 20 })]);
    });

    test("delete removes only benito's route; missing routes and foreign routes give the kernel's answer", async () => {
      await ip("-n", ns, "route", "add", "10.93.0.0/16", "via", "10.88.0.2", "proto", "static");
      await one("applyRoutes", [{ action: "replace", route: route({ dst: "10.94.0.0", prefixLength: 16, gateway: "10.88.0.2" }) }]);
      const outcomes = await one<RequestOutcome[]>("applyRoutes", [
        { action: "delete", route: route({ dst: "10.94.0.0", prefixLength: 16 }) },
        { action: "delete", route: route({ dst: "10.94.0.0", prefixLength: 16 }) },
        { action: "delete", route: route({ dst: "10.93.0.0", prefixLength: 16 }) },
      ] satisfies RouteRequest[]);
      expect(outcomes).toEqual([{ ok: true }, { ok: false, errno: 3, message: "No such process" }, { ok: false, errno: 3, message: "No such process" }]);
      expect(await ip("-n", ns, "route", "show", "10.94.0.0/16")).toBe("");
      expect(await ipJson("route", "show", "10.93.0.0/16")).toEqual([expect.objectContaining({ protocol: "static" })]);
    });

    test("an unreachable gateway is refused with the kernel's extended-ACK message", async () => {
      const outcomes = await one<RequestOutcome[]>("applyRoutes", [{ action: "replace", route: route({ dst: "10.95.0.0", prefixLength: 16, gateway: "10.200.0.1" }) }]);
      expect(outcomes).toEqual([{ ok: false, errno: 101, message: "Network is unreachable: Nexthop has invalid gateway", kernelMessage: "Nexthop has invalid gateway" }]);
    });

    test("the kernel applies a batch in order: a gateway made reachable earlier in the batch works, later does not", async () => {
      const onLink = route({ dst: "10.60.0.0", prefixLength: 24, oif: aIndex, scope: 253, table: 3000 });
      const viaOnLink = route({ dst: "10.61.0.0", prefixLength: 16, gateway: "10.60.0.1", table: 3000 });
      const unreachable = { ok: false, errno: 101, message: "Network is unreachable: Nexthop has invalid gateway", kernelMessage: "Nexthop has invalid gateway" };
      const [reversed, cleared, ordered] = await drive([
        [
          "applyRoutes",
          [
            { action: "replace", route: viaOnLink },
            { action: "replace", route: onLink },
          ],
        ],
        ["applyRoutes", [{ action: "delete", route: onLink }]],
        [
          "applyRoutes",
          [
            { action: "replace", route: onLink },
            { action: "replace", route: viaOnLink },
          ],
        ],
      ]);
      expect(reversed?.value).toEqual([unreachable, { ok: true }]);
      expect(cleared?.value).toEqual([{ ok: true }]);
      expect(ordered?.value).toEqual([{ ok: true }, { ok: true }]);
      expect(await ip("-n", ns, "route", "show", "table", "3000", "10.61.0.0/16")).toContain("via 10.60.0.1");
    });

    test("a batch of 1,000 routes larger than the socket buffers: the bad ones fail alone, the good ones land", async () => {
      const requests: RouteRequest[] = [];
      for (let i = 0; i < 1000; i++) requests.push({ action: "replace", route: route({ dst: `10.${100 + (i >> 8)}.${i & 255}.0`, prefixLength: 24, gateway: "10.88.0.2", table: 2000 }) });
      const bad = new Map<number, Route>([
        [10, route({ dst: "10.200.10.0", prefixLength: 24, gateway: "10.201.0.1", table: 2000 })],
        [500, route({ dst: "10.200.50.1", prefixLength: 24, gateway: "10.88.0.2", table: 2000 })],
        [999, route({ dst: "10.200.99", prefixLength: 24, gateway: "10.88.0.2", table: 2000 })],
      ]);
      for (const [index, wrong] of bad) requests[index] = { action: "replace", route: wrong };
      // 64 KiB buffers hold far fewer ACKs than 1,000: without chunking the kernel would drop answers.
      const [applied, dumped] = await drive(
        [
          ["applyRoutes", requests],
          ["routes", 2000],
        ],
        65536,
      );
      expect(applied?.error).toBeUndefined();
      const outcomes = applied?.value as RequestOutcome[];
      expect(outcomes.length).toBe(1000);
      expect(outcomes[10]).toEqual({ ok: false, errno: 101, message: "Network is unreachable: Nexthop has invalid gateway", kernelMessage: "Nexthop has invalid gateway" });
      expect(outcomes[500]).toEqual({ ok: false, errno: 22, message: "Invalid argument: Invalid prefix for given prefix length", kernelMessage: "Invalid prefix for given prefix length" });
      expect(outcomes[999]).toEqual({ ok: false, errno: 22, message: 'invalid destination address "10.200.99"' });
      expect(outcomes.filter((outcome) => outcome.ok).length).toBe(997);
      expect((dumped?.value as Route[]).length).toBe(997);
      const shown = (await ip("-n", ns, "route", "show", "table", "2000", "proto", String(BENITO_RTPROT))).trim().split("\n").map((line) => line.trim());
      expect(shown.length).toBe(997);
      expect(shown).toContain("10.101.0.0/24 via 10.88.0.2 dev " + a);

      const removed = await one<RequestOutcome[]>("applyRoutes", requests.map((request) => ({ action: "delete", route: request.route })));
      expect(removed.filter((outcome) => outcome.ok).length).toBe(997);
      expect(await ip("-n", ns, "route", "show", "table", "2000")).toBe("");
    });
  });

  test("creates a bridge, enslaves and releases a port, renames and deletes it", async () => {
    const created = await one<LinkInfo>("createBridge", bridge);
    expect(created).toEqual(expect.objectContaining({ name: bridge, kind: "bridge", up: false }));
    const [again, enslaved, port] = await drive([["createBridge", bridge], ["setLinkMaster", aIndex, created.index], ["linkByIndex", aIndex]]);
    expect(again?.errno).toBe(17);
    expect(again?.error).toContain(`while creating the bridge on ${bridge}: File exists`);
    expect(enslaved?.error).toBeUndefined();
    expect((port?.value as LinkInfo).master).toBe(created.index);
    expect((await ipJson<{ master?: string }[]>("link", "show", a))[0]?.master).toBe(bridge);

    // A bridge sharing its port's MAC: the lookup by MAC still finds the port.
    await ip("-n", ns, "link", "set", bridge, "address", "02:00:5e:10:00:01");
    expect((await one<LinkInfo>("linkByMac", "02:00:5e:10:00:01")).index).toBe(aIndex);

    const renamed = `${namespaces.prefix}bq`;
    const [released, renamedResult, deleted, deletedAgain] = await drive([
      ["setLinkMaster", aIndex, 0],
      ["setLinkName", created.index, renamed],
      ["deleteLink", created.index],
      ["deleteLink", created.index],
    ]);
    expect(released?.error).toBeUndefined();
    expect(renamedResult?.error).toBeUndefined();
    expect(deleted?.error).toBeUndefined();
    expect(deletedAgain?.errno).toBe(19);
    expect(deletedAgain?.error).toContain("No such device");
    expect((await ipJson<{ master?: string }[]>("link", "show", a))[0]?.master).toBeUndefined();
    expect((await ipJson<{ ifname: string }[]>("link", "show")).map((link) => link.ifname)).not.toContain(renamed);
  });

  test("deleteLinks deletes many links in one group deletion, says how each went, and leaves every other link alone", async () => {
    const doomed = Array.from({ length: 6 }, (_, i) => `${namespaces.prefix}d${i}`);
    const bystander = `${namespaces.prefix}keep`;
    for (const name of [...doomed, bystander]) await ip("-n", ns, "link", "add", name, "type", "ifb");
    // A link already in a group of its own (an operator's) is neither picked nor deleted.
    await ip("-n", ns, "link", "set", bystander, "group", "7");
    const links = await ipJson<{ ifname: string; ifindex: number }[]>("link", "show");
    const indexOf = (name: string) => links.find((link) => link.ifname === name)?.ifindex ?? 0;
    const missing = 0x7ffffff0;
    // The kernel's own word on how they went: each "Deleted" notification carries the link's group,
    // one large group for all of them when they went in one group deletion ("default" one by one).
    const monitor = Bun.spawn(["ip", "-n", ns, "-o", "monitor", "link"], { stdout: "pipe", stderr: "ignore" });
    const seen: string[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of monitor.stdout) seen.push(...decoder.decode(chunk).split("\n"));
    })();
    const waitSeen = async (match: (line: string) => boolean, count: number, limitMs = 10_000) => {
      for (let waited = 0; waited < limitMs && seen.filter(match).length < count; waited += 20) await Bun.sleep(20);
    };
    const sentinel = `${namespaces.prefix}mon`;
    await ip("-n", ns, "link", "add", sentinel, "type", "ifb");
    // The monitor listens once it reports a change to the sentinel (made again until it does).
    for (let round = 0; round < 100 && !seen.some((line) => line.includes(sentinel)); round += 1) {
      await ip("-n", ns, "link", "set", sentinel, "alias", `round ${round}`);
      await waitSeen((line) => line.includes(sentinel), 1, 100);
    }
    const [result, listed] = await drive([["deleteLinks", [...doomed.map(indexOf), missing]], ["links"]]);
    await waitSeen((line) => line.startsWith("Deleted"), doomed.length);
    monitor.kill();
    await reading;
    const groups = new Set(seen.filter((line) => line.startsWith("Deleted")).map((line) => /group (\S+)/.exec(line)?.[1]));
    expect(groups.size).toBe(1);
    expect(Number([...groups][0])).toBeGreaterThanOrEqual(0x40000000);
    await ip("-n", ns, "link", "del", sentinel);
    const outcomes = result?.value as (object | null)[];
    expect(outcomes.slice(0, doomed.length)).toEqual(doomed.map(() => null));
    // The missing one failed alone, with the kernel's answer (as deleteLink gives it).
    expect(outcomes[doomed.length]).not.toBeNull();
    const left = (await ipJson<{ ifname: string; group: string }[]>("link", "show")).map((link) => `${link.ifname} ${link.group}`);
    for (const name of doomed) expect(left.some((line) => line.startsWith(`${name} `))).toBe(false);
    expect(left).toContain(`${bystander} 7`);
    expect(left).toContain(`${a} default`);
    expect(left).toContain(`${b} default`);
    // The dump reads the group back; links in the default group have none.
    const decoded = listed?.value as { name: string; group?: number }[];
    expect(decoded.find((link) => link.name === bystander)?.group).toBe(7);
    expect(decoded.find((link) => link.name === a)?.group).toBeUndefined();
  }, 30_000);

  test("leaks no file descriptor, also after refused requests", async () => {
    const [before, , after] = await drive([["fdCount"], ["openClose", 50], ["fdCount"]]);
    expect(typeof before?.value).toBe("number");
    expect(after?.value).toBe(before?.value);
  });
});
