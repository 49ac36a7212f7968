// boot --wait-nics: a NIC that appears after boot started is waited for (bounded) and configured; one that never comes is named.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benitoBinary } from "../helpers/binary";
import { experiment, pnodeNic } from "../helpers/container-root";
import { inNamespace, ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";

setDefaultTimeout(60_000);

describe.skipIf(!isRoot)("boot --wait-nics (root, a namespace of its own)", () => {
  const spaces = new NamespaceSet();
  const dir = mkdtempSync(join(tmpdir(), "benito-wait-nics-"));
  const config = join(dir, "config");
  const host = `${spaces.prefix}p`;
  let netns = "";
  const boot = (...extra: string[]) => inNamespace(netns, [benitoBinary, "boot", "--run-dir", join(dir, "run"), "--log-file", join(dir, "benito.log"), ...extra, config, host], { timeoutMs: 30_000 });

  beforeAll(async () => {
    netns = await spaces.add("wn");
    mkdirSync(config);
    // Only the pnode's own NIC matters here: drop the vnode (and with it the switch).
    writeFileSync(join(config, "topo.xml"), experiment(host, `${spaces.prefix}a`).replace(/<elements><computer><name>[^<]*a<\/name>[\s\S]*?<\/elements>\n/, ""));
  });
  afterAll(async () => {
    await inNamespace(netns, [benitoBinary, "down", "--run-dir", join(dir, "run"), "--log-file", join(dir, "benito.log"), config, host]);
    await spaces.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a NIC that shows up 0.5 s after boot started is waited for and gets its address", async () => {
    const booting = boot("--wait-nics", "20");
    await Bun.sleep(500);
    await ip("-n", netns, "link", "add", "eth0", "address", pnodeNic.mac, "type", "veth", "peer", "name", "eth0peer");
    const result = await booting;
    expect(result.stderr).not.toContain("no NIC for");
    expect(result.code).toBe(0);
    expect((await ip("-n", netns, "-4", "-o", "addr", "show", "dev", "eth0"))).toContain(`${pnodeNic.address}/24`);
    await ip("-n", netns, "link", "del", "eth0");
  });

  test("a NIC that never comes is named after the bounded wait", async () => {
    const started = Date.now();
    const result = await boot("--wait-nics", "1");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(result.stderr).toContain(`boot: after waiting 1 s, no NIC for eth0 (MAC ${pnodeNic.mac})`);
    expect(readFileSync(join(dir, "benito.log"), "utf8")).toContain("no NIC for eth0");
  });
});
