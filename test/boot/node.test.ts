// boot and down for a node that configures only itself: its interfaces and routes, and down removes only benito's.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benitoBinary } from "../helpers/binary";
import { inNamespace, ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";

// Real namespaces, switches and processes: each test and hook waits on them (every wait inside is bounded).
setDefaultTimeout(120_000);

const attr = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;

describe.skipIf(!isRoot)("boot/down of a node (root, namespace)", () => {
  const namespaces = new NamespaceSet();
  let ns = "";
  let dir = "";

  beforeAll(async () => {
    ns = await namespaces.add("node");
    await ip("-n", ns, "link", "add", "e0", "address", "02:bb:00:00:00:01", "type", "veth", "peer", "name", "p0");
    await ip("-n", ns, "link", "set", "p0", "up");
    await ip("-n", ns, "addr", "add", "10.66.0.9/24", "dev", "e0");
    dir = mkdtempSync(join(tmpdir(), `${namespaces.prefix}-`));
    mkdirSync(join(dir, "config", "route"), { recursive: true });
    writeFileSync(join(dir, "config", "topo.xml"), `<experiment><version>2.0</version><substrates><name>lan0</name></substrates><elements><computer><name>n1</name><interface><substrate>lan0</substrate><name>inf000</name>${attr("ip4_address", "10.1.0.2")}${attr("ip4_netmask", "255.255.255.0")}${attr("benito:mac_address", "02:bb:00:00:00:01")}</interface>${attr("benito:node_type", "embedded_pnode")}</computer></elements></experiment>`);
    writeFileSync(join(dir, "config", "route", "n1"), "10.2.0.0/16 via 10.1.0.1\n");
  });

  afterAll(async () => {
    await namespaces.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (command: string) => inNamespace(ns, [benitoBinary, command, "--run-dir", join(dir, "run"), "--log-file", join(dir, "log"), join(dir, "config"), "n1"]);

  test("boot configures the interface and the route and records both stages", async () => {
    const result = await run("boot");
    expect(result.code).toBe(0);
    expect(await ip("-n", ns, "-4", "addr", "show", "e0")).toContain("10.1.0.2/24");
    expect(await ip("-n", ns, "route", "show", "10.2.0.0/16")).toContain("via 10.1.0.1 dev e0 proto 183");
    const status = JSON.parse(readFileSync(join(dir, "run", "status.json"), "utf8"));
    expect(status.role).toBe("node");
    expect(status.stages.map((stage: { id: string }) => stage.id)).toEqual(["ifaces", "routes"]);
    expect(readFileSync(join(dir, "log"), "utf8")).toContain("routes: ok");
  });

  test("status sees no drift; a route deleted by hand is drift", async () => {
    expect((await inNamespace(ns, [benitoBinary, "status", "--run-dir", join(dir, "run"), join(dir, "config"), "n1"])).code).toBe(0);
    await ip("-n", ns, "route", "del", "10.2.0.0/16");
    const drift = await inNamespace(ns, [benitoBinary, "status", "--json", "--run-dir", join(dir, "run"), join(dir, "config"), "n1"]);
    expect(drift.code).toBe(1);
    expect(JSON.parse(drift.stdout).checks.find((check: { id: string }) => check.id === "routes").ok).toBe(false);
    expect((await run("boot")).code).toBe(0);
  });

  test("down removes benito's route and address and keeps the hand-added address", async () => {
    const result = await run("down");
    expect(result.code).toBe(0);
    const addresses = await ip("-n", ns, "-4", "addr", "show", "e0");
    expect(addresses).not.toContain("10.1.0.2");
    expect(addresses).toContain("10.66.0.9/24");
    expect(await ip("-n", ns, "route", "show", "proto", "183")).toBe("");
  });
});
