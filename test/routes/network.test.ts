// Integration (root): 3 LANs, 2 routers, 5 namespaces; the compiled benito's ifaces + routes make every host reach every other, convergently.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benitoBinary } from "../helpers/binary";
import { NamespaceSet, inNamespace, ip } from "../helpers/netns";
import { isRoot } from "../helpers/root";

/** One experimental interface of the test topology: the NIC the test makes, and what topo.xml says about it. */
interface TestIface {
  readonly nic: string;
  readonly mac: string;
  readonly lan: string;
  readonly address: string;
  /** Use benito:ifname instead of benito:mac_address. */
  readonly byName?: boolean;
}

/** Node → interfaces. LAN A: h1–r1 (veth). LAN B: r1, r2, h2 on a bridge in a switch namespace. LAN C: r2–h3 (veth). */
const nodes: Record<string, TestIface[]> = {
  h1: [{ nic: "a0", mac: "02:00:00:0a:00:02", lan: "lanA", address: "10.1.1.2" }],
  r1: [
    { nic: "a0", mac: "02:00:00:0a:00:01", lan: "lanA", address: "10.1.1.1" },
    { nic: "b0", mac: "02:00:00:0b:00:01", lan: "lanB", address: "10.1.2.1", byName: true },
  ],
  r2: [
    { nic: "b0", mac: "02:00:00:0b:00:02", lan: "lanB", address: "10.1.2.2" },
    { nic: "c0", mac: "02:00:00:0c:00:01", lan: "lanC", address: "10.1.3.1" },
  ],
  h2: [{ nic: "b0", mac: "02:00:00:0b:00:03", lan: "lanB", address: "10.1.2.3" }],
  h3: [{ nic: "c0", mac: "02:00:00:0c:00:02", lan: "lanC", address: "10.1.3.2" }],
};

/** The route files: each syntax, both folder spellings. */
const routeFiles: Record<string, { dir: "route" | "routes"; text: string }> = {
  h1: {
    dir: "route",
    text: "# h1: Emulab tmcd style\nROUTE DEST=10.1.2.0 DESTTYPE=net DESTMASK=255.255.255.0 NEXTHOP=10.1.1.1 COST=0\nROUTE DEST=10.1.3.0 DESTTYPE=net DESTMASK=255.255.255.0 NEXTHOP=10.1.1.1 COST=0\n",
  },
  r1: { dir: "route", text: "10.1.3.0 255.255.255.0 10.1.2.2\n" },
  r2: { dir: "route", text: "10.1.1.0/24 via 10.1.2.1\n" },
  h2: { dir: "routes", text: "10.1.1.0/24 via 10.1.2.1 dev b0\n10.1.3.0/24 via 10.1.2.2 metric 10\n" },
  h3: { dir: "route", text: "default via 10.1.3.1\n" },
};

/** A NIC-less interface of h3 (its MAC matches nothing: a warning) and h1's control interface (skipped). */
const missingMac = "02:00:00:99:99:99";
const controlMac = "02:00:00:ff:00:02";

function topologyXml(h1Address = "10.1.1.2"): string {
  const attribute = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;
  const lans = ["lanA", "lanB", "lanC", "control_net"].map((name) => `<substrates><name>${name}</name></substrates>`);
  const computers = Object.entries(nodes).map(([name, ifaces]) => {
    const interfaces = ifaces.map((iface, index) => {
      const address = name === "h1" ? h1Address : iface.address;
      const nic = iface.byName ? attribute("benito:ifname", iface.nic) : attribute("benito:mac_address", iface.mac.toUpperCase());
      return `<interface><substrate>${iface.lan}</substrate><name>inf00${index}</name>${attribute("ip4_address", address)}${attribute("ip4_netmask", "255.255.255.0")}${nic}</interface>`;
    });
    if (name === "h1") interfaces.push(`<interface><substrate>control_net</substrate><name>ctl</name>${attribute("ip4_address", "192.168.77.5")}${attribute("ip4_netmask", "255.255.255.0")}${attribute("benito:mac_address", controlMac)}</interface>`);
    if (name === "h3") interfaces.push(`<interface><substrate>lanC</substrate><name>inf009</name>${attribute("ip4_address", "10.1.3.9")}${attribute("ip4_netmask", "255.255.255.0")}${attribute("benito:mac_address", missingMac)}</interface>`);
    return `<elements><computer><name>${name}</name>${interfaces.join("")}</computer></elements>`;
  });
  return `<?xml version="1.0"?>\n<experiment>\n<version>2.0</version>\n${lans.join("\n")}\n${computers.join("\n")}\n</experiment>\n`;
}

