// `make demo`: runs the example experiment (examples/lab) on this machine with benito boot, shows it working, tears it down.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildGuest } from "./build-guest";
import { kernelBridgeName, kernelIfbName, kernelMark, kernelPortName } from "../src/plan/datapath-plan";
import { tunnelMark } from "../src/plan/tunnel-plan";

const root = resolve(import.meta.dir, "..");
const benito = join(root, "build/benito");
const withVm = process.argv.includes("--with-vm");
/**
 * The datapaths shown, one after the other (each booted, shown and taken down): by default both,
 * VDE then kernel; --vde or --kernel shows one. The kernel run is the same lab with site.conf
 * datapath = kernel (Linux bridges and veths — a QEMU VM's NIC a TAP on the bridge; the delayed
 * LAN stays on VDE + wirefilter).
 */
const datapaths: readonly ("vde" | "kernel")[] = process.argv.includes("--kernel") ? ["kernel"] : process.argv.includes("--vde") ? ["vde"] : ["vde", "kernel"];
const runDir = "/run/benito-demo";
const logFile = join(runDir, "benito.log");
/** With --with-vm the lab is copied here and gains a QEMU vnode. */
/** The demo's own files (config copies, the guest), outside the run dir so `down` finds only benito's there; removed at the end. */
const demoFiles = "/run/benito-demo-files";
const vmConfig = join(demoFiles, "config-with-vm");
const labConfig = withVm ? vmConfig : join(root, "examples/lab");
/** The kernel run's copy of the lab config (site.conf gains datapath = kernel). */
const kernelConfig = join(demoFiles, "config-kernel");
/** The Debian packages the lab needs on the host (vde2 for vde_switch and wirefilter; QEMU and the guest's parts for --with-vm). */
const packages = ["vde2", "iproute2", "iputils-ping", ...(withVm ? ["qemu-system-x86", "qemu-utils", "linux-image-cloud-amd64", "busybox-static"] : [])];

/** The lab's nodes: namespace name (the process platform's "bn-NODE") and the addresses to ping. */
const nodes: { name: string; addresses: string[]; vm?: true }[] = [
  { name: "a", addresses: ["10.0.1.1"] },
  { name: "b", addresses: ["10.0.1.2"] },
  { name: "c", addresses: ["10.0.2.1"] },
  { name: "d", addresses: ["10.0.2.2", "10.0.3.1"] },
  { name: "e", addresses: ["10.0.3.2"] },
  { name: "r", addresses: ["10.0.1.254", "10.0.2.254"] },
];

function step(text: string): void {
  console.log(`\n==> ${text}`);
}

function sh(argv: string[], quiet = false): { code: number; out: string } {
  const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: quiet ? "pipe" : "inherit" });
  return { code: result.exitCode ?? 1, out: result.stdout.toString() };
}

function ensurePackages(): void {
  if (sh([join(root, "scripts/install-debian-packages.sh"), ...packages]).code !== 0) {
    console.error(`demo: could not install ${packages.join(" ")}; install them and run make demo again`);
    process.exit(1);
  }
}

function ping(namespace: string, address: string, count = 1): { ok: boolean; rtt?: number } {
  const result = sh(["ip", "netns", "exec", namespace, "ping", "-n", "-q", "-c", String(count), "-i", "0.2", "-W", "2", address], true);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(result.out)?.[1];
  return { ok: result.code === 0, ...(rtt !== undefined ? { rtt: Number(rtt) } : {}) };
}

if (process.getuid?.() !== 0) {
  console.log("The demo lab creates network namespaces, TAP devices and VDE switches: it needs root.");
  console.log("Run `sudo make demo` to see it work. Meanwhile, here is what benito boot would do for the pnode:\n");
  const plan = sh([benito, "boot", "--dry-run", "--run-dir", runDir, labConfig, "pnode0"]);
  console.log(plan.out);
  process.exit(plan.code);
}

