// The forwarding loop in process, with the switch's side of each port played by the test (socket pairs): a reused port slot ignores the old port's events, frames larger than VDE carries are dropped whole, a slow control client holds only its own connection, and a full set of control clients does not make it spin.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ptr } from "bun:ffi";
import { check, errno, libc } from "../../src/system/libc";
import { AF_UNIX, EAGAIN, MSG_DONTWAIT, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM } from "../../src/system/libc-constants";
import { attachTap } from "../../src/system/tap";
import type { VdeConnection } from "../../src/system/vde/connect";
import { Forwarder, maxFrameBytes, type PortEnd } from "../../src/system/vde/forwarder";
import { forwarderPaths, writePortRecord } from "../../src/system/vde/forwarder-records";
import { forwarderRequest, stopForwarder } from "../../src/system/vde/forwarder-control";
import { benito, benitoBinary } from "../helpers/binary";
import { inNamespace, ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { pidIn, waitFor } from "./fixtures";

/** CPU time (user + system, all threads) a process has used, in seconds (/proc/PID/stat counts in USER_HZ = 100 ticks a second on Linux). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is field 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A socket pair: [the loop's end, the test's end]. */
function socketPair(type: number): [number, number] {
  const fds = new Int32Array(2);
  check("socketpair", libc.socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ptr(fds)));
  return [fds[0] ?? -1, fds[1] ?? -1];
}

