// The observable end state of a booted lab (addresses, routes, links, namespaces, processes with argv, ledger), for "equals a clean boot" checks, and cleanup by name and pidfile.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { benitoBinary, run } from "./binary";
import { labNodes, type Lab } from "./lab";
import { alive, pidfiles, pidIn, signalPid } from "./processes";

/** LabState interface: what a boot of the lab leaves, without pids, indexes or times. */
export interface LabState {
  readonly namespaces: string[];
  /** Per namespace: "link state address/prefix …" lines and the routes, sorted. */
  readonly net: Record<string, string[]>;
  /** The argv of every process the run dir's pidfiles name (alive ones), sorted. */
  readonly processes: string[];
  /** The ledger's files with their phase. */
  readonly ledger: string[];
}

/** Reads the lab's state now. */
export async function labState(lab: Lab): Promise<LabState> {
  const listed = (await run(["ip", "netns", "list"])).stdout;
  const namespaces = labNodes.map((node) => lab.namespace(node)).filter((name) => new RegExp(`^${name}( |$)`, "m").test(listed));
  const net: Record<string, string[]> = {};
  for (const ns of namespaces) {
    // Flags (admin UP, carrier LOWER_UP), not the operstate word: the kernel moves that from UNKNOWN to UP a while after carrier.
    const parsed: unknown = JSON.parse((await run(["ip", "-j", "-n", ns, "addr"])).stdout || "[]");
    const links = (Array.isArray(parsed) ? parsed : []).map((link: { ifname?: string; flags?: string[]; addr_info?: { local?: string; prefixlen?: number }[] }) =>
      [link.ifname, (link.flags ?? []).filter((flag) => flag === "UP" || flag === "LOWER_UP").join(","), ...(link.addr_info ?? []).filter((entry) => !entry.local?.startsWith("fe80:")).map((entry) => `${entry.local}/${entry.prefixlen}`)].join(" "),
    );
    const routes = (await run(["ip", "-n", ns, "route"])).stdout.split("\n").filter((line) => line.trim() !== "").map((line) => `route ${line.trim()}`);
    net[ns] = [...links, ...routes].sort();
  }
  const processes = pidfiles(lab.runDir)
    .map((file) => pidIn(file))
    .filter((pid): pid is number => pid !== undefined && alive(pid))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
      } catch {
        return "(gone)";
      }
    })
    .sort();
  const ledgerDir = join(lab.runDir, "ledger");
  const ledger = existsSync(ledgerDir)
    ? readdirSync(ledgerDir)
        .sort()
        .map((name) => {
          try {
            return `${name} ${JSON.parse(readFileSync(join(ledgerDir, name), "utf8")).phase}`;
          } catch {
            return `${name} (unreadable)`;
          }
        })
    : [];
  return { namespaces, net, processes, ledger };
}

/** What is left of the lab after down: namespaces, live processes of its pidfiles, files in the run dir besides status.json. */
export async function labLeftovers(lab: Lab, started: readonly number[] = []): Promise<string[]> {
  const state = await labState(lab);
  const files = existsSync(lab.runDir) ? readdirSync(lab.runDir, { recursive: true }).map(String).filter((name) => name !== "status.json") : [];
  return [...state.namespaces.map((ns) => `namespace ${ns}`), ...started.filter(alive).map((pid) => `process ${pid}`), ...files.map((name) => `file ${name}`)];
}

/** The pids the lab's pidfiles name now. */
export function labPids(lab: Lab): number[] {
  return pidfiles(lab.runDir)
    .map((file) => pidIn(file))
    .filter((pid): pid is number => pid !== undefined);
}

/** Runs benito and reports how it ended, including death by a signal (a failpoint's SIGKILL). */
export async function benitoEnded(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 90_000): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; pid: number }> {
  const child = Bun.spawn([benitoBinary, ...args], { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code: child.exitCode, signal: child.signalCode === null ? null : String(child.signalCode), stdout, stderr, pid: child.pid };
}

/** Removes whatever a lab test left: down first, then each pidfile's process, then the namespaces by their exact names. */
export async function cleanLab(lab: Lab): Promise<void> {
  await run([benitoBinary, "down", "--lock-wait", "30", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 60_000 });
  for (const pid of labPids(lab)) if (alive(pid)) signalPid(pid, "SIGKILL");
  for (const node of labNodes) await run(["ip", "netns", "del", lab.namespace(node)]);
}

/** The lines in which two states differ ("- clean" / "+ now"), empty when equal. */
export function stateDiff(clean: LabState, now: LabState): string[] {
  const lines = (state: LabState) => new Set([...state.namespaces.map((ns) => `ns ${ns}`), ...Object.entries(state.net).flatMap(([ns, list]) => list.map((line) => `${ns}: ${line}`)), ...state.processes.map((argv) => `process ${argv}`), ...state.ledger.map((line) => `ledger ${line}`)]);
  const a = lines(clean);
  const b = lines(now);
  return [...[...a].filter((line) => !b.has(line)).map((line) => `- ${line}`), ...[...b].filter((line) => !a.has(line)).map((line) => `+ ${line}`)];
}