ensurePackages();
if (withVm) prepareVm();
if (datapaths.includes("kernel")) {
  rmSync(kernelConfig, { recursive: true, force: true });
  mkdirSync(demoFiles, { recursive: true });
  cpSync(labConfig, kernelConfig, { recursive: true });
  writeFileSync(join(kernelConfig, "site.conf"), `${readFileSync(join(kernelConfig, "site.conf"), "utf8")}datapath = kernel\n`);
}

/**
 * --with-vm: builds the minimal guest (Debian's cloud kernel, busybox-static, this benito) and a
 * copy of the lab with one more vnode, `v`, a QEMU VM on lan1 (10.0.2.3) whose benito configures
 * its interface and routes from the config disk the pnode gives it.
 */
function prepareVm(): void {
  step("--with-vm: building the guest (cloud kernel + busybox initramfs carrying build/benito) and the lab with VM v on lan1");
  rmSync(vmConfig, { recursive: true, force: true });
  mkdirSync(demoFiles, { recursive: true });
  cpSync(join(root, "examples/lab"), vmConfig, { recursive: true });
  const guest = buildGuest({ benito, outDir: demoFiles });
  const image = join(demoFiles, "base.qcow2");
  if (sh(["qemu-img", "create", "-q", "-f", "qcow2", image, "16M"]).code !== 0) throw new Error("qemu-img create failed");
  const attr = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;
  const vm = `  <elements>
    <computer>
      <name>v</name>
      <interface>
        <substrate>lan1</substrate>
        <name>inf000</name>
        ${attr("ip4_address", "10.0.2.3")}${attr("ip4_netmask", "255.255.255.0")}${attr("benito:mac_address", "02:be:00:00:01:03")}${attr("benito:vde_switch", "/run/benito/lab/switch/lan1")}${attr("benito:vde_port", "4")}
      </interface>
      ${attr("benito:node_type", "qemu")}${attr("benito:host", "pnode0")}${attr("benito:qemu_image", image)}${attr("benito:qemu_memory", "512")}
      ${attr("benito:qemu_kernel", guest.kernel)}${attr("benito:qemu_initrd", guest.initrd)}${attr("benito:qemu_append", "console=ttyS0 panic=-1 quiet")}
    </computer>
  </elements>
</experiment>`;
  const topo = join(vmConfig, "topo.xml");
  writeFileSync(topo, readFileSync(topo, "utf8").replace("</experiment>", vm));
  writeFileSync(join(vmConfig, "route", "v"), "10.0.1.0/24 via 10.0.2.254\n10.0.3.0/24 via 10.0.2.2\n");
  nodes.push({ name: "v", addresses: ["10.0.2.3"], vm: true });
}
/** Runs benito capture on a:inf000 while a pings b, and prints what it showed (frames, then its summary). */
async function showCapture(where: readonly string[]): Promise<void> {
  const capture = Bun.spawn([benito, "capture", ...where, "a:inf000", "-c", "8", "--duration", "10"], { stdout: "pipe", stderr: "pipe" });
  // Ping only once the capture says it listens, so no frame is missed.
  const reader = capture.stderr.getReader();
  let said = "";
  while (!said.includes("listening on")) {
    const chunk = await reader.read();
    if (chunk.done) break;
    said += new TextDecoder().decode(chunk.value);
  }
  sh(["ip", "netns", "exec", "bn-a", "ping", "-n", "-q", "-c", "4", "-i", "0.2", "-W", "2", "10.0.1.2"], true);
  const frames = await new Response(capture.stdout).text();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) said += new TextDecoder().decode(chunk.value);
  await capture.exited;
  console.log(frames.trimEnd());
  console.log(said.trimEnd());
}

/** A parsed JSON value's field, when the value is an object. */
function field(value: unknown, key: string): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  const found: unknown = Reflect.get(value, key);
  return found;
}

