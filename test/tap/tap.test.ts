// `benito tap create|delete`: persistent TAPs made inside a throwaway namespace, and name checks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { benito, benitoBinary } from "../helpers/binary";
import { inNamespace, ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";

describe("tap names the kernel refuses are input errors (exit 3)", () => {
  for (const name of ["0123456789abcdef", "a/b", "a b", "a:b", ".", "..", "tap%d", ""]) {
    test(JSON.stringify(name), async () => {
      const result = await benito(["tap", "create", name]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("benito: while checking the interface name");
    });
  }

  test("a bad MAC is an input error", async () => {
    const result = await benito(["tap", "create", "ok0", "--mac", "01:00:00:00:00:01"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("multicast");
  }, 60_000);

  test("a non-numeric owner is a usage error", async () => {
    const result = await benito(["tap", "create", "ok0", "--owner", "bob"]);
    expect(result.code).toBe(2);
  }, 60_000);
});

describe.skipIf(!isRoot)("tap create/delete in a namespace (root)", () => {
  const namespaces = new NamespaceSet();
  let ns = "";

  beforeAll(async () => {
    ns = await namespaces.add("tap");
  }, 60_000);
  afterAll(() => namespaces.cleanup(), 60_000);

  test("create makes a persistent TAP with owner, group and MAC; again is an update; delete removes it", async () => {
    const created = await inNamespace(ns, [benitoBinary, "tap", "create", "tq0", "--owner", "1234", "--group", "4321", "--mac", "02:00:0a:01:01:02"]);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toBe("created TAP tq0\n");

    const details = await ip("-n", ns, "-d", "link", "show", "tq0");
    expect(details).toContain("link/ether 02:00:0a:01:01:02");
    expect(details).toMatch(/tun type tap pi off vnet_hdr off persist on user 1234 group 4321/);

    const again = await inNamespace(ns, [benitoBinary, "tap", "create", "tq0"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe("updated TAP tq0\n");

    const deleted = await inNamespace(ns, [benitoBinary, "tap", "delete", "tq0"]);
    expect(deleted.code).toBe(0);
    expect(await ip("-n", ns, "link", "show")).not.toContain("tq0");
  }, 60_000);

  test("delete of a missing TAP fails (exit 1) and says so", async () => {
    const result = await inNamespace(ns, [benitoBinary, "tap", "delete", "nosuch0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no such interface");
  }, 60_000);

  test("create over a non-TAP interface fails and leaves it alone", async () => {
    await ip("-n", ns, "link", "add", "dum0", "type", "veth", "peer", "name", "dum1");
    const result = await inNamespace(ns, [benitoBinary, "tap", "create", "dum0"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is not a TAP device");
    expect(await ip("-n", ns, "-d", "link", "show", "dum0")).toContain("veth");
  }, 60_000);
});
