// `benito vde plug` against a real vde_switch: namespaces ping through it, interop with vde_plug2tap, switch loss, reconnect.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benito, benitoBinary } from "../helpers/binary";
import { inNamespace, ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { signalPid } from "../helpers/processes";
import { address, alive, hasVde, Lab, pidIn, ping, waitFor } from "./fixtures";

describe("vde plug command line", () => {
  test("--tap is required (usage error)", async () => {
    const result = await benito(["vde", "plug", "--switch", "/nonexistent"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--tap NAME is required");
  }, 60_000);

  test("a TAP name the kernel refuses is an input error", async () => {
    const result = await benito(["vde", "plug", "--switch", "/nonexistent", "--tap", "much-too-long-name0"]);
    expect(result.code).toBe(3);
  }, 60_000);
});

describe.skipIf(!isRoot || !hasVde)("vde plug through a real vde_switch (root)", () => {
  const namespaces = new NamespaceSet();
  const lab = new Lab();
  let sw = "";
  const ns: string[] = [];

  beforeAll(async () => {
    sw = await lab.startSwitch("sw");
    for (const suffix of ["a", "b", "c", "d"]) ns.push(await namespaces.add(suffix));
  }, 60_000);
  afterAll(async () => {
    await lab.cleanup();
    await namespaces.cleanup();
  }, 60_000);

  test("three namespaces plugged by benito ping each other; no plug socket is left in the switch folder", async () => {
    const [a, b, c] = ns as [string, string, string];
    for (const [index, namespace] of [a, b, c].entries()) {
      const pidfile = await lab.plug(namespace, sw, "vt0");
      expect(alive(pidIn(pidfile) ?? 0)).toBe(true);
      await address(namespace, "vt0", `10.213.1.${index + 1}/24`);
    }
    for (const [from, to] of [[a, "10.213.1.2"], [a, "10.213.1.3"], [b, "10.213.1.3"], [c, "10.213.1.1"]] as const) {
      const result = await ping(from, to);
      expect(result.stdout).toContain(" 0% packet loss");
      expect(result.code).toBe(0);
    }
    expect(lab.strayFiles(sw)).toEqual([]);
  }, 60_000);

  test("a namespace on benito's plug talks to one on vde_plug2tap (interoperability)", async () => {
    const [a, , , d] = ns as [string, string, string, string];
    await lab.plug2tap(d, sw, "vt0");
    await address(d, "vt0", "10.213.1.4/24");
    const there = await ping(a, "10.213.1.4");
    expect(there.stdout).toContain(" 0% packet loss");
    const back = await ping(d, "10.213.1.1");
    expect(back.stdout).toContain(" 0% packet loss");
  }, 60_000);

  test("SIGTERM stops a foreground plug cleanly (exit 0) and --stats reports both directions", async () => {
    const [, b] = ns as [string, string];
    const pidfile = lab.track(join(lab.dir, "fg.pid"));
    const child = Bun.spawn(["ip", "netns", "exec", b, benitoBinary, "vde", "plug", "--switch", sw, "--tap", "fg0", "--pidfile", pidfile, "--stats"], { stdout: "pipe", stderr: "pipe" });
    try {
      expect(await waitFor(() => pidIn(pidfile) !== undefined, 5000)).toBe(true);
      await address(b, "fg0", "10.213.2.2/24");
      // Traffic to an address nobody has still crosses the plug (ARP requests out; nothing back).
      await ping(b, "10.213.2.9", 2, "0.2");
      signalPid(pidIn(pidfile) ?? 0, "SIGTERM");
      const code = await Promise.race([child.exited, Bun.sleep(5000).then(() => -1)]);
      expect(code).toBe(0);
      const stdout = await new Response(child.stdout).text();
      expect(stdout).toMatch(/^tap->switch: [1-9]\d* frames, [1-9]\d* bytes, 0 dropped$/m);
      expect(stdout).toMatch(/^switch->tap: \d+ frames, \d+ bytes, \d+ dropped$/m);
      expect(existsSync(pidfile)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  test("a plug whose switch cannot be reached fails with a message and leaves no pidfile", async () => {
    const [a] = ns as [string];
    const pidfile = join(lab.dir, "nowhere.pid");
    // In a namespace: the plug attaches its TAP (here a fleeting one) before it connects.
    const result = await inNamespace(a, [benitoBinary, "vde", "plug", "--switch", join(lab.dir, "no-switch"), "--tap", "nw0", "--daemon", "--pidfile", pidfile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`benito: while connecting to the VDE switch on ${join(lab.dir, "no-switch")}: no switch there (${join(lab.dir, "no-switch", "ctl")} does not exist)\n`);
    expect(existsSync(pidfile)).toBe(false);
  }, 60_000);

  test("a stale pidfile whose pid now belongs to another program is no reason to refuse", async () => {
    const [a] = ns as [string];
    const pidfile = join(lab.dir, "stale.pid");
    // A live process that is not benito stands in for a reused pid.
    const other = Bun.spawn(["sleep", "30"]);
    try {
      writeFileSync(pidfile, `${other.pid}\n`);
      const result = await inNamespace(a, [benitoBinary, "vde", "plug", "--switch", join(lab.dir, "no-switch"), "--tap", "st0", "--daemon", "--pidfile", pidfile]);
      expect(result.stderr).not.toContain("names a running process");
      expect(result.stderr).toContain("no switch there");
    } finally {
      other.kill("SIGKILL");
    }
  }, 60_000);
});

describe.skipIf(!isRoot || !hasVde)("vde plug when the switch goes away (root)", () => {
  const namespaces = new NamespaceSet();
  const lab = new Lab();
  let a = "";
  let b = "";

  beforeAll(async () => {
    a = await namespaces.add("a");
    b = await namespaces.add("b");
  }, 60_000);
  afterAll(async () => {
    await lab.cleanup();
    await namespaces.cleanup();
  }, 60_000);

  test("killing the switch ends a plug without --reconnect (exit 1, message)", async () => {
    const sw = await lab.startSwitch("gone");
    const child = Bun.spawn(["ip", "netns", "exec", a, benitoBinary, "vde", "plug", "--switch", sw, "--tap", "gn0"], { stdout: "pipe", stderr: "pipe" });
    try {
      // The switch makes a data socket NNN.fd for the port; the plug unlinks its own socket
      // (.benito-PID-N) only once it has connected to that: then the port is fully open.
      const open = () => {
        const names = readdirSync(sw);
        return names.some((name) => /^\d{3}\.\d+$/.test(name)) && !names.some((name) => name.startsWith(".benito-"));
      };
      expect(await waitFor(open, 5000)).toBe(true);
      await lab.stop(join(lab.dir, "gone.pid"), "SIGKILL");
      const code = await Promise.race([child.exited, Bun.sleep(5000).then(() => -1)]);
      expect(code).toBe(1);
      expect(await new Response(child.stderr).text()).toContain("the switch closed the port");
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  test("deleting the TAP under a running plug ends it with a message (exit 1)", async () => {
    const sw = await lab.startSwitch("tapgone");
    const child = Bun.spawn(["ip", "netns", "exec", b, benitoBinary, "vde", "plug", "--switch", sw, "--tap", "tg0"], { stdout: "pipe", stderr: "pipe" });
    try {
      expect(await waitFor(() => readdirSync(sw).some((name) => /^\d{3}\.\d+$/.test(name)), 5000)).toBe(true);
      await ip("-n", b, "link", "del", "tg0");
      const code = await Promise.race([child.exited, Bun.sleep(5000).then(() => -1)]);
      expect(code).toBe(1);
      expect(await new Response(child.stderr).text()).toContain("benito: while forwarding frames on tg0: the TAP device went away");
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  test("with --reconnect the plug comes back after the switch restarts", async () => {
    const sw = await lab.startSwitch("again");
    await lab.plug(a, sw, "rc0", ["--reconnect"]);
    const other = await lab.plug(b, sw, "rc0");
    await address(a, "rc0", "10.213.3.1/24");
    await address(b, "rc0", "10.213.3.2/24");
    expect((await ping(a, "10.213.3.2")).code).toBe(0);

    await lab.stop(join(lab.dir, "again.pid"));
    await lab.stop(other);
    await lab.startSwitch("again");
    await lab.plug(b, sw, "rc1");
    await address(b, "rc1", "10.213.3.3/24");
    // The reconnecting plug retries with a backoff of at most 5 s.
    const back = await waitFor(async () => (await ping(a, "10.213.3.3", 1, "0.2")).code === 0, 15_000);
    expect(back).toBe(true);
  }, 60_000);
});