/** A parsed JSON value as an array (empty when it is not one). */
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * The names of every link this run can make in the machine's namespace: the kernel datapath's
 * bridge of each LAN, and each member interface's host end and IFB. benito hashes them with the
 * run dir (src/plan/datapath-plan.ts), so they are this run's alone: another run's links (a CI
 * test booting the same lab at the same time) neither fail this check nor hide a leak of ours.
 * Derived from the topology and the run dir, not from benito's ledger, so a link benito forgot
 * to record still counts. (The VDE datapath's TAPs live in the vnodes' namespaces, checked by
 * name; one pnode makes no tunnels.)
 */
function ownLinkNames(config: string): Set<string> {
  const shown = sh([benito, "topdl", "show", join(config, "topo.xml"), "--json"], true);
  if (shown.code !== 0) throw new Error(`benito topdl show ${config}/topo.xml exited ${shown.code}`);
  const topology: unknown = JSON.parse(shown.out);
  const names = new Set<string>();
  for (const substrate of list(field(topology, "substrates"))) {
    const lan = field(substrate, "name");
    if (typeof lan === "string") names.add(kernelBridgeName(lan, runDir));
  }
  for (const element of list(field(topology, "elements"))) {
    const node = field(element, "name");
    for (const iface of list(field(element, "interfaces"))) {
      const name = field(iface, "name");
      if (typeof node !== "string" || typeof name !== "string") continue;
      names.add(kernelPortName(node, name, runDir));
      names.add(kernelIfbName(node, name, runDir));
    }
  }
  return names;
}

/** The links of this namespace named in `own` (left behind by this run), and how many benito-marked links of other runs were passed over. */
function ownLinksLeft(own: ReadonlySet<string>): { left: string[]; others: number } {
  const parsed: unknown = JSON.parse(sh(["ip", "-j", "link", "show"], true).out || "[]");
  const left: string[] = [];
  let others = 0;
  for (const link of list(parsed)) {
    const name = field(link, "ifname");
    const alias = field(link, "ifalias");
    if (typeof name !== "string") continue;
    if (own.has(name)) left.push(name);
    else if (typeof alias === "string" && (alias.startsWith(kernelMark) || alias.startsWith(tunnelMark))) others += 1;
  }
  return { left, others };
}

