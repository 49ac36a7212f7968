// tunnel_mode = lan: each pnode bridges its own NIC on the LAN (a real wire) with the TAP on its switch.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benitoBinary, run } from "../helpers/binary";
import { ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;

function attribute(key: string, value: string): string {
  return `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;
}

describe.skipIf(!isRoot || !hasVde)("LANs across two pnodes over their own NICs (root, namespaces, real vde_switch)", () => {
  const set = new NamespaceSet();
  const p = set.prefix;
  const dir = mkdtempSync(join(tmpdir(), `${p}-lan-`));
  const config = join(dir, "config");
  const hostNs = new Map<number, string>();
  const runDir = (n: number) => join(dir, `run${n}`);
  const inPnode = (n: number, args: readonly string[]) => run(["nsenter", `--net=/run/netns/${hostNs.get(n)}`, benitoBinary, ...args], { timeoutMs: 90_000 });
  const vnodes = [1, 2].map((n) => `${p}v${n}`);

  beforeAll(async () => {
    mkdirSync(config, { recursive: true });
    const pnodes = [1, 2].map(
      (n) => `<elements><computer><name>${p}x${n}</name><interface><substrate>wire</substrate><name>eth1</name>${attribute("benito:mac_address", `02:cc:00:00:00:0${n}`)}</interface>${attribute("benito:node_type", "pnode")}</computer></elements>`,
    );
    const members = [1, 2].map(
      (n) =>
        `<elements><computer><name>${p}v${n}</name><interface><substrate>wire</substrate><name>inf000</name>${attribute("ip4_address", `10.62.0.${n}`)}${attribute("ip4_netmask", "255.255.255.0")}${attribute("benito:mac_address", `02:cd:00:00:00:0${n}`)}${attribute("benito:vde_switch", join(dir, "sw", `x${n}`, "wire"))}${attribute("benito:vde_port", "1")}</interface>${attribute("benito:node_type", "process")}${attribute("benito:host", `${p}x${n}`)}</computer></elements>`,
    );
    writeFileSync(join(config, "topo.xml"), `<?xml version="1.0"?>\n<experiment>\n<version>2.0</version>\n<substrates><name>wire</name></substrates>\n${[...pnodes, ...members].join("\n")}\n</experiment>\n`);
    writeFileSync(join(config, "site.conf"), "[benito]\ntunnel_mode = lan\n");
    // The testbed's wire: a bridge in its own namespace, one veth to each pnode (its experimental NIC).
    const wire = await set.add("w");
    await ip("-n", wire, "link", "add", "wbr", "type", "bridge");
    await ip("-n", wire, "link", "set", "wbr", "up");
    for (const n of [1, 2]) {
      const ns = await set.add(`x${n}`);
      hostNs.set(n, ns);
      await set.veth(ns, "eth1", wire, `w${n}`);
      await ip("-n", ns, "link", "set", "eth1", "address", `02:cc:00:00:00:0${n}`);
      await ip("-n", wire, "link", "set", `w${n}`, "master", "wbr", "up");
    }
  });

  afterAll(async () => {
    for (const n of [1, 2]) await inPnode(n, ["down", "--run-dir", runDir(n), "--log-file", join(dir, `boot${n}.log`), config, `${p}x${n}`]);
    for (const n of [1, 2]) {
      const root = runDir(n);
      if (!existsSync(root)) continue;
      for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !entry.name.endsWith(".pid")) continue;
        const pid = Number(readFileSync(join(entry.parentPath, entry.name), "utf8").trim());
        try {
          if (pid > 1) process.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
    for (const name of vnodes) await run(["ip", "netns", "del", `bn-${name}`]);
    await set.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("boot bridges each pnode's NIC with the TAP on its switch; the vnodes ping each other over the wire", async () => {
    for (const n of [1, 2]) {
      const result = await inPnode(n, ["boot", "--run-dir", runDir(n), "--log-file", join(dir, `boot${n}.log`), config, `${p}x${n}`]);
      expect({ n, code: result.code, err: result.code === 0 ? "" : readFileSync(join(runDir(n), "status.json"), "utf8") }).toEqual({ n, code: 0, err: "" });
    }
    const eth1 = JSON.parse((await run(["ip", "-n", hostNs.get(1) ?? "", "-j", "link", "show", "eth1"])).stdout)[0] as { master?: string };
    expect(eth1.master?.startsWith("bnb")).toBe(true);
    const result = await run(["ip", "netns", "exec", `bn-${vnodes[0]}`, "ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "2", "10.62.0.2"]);
    expect(result.code).toBe(0);
  });

  test("kernel datapath: switch up killed right after the NIC joined the LAN's bridge leaves an intent naming the NIC; switch down releases it", async () => {
    writeFileSync(join(config, "site.conf"), "[benito]\ntunnel_mode = lan\ndatapath = kernel\n");
    const switchUp = (env: Record<string, string>) => run(["nsenter", `--net=/run/netns/${hostNs.get(2)}`, benitoBinary, "switch", "up", "--run-dir", runDir(2), config, `${p}x2`], { env, timeoutMs: 90_000 });
    const switchDown = () => inPnode(2, ["switch", "down", "--run-dir", runDir(2)]);
    try {
      expect((await switchDown()).code).toBe(0);
      const trace = join(dir, "trace2");
      expect((await switchUp({ BENITO_FAILPOINT_TRACE: trace })).code).toBe(0);
      const point = readFileSync(trace, "utf8").split("\n").find((line) => /^tunnel:.*:nic:eth1$/.test(line));
      expect(point).toBeDefined();
      expect((await switchDown()).code).toBe(0);
      const crashed = await switchUp({ BENITO_FAILPOINT: point ?? "" });
      expect(crashed.code).not.toBe(0);
      const records = readdirSync(join(runDir(2), "ledger")).filter((name) => name.startsWith("tunnel."));
      expect(records.map((name) => JSON.parse(readFileSync(join(runDir(2), "ledger", name), "utf8")).data?.nic)).toEqual(["eth1"]);
      expect((await switchDown()).code).toBe(0);
      const links = JSON.parse((await run(["ip", "-n", hostNs.get(2) ?? "", "-j", "link", "show"])).stdout) as { ifname: string; master?: string }[];
      expect(links.map((link) => `${link.ifname}${link.master === undefined ? "" : ` in ${link.master}`}`).sort()).toEqual(["eth1", "lo"]);
    } finally {
      writeFileSync(join(config, "site.conf"), "[benito]\ntunnel_mode = lan\n");
    }
  });

  test("switch down releases the NIC (it stays, out of the bridge) and deletes only benito's links", async () => {
    expect((await inPnode(1, ["switch", "down", "--run-dir", runDir(1)])).code).toBe(0);
    const links = JSON.parse((await run(["ip", "-n", hostNs.get(1) ?? "", "-j", "link", "show"])).stdout) as { ifname: string; master?: string }[];
    expect(links.map((link) => link.ifname).sort()).toEqual(["eth1", "lo"]);
    expect(links.find((link) => link.ifname === "eth1")?.master).toBeUndefined();
  });
});
