// The embedded_pnode platform for real (root): `benito vm launch` run inside a test namespace standing in for the host configures its NIC and routes.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ip, inNamespace, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { benitoBinary } from "../helpers/binary";
import { topology } from "../vm/fixture";

describe.skipIf(!isRoot)("embedded_pnode platform (live, in a test namespace)", () => {
  const namespaces = new NamespaceSet();
  const dir = mkdtempSync(join(tmpdir(), "benito-embedded-"));
  afterAll(async () => {
    await namespaces.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("launch gives the host's NIC its TopDL address and installs its routes; stop and status change nothing", async () => {
    const ns = await namespaces.add("host");
    // A veth pair inside the namespace (its peer up, so nic0 has carrier) stands in for the host's NIC.
    await ip("-n", ns, "link", "add", "nic0", "address", "02:00:0a:d7:00:01", "type", "veth", "peer", "name", "nic0p");
    await ip("-n", ns, "link", "set", "nic0p", "up");
    const config = join(dir, "config");
    mkdirSync(join(config, "route"), { recursive: true });
    writeFileSync(
      join(config, "topo.xml"),
      topology("/run/vde/unused", [{ name: "phys1", type: "process", address: "10.216.0.1", mac: "02:00:0a:d7:00:01", port: 1 }]).replace(
        "<value>process</value>",
        "<value>embedded_pnode</value>",
      ),
    );
    writeFileSync(join(config, "route", "phys1"), "10.217.0.0/16 via 10.216.0.254\n");
    const launched = await inNamespace(ns, [benitoBinary, "vm", "launch", "phys1", config, "--run-dir", join(dir, "run")], { timeoutMs: 30_000 });
    expect(launched.stderr).toBe("");
    expect(launched.code).toBe(0);
    expect(await ip("-n", ns, "-4", "-o", "addr", "show", "dev", "nic0")).toContain("10.216.0.1/24");
    expect(await ip("-n", ns, "route", "show", "10.217.0.0/16")).toContain("via 10.216.0.254 dev nic0");
    // What ifaces set is recorded in this run's ledger, not in the default /run/benito.
    expect(existsSync(join(dir, "run", "ledger", "addresses.phys1.json"))).toBe(true);
    const status = await inNamespace(ns, [benitoBinary, "vm", "status", "phys1", config, "--run-dir", join(dir, "run")]);
    expect(status.stdout).toBe("phys1: embedded_pnode: nothing runs\n");
    const stopped = await inNamespace(ns, [benitoBinary, "vm", "stop", "phys1", config, "--run-dir", join(dir, "run")]);
    expect(stopped.code).toBe(0);
    expect(await ip("-n", ns, "-4", "-o", "addr", "show", "dev", "nic0")).toContain("10.216.0.1/24");
  }, 60_000);
});
