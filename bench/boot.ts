// `make bench-boot`: benito boot timings — a vnode's own step (10 interfaces, 1,000 routes) against ip -batch, and a pnode with 2, 8, 32 process vnodes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const benito = process.env.BENITO_BIN ?? resolve(import.meta.dir, "../build/benito");
const prefix = `bb${(process.pid % 100000).toString(36)}`;
const repeats = 5;
/** statfs f_type of a tmpfs. */
const tmpfsMagic = 0x01021994;

if (process.getuid?.() !== 0) {
  console.error("bench-boot needs root (network namespaces, TAP devices, VDE switches)");
  process.exit(2);
}

function sh(argv: readonly string[], allowFailure = false): { code: number; out: string; err: string; ms: number; cpuMs: number } {
  const begun = performance.now();
  const result = Bun.spawnSync([...argv], { stdout: "pipe", stderr: "pipe" });
  const ms = performance.now() - begun;
  const out = result.stdout.toString();
  const err = result.stderr.toString();
  if (!allowFailure && result.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${result.exitCode}: ${err.trim() || out.trim()}`);
  // User + system CPU of the process and what it waited for (the figure a busy machine does not distort).
  const cpu = result.resourceUsage?.cpuTime;
  return { code: result.exitCode ?? 1, out, err, ms, cpuMs: (Number(cpu?.user ?? 0) + Number(cpu?.system ?? 0)) / 1000 };
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

const attr = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;

/** Part 1: one vnode with 10 interfaces and 1,000 routes, in a namespace whose NICs are veth ends. */
function vnodeStep(dir: string, tmpfsDir: string | undefined): void {
  const ns = `${prefix}-vn`;
  sh(["ip", "netns", "add", ns]);
  try {
    const interfaces: string[] = [];
    const batch: string[] = [];
    for (let i = 0; i < 10; i++) {
      const mac = `02:bb:00:00:00:${i.toString(16).padStart(2, "0")}`;
      sh(["ip", "-n", ns, "link", "add", `e${i}`, "address", mac, "type", "veth", "peer", "name", `p${i}`]);
      sh(["ip", "-n", ns, "link", "set", `p${i}`, "up"]);
      interfaces.push(`<interface><substrate>lan${i}</substrate><name>inf${String(i).padStart(3, "0")}</name>${attr("ip4_address", `10.${i}.0.2`)}${attr("ip4_netmask", "255.255.255.0")}${attr("benito:mac_address", mac)}</interface>`);
      batch.push(`addr add 10.${i}.0.2/24 dev e${i}`, `link set e${i} up`);
    }
    const substrates = Array.from({ length: 10 }, (_, i) => `<substrates><name>lan${i}</name></substrates>`).join("");
    const config = join(dir, "vnode");
    mkdirSync(join(config, "route"), { recursive: true });
    writeFileSync(join(config, "topo.xml"), `<experiment><version>2.0</version>${substrates}<elements><computer><name>vn</name>${interfaces.join("")}${attr("benito:node_type", "embedded_pnode")}</computer></elements></experiment>`);
    const routes = Array.from({ length: 1000 }, (_, i) => `10.${100 + (i >> 8)}.${i & 255}.0/24 via 10.${i % 10}.0.1`);
    writeFileSync(join(config, "route", "vn"), routes.join("\n") + "\n");
    const batchFile = join(dir, "vnode.batch");
    const undoFile = join(dir, "vnode.undo");
    writeFileSync(batchFile, [...batch, ...routes.map((line) => `route replace ${line}`)].join("\n") + "\n");
    writeFileSync(undoFile, [...routes.map((line) => `route del ${line.split(" ")[0]}`), ...Array.from({ length: 10 }, (_, i) => `addr del 10.${i}.0.2/24 dev e${i}`)].join("\n") + "\n");

    const first: number[] = [];
    const firstCpu: number[] = [];
    const again: number[] = [];
    const againCpu: number[] = [];
    const reference: number[] = [];
    const referenceCpu: number[] = [];
    const start: number[] = [];
    const startCpu: number[] = [];
    const stageMs: number[] = [];
    const tmpfsFirst: number[] = [];
    const tmpfsFirstCpu: number[] = [];
    for (let round = 0; round < repeats; round++) {
      const run = join(dir, `vn-run-${round}`);
      const cold = sh(["ip", "netns", "exec", ns, benito, "boot", "--run-dir", run, "--log-file", join(run, "log"), config, "vn"]);
      first.push(cold.ms);
      firstCpu.push(cold.cpuMs);
      const status = JSON.parse(readFileSync(join(run, "status.json"), "utf8")) as { stages: { ms: number }[] };
      stageMs.push(status.stages.reduce((sum, stage) => sum + stage.ms, 0));
      const warm = sh(["ip", "netns", "exec", ns, benito, "boot", "--run-dir", run, "--log-file", join(run, "log"), config, "vn"]);
      again.push(warm.ms);
      againCpu.push(warm.cpuMs);
      sh(["ip", "-n", ns, "-batch", undoFile]);
      const batch = sh(["ip", "-n", ns, "-batch", batchFile]);
      reference.push(batch.ms);
      referenceCpu.push(batch.cpuMs);
      sh(["ip", "-n", ns, "-batch", undoFile]);
      const version = sh(["ip", "netns", "exec", ns, benito, "--version"]);
      start.push(version.ms);
      startCpu.push(version.cpuMs);
      if (tmpfsDir !== undefined) {
        // The same boot with its run dir on a tmpfs, as /run is on a node (the ledger's, status and log writes cost µs there).
        const onTmpfs = join(tmpfsDir, `vn-run-${round}`);
        const boot = sh(["ip", "netns", "exec", ns, benito, "boot", "--run-dir", onTmpfs, "--log-file", join(onTmpfs, "log"), config, "vn"]);
        tmpfsFirst.push(boot.ms);
        tmpfsFirstCpu.push(boot.cpuMs);
        sh(["ip", "-n", ns, "-batch", undoFile]);
      }
    }
    console.log(`vnode boot step: 10 interfaces + 1,000 routes (median of ${repeats}, wall, including process start; load average ${loadavg().map((value) => value.toFixed(2)).join(" ")})`);
    console.log(`  benito boot (first)       ${median(first).toFixed(1)} ms   CPU ${median(firstCpu).toFixed(1)} ms   (stages alone: ${median(stageMs).toFixed(1)} ms)   target < 50 ms`);
    if (tmpfsDir !== undefined) console.log(`  benito boot (first), run dir on tmpfs as /run on a node: ${median(tmpfsFirst).toFixed(1)} ms   CPU ${median(tmpfsFirstCpu).toFixed(1)} ms   (the line above: run dir under ${tmpdir()})`);
    console.log(`  benito boot (no change)   ${median(again).toFixed(1)} ms   CPU ${median(againCpu).toFixed(1)} ms`);
    console.log(`  ip -batch (same changes)  ${median(reference).toFixed(1)} ms   CPU ${median(referenceCpu).toFixed(1)} ms`);
    console.log(`  benito --version (start)  ${median(start).toFixed(1)} ms   CPU ${median(startCpu).toFixed(1)} ms   (both through ip netns exec)`);
    console.log(`  ratio benito/ip-batch     ${(median(first) / median(reference)).toFixed(2)}x`);
  } finally {
    sh(["ip", "netns", "del", ns], true);
  }
}

/** Part 2: a pnode hosting N process vnodes on one LAN switch: boot and down, per-stage timings. */
function pnode(dir: string, count: number): void {
  const root = join(dir, `pn${count}`);
  const config = join(root, "config");
  const run = join(root, "run");
  mkdirSync(config, { recursive: true });
  const names = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const elements = names.map((name, i) => `<elements><computer><name>${name}</name><interface><substrate>lan0</substrate><name>inf000</name>${attr("ip4_address", `10.50.${i >> 8}.${(i & 255) + 1}`)}${attr("ip4_netmask", "255.255.0.0")}${attr("benito:mac_address", `02:bb:01:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`)}${attr("benito:vde_switch", join(root, "sw"))}${attr("benito:vde_port", String(i + 1))}</interface>${attr("benito:node_type", "process")}${attr("benito:host", "pnode0")}</computer></elements>`);
  writeFileSync(join(config, "topo.xml"), `<experiment><version>2.0</version><substrates><name>lan0</name></substrates><elements><computer><name>pnode0</name>${attr("benito:node_type", "pnode")}</computer></elements>${elements.join("")}</experiment>`);
  const args = ["--run-dir", run, "--log-file", join(root, "log"), config, "pnode0"];
  try {
    const boot = sh([benito, "boot", "--parallel", "8", ...args]);
    const status = JSON.parse(readFileSync(join(run, "status.json"), "utf8")) as { stages: { id: string; ms: number; outcome: string }[] };
    const children = status.stages.filter((stage) => stage.id.startsWith("child:"));
    // The unchanged pnode: boot again (every child found healthy, left alone) and status, median of 5 each.
    const againMs: number[] = [];
    const againCpu: number[] = [];
    const statusMs: number[] = [];
    const statusCpu: number[] = [];
    for (let round = 0; round < repeats; round++) {
      const rebooted = sh([benito, "boot", ...args]);
      againMs.push(rebooted.ms);
      againCpu.push(rebooted.cpuMs);
      const checked = sh([benito, "status", "--run-dir", run, config, "pnode0"]);
      statusMs.push(checked.ms);
      statusCpu.push(checked.cpuMs);
    }
    const again = { ms: median(againMs) };
    const down = sh([benito, "down", ...args]);
    const stage = (id: string) => status.stages.find((s) => s.id === id)?.ms.toFixed(1) ?? "-";
    console.log(`pnode with ${String(count).padStart(2)} process vnodes: boot ${boot.ms.toFixed(0)} ms (ifaces ${stage("ifaces")}, switch ${stage("switch")}, children median ${median(children.map((c) => c.ms)).toFixed(0)} / max ${Math.max(...children.map((c) => c.ms)).toFixed(0)} ms, ${children.filter((c) => c.outcome === "ok").length}/${count} ok); boot again ${again.ms.toFixed(0)} ms, CPU ${median(againCpu).toFixed(0)} ms (target < 300 ms at 8); status ${median(statusMs).toFixed(0)} ms, CPU ${median(statusCpu).toFixed(0)} ms (target < 300 ms at 8); down ${down.ms.toFixed(0)} ms`);
  } catch (error) {
    sh([benito, "down", ...args], true);
    throw error;
  }
}

function isTmpfs(path: string): boolean {
  try {
    return statfsSync(path).type === tmpfsMagic;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), `${prefix}-bench-boot-`));
// A tmpfs for a second set of vnode run dirs, when the machine has one at /dev/shm (a node's /run is one).
const tmpfs = isTmpfs("/dev/shm") ? mkdtempSync(join("/dev/shm", `${prefix}-bench-boot-`)) : undefined;
try {
  vnodeStep(dir, tmpfs);
  console.log("");
  for (const count of [2, 8, 32]) pnode(dir, count);
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (tmpfs !== undefined) rmSync(tmpfs, { recursive: true, force: true });
}
