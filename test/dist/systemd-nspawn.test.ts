// benito.service under real systemd 252 in systemd-nspawn, installed by `benito install`: a good boot, a boot with one failing route (everything else keeps running, the failure shows), and `systemctl stop benito` leaving nothing.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { benito, run } from "../helpers/binary";
import { makeContainerRoot, pnodeNic, type ContainerRoot } from "../helpers/container-root";
import { ip, uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { alive, signalPid } from "../helpers/processes";

// A whole system boots (about 2 s here); every wait below is bounded.
setDefaultTimeout(120_000);

const nspawn = Bun.which("systemd-nspawn");
if (isRoot && nspawn === null) console.warn("SKIPPED: benito.service under systemd-nspawn: systemd-nspawn (Debian systemd-container) is not installed");

describe.skipIf(!isRoot || nspawn === null)("benito.service under systemd in systemd-nspawn", () => {
  const prefix = uniquePrefix();
  const netns = `${prefix}-nsp`;
  let image: ContainerRoot;
  let container: ReturnType<typeof Bun.spawn> | undefined;
  let leader = 0;

  /** Runs a command inside the container (all its namespaces), as `machinectl shell` would. */
  const inside = (...argv: string[]) => run(["nsenter", "--target", String(leader), "--mount", "--uts", "--ipc", "--net", "--pid", "--", ...argv], { timeoutMs: 90_000 });
  /** The names of every process in the container. */
  const processes = async () => (await inside("sh", "-c", "for p in /proc/[0-9]*; do cat $p/comm 2>/dev/null; done")).stdout.split("\n").filter((name) => name !== "");
  const unitState = async (unit: string) => (await inside("systemctl", "is-active", unit)).stdout.trim();

  beforeAll(async () => {
    image = await makeContainerRoot(prefix);
    const installed = await benito(["install", "--root", image.root]);
    if (installed.code !== 0) throw new Error(`benito install: ${installed.stderr}`);
    await ip("netns", "add", netns);
    // The pnode's experiment NIC, found by its MAC.
    await ip("-n", netns, "link", "add", "eth0", "address", pnodeNic.mac, "type", "veth", "peer", "name", "eth0peer");
    await ip("-n", netns, "link", "set", "eth0peer", "up");
    container = Bun.spawn([nspawn ?? "systemd-nspawn", `--directory=${image.root}`, "--boot", "--register=no", "--keep-unit",
      // A pnode's benito configures its NICs: the capability a real host has (nspawn drops it without --private-network).
      "--capability=CAP_NET_ADMIN", `--network-namespace-path=/run/netns/${netns}`, `--hostname=${image.host}`, "--quiet"], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "ignore",
    });
    // The container's PID 1 is nspawn's child; wait (bounded) until it answers.
    for (let i = 0; i < 300 && leader === 0; i++) {
      await Bun.sleep(100);
      leader = containerLeader(container.pid);
    }
    if (leader === 0) throw new Error("systemd-nspawn started no container");
    for (let i = 0; i < 60; i++) {
      const state = (await inside("systemctl", "is-system-running", "--wait")).stdout.trim();
      if (state !== "" && state !== "starting" && state !== "initializing") break;
      await Bun.sleep(500);
    }
  });

  afterAll(async () => {
    if (leader > 1) await inside("systemctl", "poweroff");
    if (container !== undefined) {
      const exited = await Promise.race([container.exited.then(() => true), Bun.sleep(30_000).then(() => false)]);
      // Killing nspawn alone would leave the container's init running: kill it (and with it its
      // whole PID namespace) by its own pid first.
      if (!exited && leader > 1 && alive(leader)) signalPid(leader, "SIGKILL");
      if (!exited && alive(container.pid)) signalPid(container.pid, "SIGKILL");
      await container.exited;
    }
    await run(["ip", "netns", "del", netns]);
    await image?.cleanup();
  });

  test("a good boot: the unit is active, the switch and the vnode run, status exit 0", async () => {
    expect(await unitState("benito.service")).toBe("active");
    expect(await unitState("benito-status.service")).toBe("active");
    const names = await processes();
    expect(names).toContain("vde_switch");
    const status = await inside("/usr/local/sbin/benito", "status");
    expect(status.stdout).toContain("as wanted");
    expect(status.code).toBe(0);
    const address = await inside("ip", "-4", "-o", "addr", "show", "dev", "eth0");
    expect(address.stdout).toContain(`${pnodeNic.address}/24`);
  });

  test("one failing route: switches and vnode keep running, the failure shows in systemctl, the journal and status.json", async () => {
    image.addFailingRoute();
    const restarted = await inside("systemctl", "restart", "benito.service");
    expect(restarted.code).toBe(0);
    // benito-status runs after benito (PartOf: restarted with it).
    for (let i = 0; i < 60 && (await unitState("benito-status.service")) === "activating"; i++) await Bun.sleep(250);
    expect(await unitState("benito.service")).toBe("active");
    expect(await unitState("benito-status.service")).toBe("failed");
    expect((await inside("systemctl", "is-system-running")).stdout.trim()).toBe("degraded");
    const shown = await inside("systemctl", "status", "--no-pager", "--lines=40", "benito.service");
    expect(shown.stdout).toMatch(/ExecStart=\/usr\/local\/sbin\/benito boot \(code=exited, status=1\/FAILURE\)/);
    const journal = await inside("journalctl", "--no-pager", "-u", "benito.service", "-o", "cat");
    expect(journal.stdout).toMatch(/routes: failed/);
    // /run is the container's own tmpfs: read the record from inside.
    const statusJson = JSON.parse((await inside("cat", "/run/benito/status.json")).stdout) as { exitCode: number; stages: { id: string; outcome: string }[] };
    expect(statusJson.exitCode).toBe(1);
    expect(statusJson.stages.find((stage) => stage.id === "routes")?.outcome).toBe("failed");
    const names = await processes();
    expect(names).toContain("vde_switch");
    const namespaces = (await inside("ip", "netns", "list")).stdout;
    expect(namespaces).toContain(`bn-${image.vnode}`);
    expect((await inside("/usr/local/sbin/benito", "status")).code).toBe(1);
  });

  test("systemctl stop benito runs benito down and leaves nothing", async () => {
    const stopped = await inside("systemctl", "stop", "benito.service");
    expect(stopped.code).toBe(0);
    expect(await unitState("benito.service")).toBe("inactive");
    const names = await processes();
    expect(names).not.toContain("vde_switch");
    expect(names).not.toContain("wirefilter");
    expect(names).not.toContain("benito");
    expect((await inside("ip", "netns", "list")).stdout.trim()).toBe("");
    expect((await inside("ip", "-4", "-o", "addr", "show", "dev", "eth0")).stdout.trim()).toBe("");
  });
});

/** The pid of the container's init: systemd-nspawn's child running systemd (read from /proc, never guessed). */
function containerLeader(nspawnPid: number): number {
  try {
    for (const task of readdirSync(`/proc/${nspawnPid}/task`)) {
      for (const word of readFileSync(`/proc/${nspawnPid}/task/${task}/children`, "utf8").trim().split(/\s+/)) {
        const pid = Number(word);
        if (pid > 1 && readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "systemd") return pid;
      }
    }
  } catch {
    // Not started yet, or gone.
  }
  return 0;
}
