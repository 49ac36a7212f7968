// The sysvinit script (LSB exit codes) and the rc.local block, installed by `benito install` and run in a chroot: good boot, one failing route, stop, and the floors preflight names.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benito, run } from "../helpers/binary";
import { makeContainerRoot, pnodeNic, type ContainerRoot } from "../helpers/container-root";
import { ip, uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { alive, pidfiles, pidIn, signalPid } from "../helpers/processes";

setDefaultTimeout(60_000);

describe.skipIf(!isRoot)("sysvinit script and rc.local block in a chroot (root)", () => {
  const prefix = uniquePrefix();
  const netns = `${prefix}-chr`;
  let image: ContainerRoot;
  let holder: ReturnType<typeof Bun.spawn> | undefined;

  /** Runs argv chrooted into the image, in the test's network and mount namespaces (held by `holder`). */
  const chrooted = (...argv: string[]) => run(["nsenter", "--target", String(holder?.pid ?? 0), "--mount", "--net", "--", "chroot", image.root, ...argv], { timeoutMs: 45_000 });
  /** Runs argv in the holder's namespaces, outside the chroot. */
  const outside = (...argv: string[]) => run(["nsenter", "--target", String(holder?.pid ?? 0), "--mount", "--net", "--", ...argv]);
  const runDir = () => join(image.root, "run/benito");
  /** True when a vde_switch named in a pidfile under the image's run folder runs. */
  const switchAlive = () =>
    pidfiles(runDir()).some((file) => {
      const pid = pidIn(file);
      if (pid === undefined || !alive(pid)) return false;
      try {
        return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "vde_switch";
      } catch {
        return false;
      }
    });

  beforeAll(async () => {
    image = await makeContainerRoot(prefix);
    await ip("netns", "add", netns);
    await ip("-n", netns, "link", "add", "eth0", "address", pnodeNic.mac, "type", "veth", "peer", "name", "eth0peer");
    await ip("-n", netns, "link", "set", "lo", "up");
    // One mount namespace for the whole file: /proc and the vnodes' namespace mounts live in it and die with it.
    holder = Bun.spawn(["ip", "netns", "exec", netns, "unshare", "--mount", "--propagation", "private", "sleep", "600"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    for (let i = 0; i < 50; i++) {
      await Bun.sleep(100);
      if ((await outside("true")).code === 0 && readFileSync(`/proc/${holder.pid}/cmdline`, "utf8").startsWith("sleep")) break;
    }
    // Device nodes (/dev/null for daemons, /dev/net/tun for TAPs), in the private mount namespace only.
    const dev = await outside("mount", "--bind", "/dev", join(image.root, "dev"));
    if (dev.code !== 0) throw new Error(`mounting /dev: ${dev.stderr}`);
  });

  afterAll(async () => {
    if (holder !== undefined && existsSync(join(image.root, "usr/local/sbin/benito"))) await chrooted("/usr/local/sbin/benito", "down", "/var/benito/config", image.host);
    for (const pidfile of image === undefined ? [] : pidfiles(runDir())) {
      const pid = pidIn(pidfile);
      if (pid !== undefined) signalPid(pid, "SIGKILL");
    }
    if (holder !== undefined) {
      signalPid(holder.pid, "SIGKILL");
      await holder.exited;
    }
    await run(["ip", "netns", "del", netns]);
    await image?.cleanup();
  });

  test("sysv: without /proc, start names the problem in one line and changes nothing (exit 1)", async () => {
    const installed = await benito(["install", "--root", image.root, "--init", "sysv"]);
    expect(installed.stderr).toBe("");
    // The hostname inside the chroot is the machine's: give the script's boot the host by name.
    const script = join(image.root, "etc/init.d/benito");
    writeFileSync(script, readFileSync(script, "utf8").replaceAll('"$BENITO" boot', `"$BENITO" boot /var/benito/config ${image.host}`).replaceAll('"$BENITO" down', `"$BENITO" down /var/benito/config ${image.host}`).replaceAll('"$BENITO" status', `"$BENITO" status /var/benito/config ${image.host}`));
    const start = await chrooted("/etc/init.d/benito", "start");
    expect(start.stderr.trim()).toBe("benito: /proc is not mounted; benito needs it (mount -t proc proc /proc)");
    expect(start.code).toBe(1);
    expect(existsSync(join(runDir(), "status.json"))).toBe(false);
    expect((await outside("mount", "-t", "proc", "proc", join(image.root, "proc"))).code).toBe(0);
  });

  test("sysv: a stripped binary and a CPU without SSE4.2 are named by preflight", async () => {
    const binary = join(image.root, "usr/local/sbin/benito");
    const kept = join(image.dir, "benito.unstripped");
    copyFileSync(binary, kept);
    expect((await run(["strip", binary])).code).toBe(0);
    const stripped = await chrooted("/etc/init.d/benito", "start");
    expect(stripped.stderr).toMatch(/^benito: \/usr\/local\/sbin\/benito --version printed "[0-9.]+", not "benito \.\.\.": a stripped copy/);
    expect(stripped.code).toBe(1);
    copyFileSync(kept, binary);
    const fake = join(image.dir, "cpuinfo");
    writeFileSync(fake, "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 syscall nx lm pni cx16\n");
    expect((await outside("mount", "--bind", fake, join(image.root, "proc/cpuinfo"))).code).toBe(0);
    const oldCpu = await chrooted("/etc/init.d/benito", "start");
    expect((await outside("umount", join(image.root, "proc/cpuinfo"))).code).toBe(0);
    expect(oldCpu.stderr).toStartWith("benito: this CPU lacks sse4_2;");
    expect(oldCpu.code).toBe(1);
  });

  test("sysv: status of a stopped service is 3; start 0, status 0", async () => {
    expect((await chrooted("/etc/init.d/benito", "status")).code).toBe(3);
    const start = await chrooted("/etc/init.d/benito", "start");
    expect(start.stderr).not.toContain("internal error");
    expect(start.code).toBe(0);
    expect(switchAlive()).toBe(true);
    expect((await chrooted("/etc/init.d/benito", "status")).code).toBe(0);
  });

  test("sysv: one failing route: start exits 1, the switch keeps running, status 1; stop leaves nothing, status 3", async () => {
    image.addFailingRoute();
    const start = await chrooted("/etc/init.d/benito", "start");
    expect(start.code).toBe(1);
    expect(start.stdout).toMatch(/failed\s+routes/);
    expect(switchAlive()).toBe(true);
    expect((await chrooted("/etc/init.d/benito", "status")).code).toBe(1);
    const stop = await chrooted("/etc/init.d/benito", "stop");
    expect(stop.code).toBe(0);
    expect(pidfiles(runDir()).filter((file) => pidIn(file) !== undefined && alive(pidIn(file) ?? 0))).toEqual([]);
    expect((await chrooted("/etc/init.d/benito", "status")).code).toBe(3);
  });

  test("rc.local: boots on an image without /var/log/benito, and says where to look when boot fails", async () => {
    rmSync(join(image.root, "var/benito/config/route"), { recursive: true, force: true });
    expect((await benito(["uninstall", "--root", image.root])).code).toBe(0);
    expect(existsSync(join(image.root, "etc/init.d/benito"))).toBe(false);
    expect((await benito(["install", "--root", image.root, "--init", "rc.local"])).code).toBe(0);
    rmSync(join(image.root, "var/log/benito"), { recursive: true, force: true });
    const rcLocal = join(image.root, "etc/rc.local");
    writeFileSync(rcLocal, readFileSync(rcLocal, "utf8").replace('"$BENITO" boot', `"$BENITO" boot /var/benito/config ${image.host}`));
    const good = await chrooted("/bin/sh", "/etc/rc.local");
    expect(good.stderr).not.toContain("failed");
    expect(good.code).toBe(0);
    expect(switchAlive()).toBe(true);
    image.addFailingRoute();
    const bad = await chrooted("/bin/sh", "/etc/rc.local");
    expect(bad.code).toBe(0);
    expect(bad.stderr).toContain("benito boot failed (exit 1): see benito status");
    expect(switchAlive()).toBe(true);
    const down = await chrooted("/usr/local/sbin/benito", "down", "/var/benito/config", image.host);
    expect(down.code).toBe(0);
    expect(pidfiles(runDir()).filter((file) => alive(pidIn(file) ?? 0))).toEqual([]);
  });
});
