// `benito exec` without a running experiment: a QEMU vnode's control address, a process vnode that does not run, usage.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito } from "../helpers/binary";

const attribute = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;
const topo = `<experiment><version>2.0</version>
  <substrates><name>lan0</name></substrates><substrates><name>control_net</name></substrates>
  <elements><computer><name>p0</name>${attribute("benito:node_type", "pnode")}</computer></elements>
  <elements><computer><name>vm1</name>
    <interface><substrate>control_net</substrate><name>ctl</name>${attribute("ip4_address", "10.20.0.5")}${attribute("ip4_netmask", "255.255.255.0")}${attribute("benito:mac_address", "02:00:00:00:00:05")}</interface>
    <interface><substrate>lan0</substrate><name>inf000</name>${attribute("benito:vde_switch", "/nonexistent/sw")}${attribute("benito:vde_port", "1")}</interface>
    ${attribute("benito:node_type", "qemu")}${attribute("benito:host", "p0")}</computer></elements>
  <elements><computer><name>idle</name>
    <interface><substrate>lan0</substrate><name>inf000</name>${attribute("benito:vde_switch", "/nonexistent/sw")}${attribute("benito:vde_port", "2")}${attribute("benito:mac_address", "02:00:00:00:00:06")}</interface>
    ${attribute("benito:node_type", "process")}${attribute("benito:host", "p0")}</computer></elements>
</experiment>`;

let config: string;
beforeAll(() => {
  config = mkdtempSync(join(tmpdir(), "benito-exec-"));
  mkdirSync(config, { recursive: true });
  writeFileSync(join(config, "topo.xml"), topo);
});
afterAll(() => rmSync(config, { recursive: true, force: true }));

describe("benito exec (no running experiment)", () => {
  const where = () => ["--config", config, "--run-dir", join(config, "run"), "--host", "p0"];

  test("a QEMU vnode: a clear message naming its control address", async () => {
    const result = await benito(["exec", ...where(), "vm1", "uptime"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("it is a QEMU VM");
    expect(result.stderr).toContain("use its control address, 10.20.0.5");
    expect(result.stderr).not.toContain("    at ");
  });

  test("a process vnode whose namespace does not exist: says boot starts it", async () => {
    const result = await benito(["exec", ...where(), "idle", "true"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("it does not run (no network namespace bn-idle)");
  });

  test("usage: --help lists the options, missing NODE or PROGRAM exit 2", async () => {
    const help = await benito(["exec", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Options end at NODE");
    expect((await benito(["exec", ...where()])).code).toBe(2);
    expect((await benito(["exec", ...where(), "vm1"])).code).toBe(2);
    expect((await benito(["exec", "--bogus", "vm1", "true"])).code).toBe(2);
  });
});