/** Boots the lab on one datapath, shows it working, takes it down; 0 when every check held. */
async function runLab(datapath: "vde" | "kernel"): Promise<number> {
const kernel = datapath === "kernel";
const config = kernel ? kernelConfig : labConfig;
let exitCode = 0;
// Before anything is made: the names this run's links would have.
const own = ownLinkNames(config);
try {
  step(`[datapath = ${datapath}] benito boot ${config} pnode0 (a pnode hosting six process vnodes on ${kernel ? "two Linux bridges and one VDE switch (the delayed LAN)" : "three VDE switches, their TAPs moved by one forwarder"})`);
  const boot = sh([benito, "boot", "--timings", "--run-dir", runDir, "--log-file", logFile, config, "pnode0"]);
  console.log(boot.out);
  if (boot.code !== 0) throw new Error(`benito boot exited ${boot.code}; see ${join(runDir, "status.json")}`);

  step("each node's addresses and routes (configured by benito ifaces/routes inside its namespace)");
  for (const node of nodes.filter((n) => n.vm !== true)) {
    const addresses = sh(["ip", "-n", `bn-${node.name}`, "-4", "-br", "addr", "show"], true).out.trim().split("\n").filter((line) => !line.startsWith("lo "));
    const routes = sh(["ip", "-n", `bn-${node.name}`, "route", "show"], true).out.trim().split("\n");
    console.log(`${node.name}:  ${addresses.join("; ")}`);
    for (const route of routes) console.log(`     ${route}`);
  }

  if (withVm) {
    step("waiting (at most 90 s) for VM v to boot under QEMU and configure itself with benito");
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !ping("bn-c", "10.0.2.3").ok) Bun.sleepSync(1000);
    const serial = join(runDir, "vm", "v", "serial.log");
    if (existsSync(serial)) for (const line of readFileSync(serial, "utf8").split("\n").filter((l) => l.includes("benito"))) console.log(`  v: ${line.trim()}`);
  }

  step("pings across the topology (every node to every other node's addresses)");
  const targets = nodes.flatMap((node) => node.addresses.map((address) => ({ node: node.name, address })));
  console.log(`from\\to ${targets.map((t) => `${t.node}:${t.address}`.padEnd(14)).join(" ")}`);
  let failures = 0;
  for (const source of nodes.filter((node) => node.vm !== true)) {
    const cells = targets.map((target) => {
      if (target.node === source.name) return "-".padEnd(14);
      const result = ping(`bn-${source.name}`, target.address);
      if (!result.ok) failures += 1;
      return (result.ok ? "pass" : "FAIL").padEnd(14);
    });
    console.log(`${source.name.padEnd(7)} ${cells.join(" ")}`);
  }
  console.log(failures === 0 ? "all pings passed" : `${failures} ping(s) failed`);
  if (failures > 0) exitCode = 1;

  step("the shaped link d–e (substrate slow: latency 20 ms each way) against the unshaped LAN a–b");
  const slow = ping("bn-d", "10.0.3.2", 5);
  const fast = ping("bn-a", "10.0.1.2", 5);
  console.log(`d -> e  average RTT ${slow.rtt?.toFixed(1) ?? "?"} ms (expected about 40 ms)`);
  console.log(`a -> b  average RTT ${fast.rtt?.toFixed(1) ?? "?"} ms (unshaped)`);

  const where = ["--config", config, "--run-dir", runDir, "--host", "pnode0"];
  step("benito link set slow --latency 50: the shaped link changed live (same wirefilters, no restart), then benito link show");
  const set = sh([benito, "link", "set", "slow", "--latency", "50", ...where]);
  console.log(set.out.trimEnd());
  if (set.code !== 0) exitCode = 1;
  const slower = ping("bn-d", "10.0.3.2", 5);
  console.log(`d -> e  average RTT ${slower.rtt?.toFixed(1) ?? "?"} ms (expected about 100 ms)`);
  console.log(sh([benito, "link", "show", ...where]).out.trimEnd());
  console.log(sh([benito, "link", "reset", "slow", ...where]).out.trimEnd());

  step("benito capture a:inf000 -c 8 while a pings b (one line per frame; -w FILE writes a pcap for tcpdump or Wireshark)");
  await showCapture(where);

  step("benito status (desired vs actual)");
  console.log(sh([benito, "status", "--run-dir", runDir, config, "pnode0"]).out);
} catch (error) {
  console.error(`demo: ${(error as Error).message}`);
  exitCode = 1;
} finally {
  step("benito down (children first, then switches); nothing is left behind");
  const down = sh([benito, "down", "--run-dir", runDir, "--log-file", logFile, config, "pnode0"]);
  console.log(down.out);
  const links = ownLinksLeft(own);
  const left = [...sh(["ip", "netns", "list"], true).out.split("\n").filter((line) => nodes.some((node) => line.startsWith(`bn-${node.name} `) || line === `bn-${node.name}`)), ...links.left];
  const others = links.others === 0 ? "" : ` (${links.others} benito-marked link(s) of other runs not counted)`;
  console.log(left.length === 0 ? `no namespaces, switches, plugs${kernel ? ", bridges, veths or IFBs" : ""} left${others}` : `left behind: ${left.join(", ")}${others}`);
  if (down.code !== 0 || left.length > 0) exitCode = 1;
  if (existsSync(join(runDir, "status.json"))) console.log(`last boot record: ${join(runDir, "status.json")} (${readFileSync(join(runDir, "status.json")).length} bytes)`);
}
return exitCode;
}

let exitCode = 0;
for (const datapath of datapaths) exitCode = Math.max(exitCode, await runLab(datapath));
rmSync(demoFiles, { recursive: true, force: true });
if (datapaths.length > 1) step(exitCode === 0 ? "both datapaths: every check held" : "some check failed (see above)");
process.exit(exitCode);