/** A switch port played by the test: the loop gets one end of each pair, the test keeps the other. */
class FakeSwitchPort {
  readonly connection: VdeConnection;
  readonly switchData: number;
  readonly #fds: number[];
  constructor() {
    const [data, switchData] = socketPair(SOCK_DGRAM);
    const [control, switchControl] = socketPair(SOCK_STREAM);
    this.connection = { dataFd: data, controlFd: control, port: 1, switchDataPath: "" };
    this.switchData = switchData;
    this.#fds = [data, switchData, control, switchControl];
  }
  /** The next frame the loop sent to the switch, if any. */
  receive(): Uint8Array | undefined {
    const buffer = new Uint8Array(65536);
    const count = Number(libc.recv(this.switchData, ptr(buffer), buffer.length, MSG_DONTWAIT));
    if (count < 0 && errno() === EAGAIN) return undefined;
    if (count < 0) throw new Error(`recv: errno ${errno()}`);
    return buffer.subarray(0, count);
  }
  close(): void {
    for (const fd of this.#fds) libc.close(fd);
  }
}

/** The ICMP message of an IPv4 Ethernet frame, or undefined for other frames. */
function icmpOf(frame: Uint8Array): Uint8Array | undefined {
  if (frame.length < 34 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 1) return undefined;
  const headerLength = ((frame[14] ?? 0) & 0x0f) * 4;
  const total = ((frame[16] ?? 0) << 8) | (frame[17] ?? 0);
  return frame.subarray(14 + headerLength, 14 + total);
}

/** Whether the Internet checksum over bytes comes out right. */
function checksumHolds(bytes: Uint8Array): boolean {
  let sum = 0;
  for (let index = 0; index < bytes.length; index += 2) sum += ((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

describe.skipIf(!isRoot)("the forwarding loop with the switch played by the test (root)", () => {
  const namespaces = new NamespaceSet();
  let ns = "";
  const tapFds: number[] = [];
  const switchPorts: FakeSwitchPort[] = [];
  const openTap = (name: string): number => {
    const fd = attachTap(name, true, ns);
    tapFds.push(fd);
    return fd;
  };
  const fakePort = (): FakeSwitchPort => {
    const port = new FakeSwitchPort();
    switchPorts.push(port);
    return port;
  };

  beforeAll(async () => {
    ns = await namespaces.add("loop");
    for (const tap of ["ta", "tb", "tc", "td"]) await ip("-n", ns, "tuntap", "add", tap, "mode", "tap");
  }, 30_000);
  afterAll(async () => {
    for (const fd of tapFds) libc.close(fd);
    for (const port of switchPorts) port.close();
    await namespaces.cleanup();
  }, 30_000);

  test("a port slot freed and reused within one epoll batch does not get the old port's hang-up", async () => {
    const ended: string[] = [];
    const loop = new Forwarder<string>({ ended: (key, end: PortEnd) => ended.push(`${key}: ${end}`) });
    const oldTap = openTap("ta");
    loop.add("old", oldTap, fakePort().connection);
    // A control fd becomes readable first, then the old port's TAP hangs up: one batch, in that order.
    const [watched, poke] = socketPair(SOCK_STREAM);
    let handled = false;
    loop.watch(watched, () => {
      libc.recv(watched, ptr(new Uint8Array(16)), 16, MSG_DONTWAIT);
      // What a control request does: the old port goes, a new one takes its slot, in this batch.
      loop.remove("old");
      loop.add("new", openTap("tb"), fakePort().connection);
      handled = true;
      loop.stop();
    });
    libc.send(poke, ptr(new Uint8Array([1])), 1, 0);
    await ip("-n", ns, "link", "del", "ta");
    await loop.run();
    expect(handled).toBe(true);
    expect(ended).toEqual([]);
    expect(loop.size).toBe(1);
    expect(loop.stats("new")).toBeDefined();
    loop.unwatch(watched);
    loop.close();
    libc.close(watched);
    libc.close(poke);
  }, 30_000);

  test("a TAP whose MTU was raised after it was added: frames larger than VDE carries are dropped whole, the rest arrive intact even when they wait for the switch", async () => {
    const loop = new Forwarder<string>({ ended: () => undefined });
    await ip("-n", ns, "link", "set", "td", "mtu", "9000");
    loop.add("big", openTap("td"), fakePort().connection);
    const switchPort = fakePort();
    loop.add("raised", openTap("tc"), switchPort.connection);
    // Raised after the port was added; no IPv6 chatter in the frames counted below.
    await inNamespace(ns, ["sysctl", "-qw", "net.ipv6.conf.tc.disable_ipv6=1"]);
    await ip("-n", ns, "link", "set", "tc", "mtu", "9000", "up");
    await ip("-n", ns, "addr", "add", "10.213.9.1/24", "dev", "tc");
    await ip("-n", ns, "neigh", "add", "10.213.9.2", "lladdr", "02:00:00:00:09:02", "dev", "tc", "nud", "permanent");
    // Frames queue in the TAP while the loop is not running, so it reads them in batches; the
    // test does not read the switch's side yet, so most of them must wait for the switch.
    const flood = ["ping", "-n", "-q", "-c", "24", "-i", "0.002", "-W", "1"];
    await inNamespace(ns, [...flood, "-s", "7000", "10.213.9.2"]);
    await inNamespace(ns, [...flood, "-s", "1000", "10.213.9.2"]);
    const running = loop.run();
    const frames: Uint8Array[] = [];
    await waitFor(() => {
      for (let frame = switchPort.receive(); frame !== undefined; frame = switchPort.receive()) frames.push(frame);
      return frames.filter((frame) => icmpOf(frame) !== undefined).length >= 24;
    }, 15_000);
    loop.stop();
    await running;
    const echoes = frames.map(icmpOf).filter((icmp) => icmp !== undefined);
    expect(echoes.length).toBe(24);
    expect(frames.every((frame) => frame.length <= maxFrameBytes)).toBe(true);
    expect(echoes.every(checksumHolds)).toBe(true);
    expect(loop.stats("raised")?.tapToSwitch.drops).toBe(24);
    loop.close();
  }, 60_000);
});

describe.skipIf(!isRoot)("the forwarder's control socket", () => {
  const dir = mkdtempSync(join(tmpdir(), "benito-fwd-control-"));
  const runDir = join(dir, "run");
  const paths = forwarderPaths(runDir);
  const sockets: Socket[] = [];
  const namespaces = new NamespaceSet();
  let silentSwitch: Server | undefined;
  /** Connects to the control socket; resolves with the client and a promise of everything it reads until the server closes. */
  const connect = async (): Promise<{ socket: Socket; text: () => string; closed: Promise<string> }> => {
    const socket = createConnection({ path: paths.socket });
    sockets.push(socket);
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString("utf8")));
    const closed = new Promise<string>((resolve) => socket.on("close", () => resolve(text)));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.on("connect", () => resolve()));
    return { socket, text: () => text, closed };
  };

  beforeAll(async () => {
    // A forwarder with no ports yet (its folder is made by the first port record otherwise).
    mkdirSync(paths.dir, { recursive: true });
    const started = await benito(["vde", "forwarder", "--run-dir", runDir, "--daemon"]);
    if (started.code !== 0) throw new Error(`benito vde forwarder: ${started.stderr}`);
  }, 30_000);
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await stopForwarder(runDir, benitoBinary);
    silentSwitch?.close();
    await namespaces.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  test("a client that has not sent its request holds only its own connection: others are answered meanwhile, and so is it once it sends", async () => {
    const slow = await connect();
    // Give the forwarder the slow client first (before the change it then waited for its line).
    slow.socket.write('{"op":');
    await Bun.sleep(50);
    const quick = await connect();
    quick.socket.write('{"op":"list"}\n');
    expect(JSON.parse(await quick.closed)).toEqual({ ok: true, ports: [] });
    expect(slow.text()).toBe("");
    slow.socket.write('"list"}\n');
    expect(JSON.parse(await slow.closed)).toEqual({ ok: true, ports: [] });
  }, 30_000);

  test("with every client slot taken and more clients waiting, the forwarder does not spin; the waiting ones are served once slots free", async () => {
    const pid = pidIn(paths.pidfile) ?? 0;
    expect(pid).toBeGreaterThan(1);
    const openFds = () => readdirSync(`/proc/${pid}/fd`).length;
    const fdsBefore = openFds();
    // 64 silent clients take every slot (each stays until it goes or its 5 s deadline).
    const held = [];
    for (let index = 0; index < 64; index += 1) held.push(await connect());
    expect(await waitFor(() => openFds() >= fdsBefore + 64, 3000)).toBe(true);
    // One more waits in the listen backlog: the listening socket is readable from now on.
    const waiting = await connect();
    waiting.socket.write('{"op":"list"}\n');
    await Bun.sleep(100);
    // Before the fix the listening socket stayed in the level-triggered epoll set: epoll_wait
    // returned at once on every pass, about a second of CPU over this second.
    const before = cpuSeconds(pid);
    await Bun.sleep(1000);
    const used = cpuSeconds(pid) - before;
    expect(used).toBeLessThan(0.15);
    for (const client of held) client.socket.destroy();
    expect(JSON.parse(await waiting.closed)).toEqual({ ok: true, ports: [] });
    expect(await forwarderRequest(runDir, { op: "list" })).toEqual({ ok: true, ports: [] });
  }, 30_000);

  test("a switch that does not answer a port request holds only that port: the forwarder answers others meanwhile, then fails the port", async () => {
    // A "switch" whose control socket takes connections and never answers them.
    const switchDir = join(dir, "silent");
    mkdirSync(switchDir);
    const held: Socket[] = [];
    silentSwitch = createServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silentSwitch?.listen(join(switchDir, "ctl"), resolve));
    const ns = await namespaces.add("silent");
    await ip("-n", ns, "tuntap", "add", "vt0", "mode", "tap");
    writePortRecord(runDir, { version: 1, kind: "forwarder-port", id: "hung", netns: ns, tap: "vt0", switchDir, port: 0, reconnect: false, shard: 0 });
    const order: string[] = [];
    const adding = forwarderRequest(runDir, { op: "add", id: "hung" }).then((answer) => {
      order.push("add");
      return answer;
    });
    await waitFor(() => held.length > 0, 10_000);
    const listed = await forwarderRequest(runDir, { op: "list" });
    order.push("list");
    expect(listed.ports?.map((port) => [port.id, port.state])).toEqual([["hung", "connecting"]]);
    const added = await adding;
    expect(order).toEqual(["list", "add"]);
    expect(added.ok).toBe(false);
    expect(added.error).toContain("did not answer the port request");
    for (const socket of held) socket.destroy();
  }, 30_000);
});
