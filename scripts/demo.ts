// `make demo`: runs the example experiment (examples/lab) on this machine with benito boot, shows it working, tears it down.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const benito = join(root, "build/benito");
const config = join(root, "examples/lab");
const withVm = process.argv.includes("--with-vm");
const runDir = "/run/benito-demo";
const logFile = join(runDir, "benito.log");
/** The Debian packages the lab needs on the host (vde2 for vde_switch and wirefilter). */
const packages = ["vde2", "iproute2", "iputils-ping"];

/** The lab's nodes: namespace name (the process platform's "bn-NODE") and the addresses to ping. */
const nodes = [
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
  const missing = packages.filter((name) => !sh(["dpkg-query", "-W", "-f=${Status}", name], true).out.includes("install ok installed"));
  if (missing.length === 0) return;
  step(`installing Debian packages the lab needs: ${missing.join(" ")}`);
  if (sh(["apt-get", "update", "-qq"]).code !== 0 || sh(["apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing]).code !== 0) {
    console.error(`demo: could not install ${missing.join(" ")}; install them and run make demo again`);
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
  const plan = sh([benito, "boot", "--dry-run", "--run-dir", runDir, config, "pnode0"]);
  console.log(plan.out);
  process.exit(plan.code);
}

ensurePackages();
if (withVm) console.log("demo: --with-vm: the VM part of the lab is described in README (QEMU platform); this demo runs the process vnodes");
let exitCode = 0;
try {
  step(`benito boot ${config} pnode0 (a pnode hosting six process vnodes on three VDE switches)`);
  const boot = sh([benito, "boot", "--timings", "--run-dir", runDir, "--log-file", logFile, config, "pnode0"]);
  console.log(boot.out);
  if (boot.code !== 0) throw new Error(`benito boot exited ${boot.code}; see ${join(runDir, "status.json")}`);

  step("each node's addresses and routes (configured by benito ifaces/routes inside its namespace)");
  for (const node of nodes) {
    const addresses = sh(["ip", "-n", `bn-${node.name}`, "-4", "-br", "addr", "show"], true).out.trim().split("\n").filter((line) => !line.startsWith("lo "));
    const routes = sh(["ip", "-n", `bn-${node.name}`, "route", "show"], true).out.trim().split("\n");
    console.log(`${node.name}:  ${addresses.join("; ")}`);
    for (const route of routes) console.log(`     ${route}`);
  }

  step("pings across the topology (every node to every other node's addresses)");
  const targets = nodes.flatMap((node) => node.addresses.map((address) => ({ node: node.name, address })));
  console.log(`from\\to ${targets.map((t) => `${t.node}:${t.address}`.padEnd(14)).join(" ")}`);
  let failures = 0;
  for (const source of nodes) {
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

  step("benito status (desired vs actual)");
  console.log(sh([benito, "status", "--run-dir", runDir, config, "pnode0"]).out);
} catch (error) {
  console.error(`demo: ${(error as Error).message}`);
  exitCode = 1;
} finally {
  step("benito down (children first, then switches); nothing is left behind");
  const down = sh([benito, "down", "--run-dir", runDir, "--log-file", logFile, config, "pnode0"]);
  console.log(down.out);
  const left = sh(["ip", "netns", "list"], true).out.split("\n").filter((line) => nodes.some((node) => line.startsWith(`bn-${node.name} `) || line === `bn-${node.name}`));
  console.log(left.length === 0 ? "no namespaces, switches or plugs left" : `left behind: ${left.join(", ")}`);
  if (down.code !== 0 || left.length > 0) exitCode = 1;
  if (existsSync(join(runDir, "status.json"))) console.log(`last boot record: ${join(runDir, "status.json")} (${readFileSync(join(runDir, "status.json")).length} bytes)`);
}
process.exit(exitCode);
