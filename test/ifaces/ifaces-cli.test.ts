// `benito ifaces` input errors through the compiled binary: they stop before anything changes (exit 3).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito } from "../helpers/binary";

describe("ifaces input errors (compiled binary)", () => {
  const folder = mkdtempSync(join(tmpdir(), "benito-ifaces-cli-"));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));
  const topology = `<experiment><version>2.0</version><substrates><name>lan0</name></substrates><elements><computer><name>h1</name><interface><substrate>lan0</substrate><name>inf000</name><attribute><attribute>ip4_address</attribute><value>10.1.1.2</value></attribute><attribute><attribute>ip4_netmask</attribute><value>255.255.255.0</value></attribute></interface></computer></elements></experiment>\n`;

  test("no topo.xml", async () => {
    const result = await benito(["ifaces", folder, "h1"]);
    expect(result.code).toBe(1); // a missing file is an I/O failure; only bad content is exit 3
    expect(result.stderr).toStartWith(`benito: while reading the topology on ${folder}/topo.xml: `);
  });

  test("this host is not in the topology", async () => {
    writeFileSync(join(folder, "topo.xml"), topology);
    const result = await benito(["ifaces", folder, "nothere"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('no computer named "nothere"');
  });

  test("--hosts without a hosts file in the config folder", async () => {
    writeFileSync(join(folder, "topo.xml"), topology);
    const result = await benito(["ifaces", "--hosts", folder, "h1"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(`benito: while reading the hosts on ${folder}/hosts: --hosts was given but the config folder has no hosts file\n`);
  });
});