describe.skipIf(!isRoot)("3 LANs, 2 routers: benito ifaces + benito routes in namespaces (compiled binary)", () => {
  const set = new NamespaceSet();
  const ns: Record<string, string> = {};
  const folder = mkdtempSync(join(tmpdir(), "benito-net-"));
  const config = join(folder, "config");
  const state = join(folder, "state");
  const run = (node: string, argv: string[]) => inNamespace(ns[node] ?? "", argv, { timeoutMs: 20_000 });
  const routes = (node: string, ...extra: string[]) => run(node, [benitoBinary, "routes", ...extra, config, node]);
  const ifaces = (node: string, ...extra: string[]) => run(node, [benitoBinary, "ifaces", "--state-dir", state, ...extra, config, node]);
  const kernelRoutes = async (node: string) => (await ip("-n", ns[node] ?? "", "-4", "route", "show", "table", "main")).trim().split("\n").map((line) => line.trim());

  beforeAll(async () => {
    for (const name of [...Object.keys(nodes), "sw"]) ns[name] = await set.add(name);
    const sw = ns.sw ?? "";
    await ip("-n", sw, "link", "add", "lanB", "type", "bridge");
    await ip("-n", sw, "link", "set", "lanB", "up");
    // LAN A and LAN C: one veth pair each; LAN B: every member's veth ends on the switch's bridge.
    await set.veth(ns.h1 ?? "", "a0", ns.r1 ?? "", "a0");
    await set.veth(ns.r2 ?? "", "c0", ns.h3 ?? "", "c0");
    for (const member of ["r1", "r2", "h2"]) {
      await set.veth(ns[member] ?? "", "b0", sw, `${member}b`);
      await ip("-n", sw, "link", "set", `${member}b`, "master", "lanB", "up");
    }
    // h1's control NIC exists but must stay untouched.
    await set.veth(ns.h1 ?? "", "ctl0", sw, "h1ctl");
    await ip("-n", ns.h1 ?? "", "link", "set", "ctl0", "address", controlMac);
    for (const [name, ifaces] of Object.entries(nodes)) {
      for (const iface of ifaces) await ip("-n", ns[name] ?? "", "link", "set", iface.nic, "address", iface.mac);
    }
    for (const router of ["r1", "r2"]) {
      const result = await run(router, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
      if (result.code !== 0) throw new Error(`sysctl in ${router}: ${result.stderr}`);
    }
    mkdirSync(join(config, "route"), { recursive: true });
    mkdirSync(join(config, "routes"), { recursive: true });
    writeFileSync(join(config, "topo.xml"), topologyXml());
    for (const [name, file] of Object.entries(routeFiles)) writeFileSync(join(config, file.dir, name), file.text);
    writeFileSync(join(config, "hosts"), Object.entries(nodes).flatMap(([name, list]) => list.map((iface, index) => `${iface.address} ${name}${index === 0 ? "" : `-${index}`}`)).join("\n") + "\n");
  });

  afterAll(async () => {
    await set.cleanup();
    rmSync(folder, { recursive: true, force: true });
  });

  async function pingEveryone(): Promise<string[]> {
    const targets = Object.values(nodes).flatMap((list) => list.map((iface) => iface.address));
    const failures: string[] = [];
    await Promise.all(
      Object.keys(nodes).map(async (source) => {
        for (const target of targets) {
          let ok = false;
          // ARP and the first forwarded packet can take a moment; three tries of one second each at most.
          for (let attempt = 0; attempt < 3 && !ok; attempt++) ok = (await run(source, ["ping", "-c1", "-W1", "-n", "-q", target])).code === 0;
          if (!ok) failures.push(`${source} → ${target}`);
        }
      }),
    );
    return failures;
  }

  test("before benito nothing is reachable across LANs", async () => {
    expect((await run("h1", ["ping", "-c1", "-W1", "-n", "-q", "10.1.3.2"])).code).not.toBe(0);
  });

  test("ifaces: every NIC found by MAC (or ifname) gets its address and comes up; control_net skipped; a missing MAC is a warning", async () => {
    for (const name of Object.keys(nodes)) {
      const result = await ifaces(name);
      expect({ name, code: result.code, stderr: name === "h3" ? "" : result.stderr }).toEqual({ name, code: 0, stderr: "" });
    }
    const h3 = await ifaces("h3", "--json");
    expect(h3.stderr).toContain(`no NIC with MAC ${missingMac} for interface inf009 (10.1.3.9/24)`);
    const report = JSON.parse(h3.stdout);
    expect(report.interfaces.map((entry: { interface: string; status: string }) => [entry.interface, entry.status])).toEqual([
      ["inf000", "unchanged"],
      ["inf009", "missing"],
    ]);
    expect(await ip("-n", ns.r1 ?? "", "-4", "-o", "addr", "show", "dev", "b0")).toContain("inet 10.1.2.1/24");
    const control = await ip("-n", ns.h1 ?? "", "-o", "link", "show", "dev", "ctl0");
    expect(control).not.toMatch(/[<,]UP[,>]/);
    expect(await ip("-n", ns.h1 ?? "", "-4", "-o", "addr", "show", "dev", "ctl0")).toBe("");
  });

  test("routes: each node installs its file (three syntaxes, both folder spellings); then every host pings every other", async () => {
    for (const name of Object.keys(nodes)) {
      const result = await routes(name, "--wait", "2");
      expect({ name, code: result.code, stderr: result.stderr }).toEqual({ name, code: 0, stderr: "" });
      expect(result.stdout).toMatch(/^benito routes: \d+ added, 0 changed, 0 removed, 0 unchanged, 0 failed\n$/);
    }
    expect(await kernelRoutes("h2")).toContain("10.1.3.0/24 via 10.1.2.2 dev b0 proto 183 metric 10");
    expect(await pingEveryone()).toEqual([]);
  });

  test("a second run of both changes nothing and exits 0", async () => {
    for (const name of Object.keys(nodes)) {
      const again = await routes(name, "--json");
      expect(again.code).toBe(0);
      const report = JSON.parse(again.stdout);
      expect(report.summary).toMatchObject({ added: 0, changed: 0, removed: 0, failed: 0, badLines: 0 });
      expect(report.routes.every((route: { status: string }) => route.status === "unchanged")).toBe(true);
      const iface = await ifaces(name);
      expect(iface.code).toBe(0);
      expect(iface.stdout).toMatch(/: 0 configured, 0 changed, \d+ unchanged/);
    }
  });

  test("the multi-call name: a link named routes.py is `benito routes`", async () => {
    const bin = join(folder, "bin");
    mkdirSync(bin, { recursive: true });
    symlinkSync(benitoBinary, join(bin, "routes.py"));
    const result = await run("h3", [join(bin, "routes.py"), config, "h3"]);
    expect([result.code, result.stdout]).toEqual([0, "benito routes: 0 added, 0 changed, 0 removed, 1 unchanged, 0 failed\n"]);
  });

  test("a route removed from the file disappears; a route added by hand survives", async () => {
    await ip("-n", ns.h2 ?? "", "route", "add", "10.77.0.0/16", "via", "10.1.2.1");
    writeFileSync(join(config, "routes", "h2"), "10.1.1.0/24 via 10.1.2.1 dev b0\n");
    const result = await routes("h2");
    expect([result.code, result.stdout]).toEqual([0, "benito routes: 0 added, 0 changed, 1 removed, 1 unchanged, 0 failed\n"]);
    const table = await kernelRoutes("h2");
    expect(table.some((line) => line.startsWith("10.1.3.0/24"))).toBe(false);
    expect(table).toContain("10.77.0.0/16 via 10.1.2.1 dev b0");
    expect((await run("h2", ["ping", "-c1", "-W1", "-n", "-q", "10.1.3.2"])).code).not.toBe(0);
    writeFileSync(join(config, "routes", "h2"), routeFiles.h2?.text ?? "");
    expect((await routes("h2")).stdout).toBe("benito routes: 1 added, 0 changed, 0 removed, 1 unchanged, 0 failed\n");
  });

  test("a bad line and an unreachable gateway are reported with file:line while the rest still applies (exit 3)", async () => {
    const file = join(config, "route", "h1");
    writeFileSync(file, `${routeFiles.h1?.text}10.1.9.0/24 via 10.1.1.1\nthis is not a route\n10.88.0.0/16 via 10.99.0.1\n`);
    const result = await routes("h1", "--wait", "0.3");
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`benito: while reading the routes on ${file}:5: not a route in any of the three syntaxes`);
    expect(result.stderr).toContain(`benito: while installing 10.88.0.0/16 via 10.99.0.1 on ${file}:6: gateway 10.99.0.1 is on no local subnet`);
    expect(result.stdout).toBe("benito routes: 1 added, 0 changed, 0 removed, 2 unchanged, 1 failed; 1 bad line\n");
    expect(await kernelRoutes("h1")).toContain("10.1.9.0/24 via 10.1.1.1 dev a0 proto 183");
    writeFileSync(file, routeFiles.h1?.text ?? "");
    expect((await routes("h1")).code).toBe(0);
  });

  test("--dry-run prints the ip route script, changes nothing, and needs no root", async () => {
    writeFileSync(join(config, "route", "h3"), "default via 10.1.3.1\n10.1.50.0/24 via 10.1.3.1 metric 7\n");
    chmodSync(folder, 0o755);
    const before = await kernelRoutes("h3");
    const result = await run("h3", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", benitoBinary, "routes", "--dry-run", config, "h3"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("\nip route replace 10.1.50.0/24 via 10.1.3.1 metric 7 proto 183 table 254  # add, ");
    expect(result.stdout).toContain("# unchanged: default via 10.1.3.1");
    expect(await kernelRoutes("h3")).toEqual(before);
    writeFileSync(join(config, "route", "h3"), routeFiles.h3?.text ?? "");
  });

  test("ifaces convergence: benito's old address is replaced, a hand-added one survives; --hosts writes a marked block once", async () => {
    await ip("-n", ns.h1 ?? "", "addr", "add", "10.1.1.50/24", "dev", "a0");
    writeFileSync(join(config, "topo.xml"), topologyXml("10.1.1.20"));
    const hostsFile = join(folder, "etc-hosts");
    writeFileSync(hostsFile, "127.0.0.1\tlocalhost\n");
    // The dry run (unprivileged) prints the replacement and changes nothing.
    const dry = await run("h1", ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", benitoBinary, "ifaces", "--dry-run", "--state-dir", state, "--hosts", "--hosts-file", hostsFile, config, "h1"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("\necho 1 > /proc/sys/net/ipv4/conf/a0/promote_secondaries");
    expect(dry.stdout).toContain("\nip addr del 10.1.1.2/24 dev a0  # inf000: replaced\nip addr add 10.1.1.20/24 brd + dev a0  # inf000\n");
    expect(dry.stdout).toContain("would replace benito's block");
    expect(await ip("-n", ns.h1 ?? "", "-4", "-o", "addr", "show", "dev", "a0")).toContain("inet 10.1.1.2/24");
    expect(readFileSync(hostsFile, "utf8")).toBe("127.0.0.1\tlocalhost\n");
    const result = await ifaces("h1", "--hosts", "--hosts-file", hostsFile);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    expect(result.stdout).toContain(": 0 configured, 1 changed, 0 unchanged");
    const addresses = await ip("-n", ns.h1 ?? "", "-4", "-o", "addr", "show", "dev", "a0");
    expect(addresses).toContain("inet 10.1.1.20/24");
    expect(addresses).toContain("inet 10.1.1.50/24");
    expect(addresses).not.toContain("inet 10.1.1.2/24");
    const hosts = readFileSync(hostsFile, "utf8");
    expect(hosts.startsWith("127.0.0.1\tlocalhost\n# BEGIN benito")).toBe(true);
    expect(hosts).toContain("10.1.3.2\th3\n");
    const again = await ifaces("h1", "--hosts", "--hosts-file", hostsFile);
    expect(again.stdout).toContain(`; ${hostsFile} unchanged`);
    expect(readFileSync(hostsFile, "utf8")).toBe(hosts);
  });
});
