// Integration (root) in one namespace: site.conf's default route, --table, --wait for a late interface, --json, input errors (compiled binary).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito, benitoBinary } from "../helpers/binary";
import { NamespaceSet, inNamespace, ip } from "../helpers/netns";
import { isRoot } from "../helpers/root";

describe("routes command line (no kernel needed)", () => {
  const folder = mkdtempSync(join(tmpdir(), "benito-routes-cli-"));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  test("a missing route file is an I/O failure naming both spellings (exit 1), before anything changes", async () => {
    const result = await benito(["routes", folder, "nohost"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`benito: while reading the routes on ${folder}/route/nohost: no route file for host nohost (neither ${folder}/route/nohost nor ${folder}/routes/nohost exists)\n`);
  });

  test("a HOSTNAME that is a path is refused; bad options are usage errors (exit 2)", async () => {
    expect((await benito(["routes", folder, "../etc"])).code).toBe(3);
    expect((await benito(["routes", "--table", "0", folder, "h"])).code).toBe(2);
    expect((await benito(["routes", "--wait", "soon", folder, "h"])).code).toBe(2);
    expect((await benito(["routes", folder, "h", "extra"])).code).toBe(2);
  });
});

describe.skipIf(!isRoot)("routes in a namespace (compiled binary)", () => {
  const set = new NamespaceSet();
  let space = "";
  const folder = mkdtempSync(join(tmpdir(), "benito-routes-ns-"));
  const routes = (...args: string[]) => inNamespace(space, [benitoBinary, "routes", ...args], { timeoutMs: 20_000 });
  const table = async (...select: string[]) => (await ip("-n", space, "-4", "route", "show", ...select)).trim().split("\n").map((line) => line.trim()).join("\n");

  beforeAll(async () => {
    space = await set.add("rt");
    await ip("-n", space, "link", "add", "e0", "type", "veth", "peer", "name", "e0p");
    await ip("-n", space, "link", "set", "e0p", "up");
    await ip("-n", space, "link", "set", "e0", "up");
    await ip("-n", space, "addr", "add", "10.5.0.2/24", "dev", "e0");
    // e1 exists with an address but stays down until a test brings it up.
    await ip("-n", space, "link", "add", "e1", "type", "veth", "peer", "name", "e1p");
    await ip("-n", space, "link", "set", "e1p", "up");
    await ip("-n", space, "addr", "add", "10.6.0.2/24", "dev", "e1");
    mkdirSync(join(folder, "route"));
  });
  afterAll(async () => {
    await set.cleanup();
    rmSync(folder, { recursive: true, force: true });
  });

  test("site.conf's default_router/default_dest become a route with benito's mark", async () => {
    writeFileSync(join(folder, "route", "n1"), "# no routes of its own\n");
    writeFileSync(join(folder, "site.conf"), "[benito]\ndefault_router = 10.5.0.1\ndefault_dest = 172.16.0.0/12\n");
    const result = await routes(folder, "n1");
    expect([result.code, result.stdout]).toEqual([0, "benito routes: 1 added, 0 changed, 0 removed, 0 unchanged, 0 failed\n"]);
    expect(await table("proto", "183")).toBe("172.16.0.0/12 via 10.5.0.1 dev e0");
    writeFileSync(join(folder, "site.conf"), "default_router = 10.5.0.1\n");
    expect((await routes(folder, "n1")).stdout).toBe("benito routes: 1 added, 0 changed, 1 removed, 0 unchanged, 0 failed\n");
    expect(await table("proto", "183")).toBe("default via 10.5.0.1 dev e0");
    rmSync(join(folder, "site.conf"));
    expect((await routes(folder, "n1")).stdout).toBe("benito routes: 0 added, 0 changed, 1 removed, 0 unchanged, 0 failed\n");
  });

  test("--table N installs into that table only, and converges there", async () => {
    writeFileSync(join(folder, "route", "n1"), "10.70.0.0/16 via 10.5.0.1\n");
    expect((await routes("--table", "100", folder, "n1")).code).toBe(0);
    expect(await table("table", "100")).toBe("10.70.0.0/16 via 10.5.0.1 dev e0 proto 183");
    expect(await table("proto", "183")).toBe("");
    writeFileSync(join(folder, "route", "n1"), "");
    expect((await routes("--table", "100", folder, "n1")).stdout).toBe("benito routes: 0 added, 0 changed, 1 removed, 0 unchanged, 0 failed\n");
    expect(await table("table", "100")).toBe("");
  });

  test("--wait: a route through an interface that comes up later is installed once it is up", async () => {
    writeFileSync(join(folder, "route", "n1"), "10.80.0.0/16 via 10.6.0.1\n10.81.0.0/16 dev e1\n");
    const started = routes("--wait", "10", folder, "n1");
    await Bun.sleep(400);
    await ip("-n", space, "link", "set", "e1", "up");
    const result = await started;
    expect([result.code, result.stdout, result.stderr]).toEqual([0, "benito routes: 2 added, 0 changed, 0 removed, 0 unchanged, 0 failed\n", ""]);
    expect(await table("proto", "183")).toBe("10.80.0.0/16 via 10.6.0.1 dev e1\n10.81.0.0/16 dev e1 scope link");
  });

  test("--wait is bounded: an interface that never comes up is reported after the wait (exit 1)", async () => {
    await ip("-n", space, "link", "set", "e1", "down");
    writeFileSync(join(folder, "route", "n1"), "10.80.0.0/16 via 10.6.0.1\n10.90.0.0/16 via 10.5.0.1\n");
    const begun = performance.now();
    const result = await routes("--wait", "0.5", "--json", folder, "n1");
    expect(performance.now() - begun).toBeGreaterThanOrEqual(450);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.routes.map((route: { destination: string; status: string; error: string | null }) => [route.destination, route.status, route.error])).toEqual([
      ["10.90.0.0/16", "added", null],
      ["10.80.0.0/16", "failed", "gateway 10.6.0.1 is on 10.6.0.0/24, whose interface e1 is not up"],
    ]);
    expect(result.stderr).toContain(`benito: while installing 10.80.0.0/16 via 10.6.0.1 on ${folder}/route/n1:1: gateway 10.6.0.1 is on 10.6.0.0/24, whose interface e1 is not up`);
  });

  test("a route the kernel refuses is reported with the kernel's words (exit 1); the others still apply", async () => {
    // 10.5.0.255 is on the subnet but is its broadcast address: only the kernel knows to refuse it.
    writeFileSync(join(folder, "route", "n1"), "10.91.0.0/16 via 10.5.0.255\n10.92.0.0/16 via 10.5.0.1\n");
    const result = await routes("--wait", "0", folder, "n1");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^benito: while installing 10\.91\.0\.0\/16 via 10\.5\.0\.255 on .*route\/n1:1: .*Nexthop has invalid gateway\n$/);
    expect(await table("proto", "183")).toBe("10.92.0.0/16 via 10.5.0.1 dev e0");
  });
});
