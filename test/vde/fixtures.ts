// Test fixtures for VDE: real vde_switch daemons in a temp folder, plugs in namespaces, all stopped by pidfile.
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benitoBinary, run } from "../helpers/binary";
import { inNamespace, ip, type NamespaceSet } from "../helpers/netns";
import { stopForwarder } from "../../src/system/vde/forwarder-control";
import { alive, pidIn, signalPid } from "../helpers/processes";

export { alive, pidIn };

/** True when Debian's vde2 tools are installed (CI installs them; tests skip and say so otherwise). */
export const hasVde = ["/usr/bin/vde_switch", "/usr/bin/wirefilter", "/usr/bin/vde_plug2tap"].every((path) => existsSync(path));

if (!hasVde) console.warn("SKIPPED: VDE tests: vde_switch/wirefilter/vde_plug2tap (Debian package vde2) are not installed");

/** Polls a condition every 20 ms until it holds or the timeout passes. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (performance.now() >= deadline) return false;
    await Bun.sleep(20);
  }
}


/**
 * Lab class: a temp folder holding switches and pidfiles; `cleanup` kills every process whose
 * pidfile it recorded (by pid, never by name) and removes the folder.
 */
export class Lab {
  readonly dir = mkdtempSync(join(tmpdir(), "benito-vde-test-"));
  readonly #pidfiles: string[] = [];

  /** Remembers a pidfile whose process cleanup must stop. */
  track(pidfile: string): string {
    this.#pidfiles.push(pidfile);
    return pidfile;
  }

  /** Starts `vde_switch -s DIR/NAME -M DIR/NAME.mgmt -d -p DIR/NAME.pid`; returns its socket folder. */
  async startSwitch(name: string): Promise<string> {
    const sockDir = join(this.dir, name);
    const pidfile = this.track(join(this.dir, `${name}.pid`));
    const result = await run(["vde_switch", "-s", sockDir, "-M", `${sockDir}.mgmt`, "-d", "-p", pidfile]);
    if (result.code !== 0) throw new Error(`vde_switch failed: ${result.stderr}`);
    if (!(await waitFor(() => existsSync(join(sockDir, "ctl")) && pidIn(pidfile) !== undefined, 5000))) throw new Error("vde_switch did not come up");
    return sockDir;
  }

  /** Kills the process of a pidfile (SIGTERM, then SIGKILL) and waits for it to go. */
  async stop(pidfile: string, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const pid = pidIn(pidfile);
    if (pid === undefined || !alive(pid)) return;
    signalPid(pid, signal);
    if (!(await waitFor(() => !alive(pid), 3000))) signalPid(pid, "SIGKILL");
    await waitFor(() => !alive(pid), 2000);
  }

  /** Starts `benito vde plug --daemon` in a namespace; returns the pidfile. */
  async plug(namespace: string, sockDir: string, tap: string, extra: string[] = []): Promise<string> {
    const pidfile = this.track(join(this.dir, `plug-${namespace}-${tap}.pid`));
    const result = await inNamespace(namespace, [benitoBinary, "vde", "plug", "--switch", sockDir, "--tap", tap, "--daemon", "--pidfile", pidfile, ...extra]);
    if (result.code !== 0) throw new Error(`benito vde plug failed (${result.code}): ${result.stderr}`);
    return pidfile;
  }

  /** Starts Debian's vde_plug2tap in a namespace; returns the pidfile. */
  async plug2tap(namespace: string, sockDir: string, tap: string): Promise<string> {
    const pidfile = this.track(join(this.dir, `plug2tap-${namespace}-${tap}.pid`));
    const result = await inNamespace(namespace, ["vde_plug2tap", "-s", sockDir, "-d", "-P", pidfile, tap]);
    if (result.code !== 0) throw new Error(`vde_plug2tap failed: ${result.stderr}`);
    await waitFor(() => pidIn(pidfile) !== undefined, 3000);
    await waitFor(async () => (await inNamespace(namespace, ["ip", "link", "show", tap])).code === 0, 3000);
    return pidfile;
  }

  /** Files left in a switch folder besides its own ctl socket and port sockets (stale plug sockets). */
  strayFiles(sockDir: string): string[] {
    if (!existsSync(sockDir)) return [];
    return readdirSync(sockDir).filter((name) => name !== "ctl" && !/^\d{3}\.\d+$/.test(name));
  }

  /** Stops every tracked process (newest first) and removes the folder. */
  async cleanup(): Promise<void> {
    for (const pidfile of this.#pidfiles.splice(0).reverse()) await this.stop(pidfile);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Gives a TAP in a namespace an address and brings it up. */
export async function address(namespace: string, tap: string, cidr: string): Promise<void> {
  await ip("-n", namespace, "addr", "add", cidr, "dev", tap);
  await ip("-n", namespace, "link", "set", tap, "up");
}

/** Pings from a namespace; returns the ping's exit code and output. */
export function ping(namespace: string, target: string, count = 3, interval = "0.2") {
  return inNamespace(namespace, ["ping", "-n", "-c", String(count), "-i", interval, "-W", "2", target], { timeoutMs: 60_000 });
}

/** The packet loss percentage ping printed ("N% packet loss"). */
export function lossPercent(output: string): number {
  const match = /(\d+(?:\.\d+)?)% packet loss/.exec(output);
  if (!match) throw new Error(`no loss figure in ping output: ${output}`);
  return Number(match[1]);
}

/** The average RTT in ms ping printed ("rtt min/avg/max/mdev = a/b/c/d ms"). */
export function averageRtt(output: string): number {
  const match = /= [\d.]+\/([\d.]+)\//.exec(output);
  if (!match) throw new Error(`no RTT figures in ping output: ${output}`);
  return Number(match[1]);
}

/** A forwarder test's teardown: runDir's forwarders first (they hold TAPs and switch ports), then the lab's processes and folder, then the namespaces. */
export async function tearDownForwarderLab(runDir: string, lab: Lab, namespaces: NamespaceSet): Promise<void> {
  await stopForwarder(runDir, benitoBinary);
  await lab.cleanup();
  await namespaces.cleanup();
}
