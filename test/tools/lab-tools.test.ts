// The experimenter's tools on a running example lab (one boot for all): exec, capture, link.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { benito, benitoBinary, run } from "../helpers/binary";
import { cleanLab } from "../helpers/lab-state";
import { makeLab, type Lab } from "../helpers/lab";
import { inNamespace, uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { pidfiles, pidIn, signalPid } from "../helpers/processes";
import { drain, readUntil } from "../helpers/streams";

// Real namespaces, switches and processes: every wait inside is bounded.
setDefaultTimeout(120_000);

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;
const hasTcpdump = Bun.which("tcpdump") !== null;
if (!hasTcpdump) console.warn("SKIPPED: the capture tests of test/tools read pcap files with tcpdump, which is not installed (apt-get install tcpdump)");

describe.skipIf(!isRoot || !hasVde)("tools on the running example lab (root, namespaces, real vde_switch)", () => {
  let lab: Lab;
  const where = () => ["--config", lab.config, "--run-dir", lab.runDir, "--host", "pnode0"];

  beforeAll(async () => {
    lab = makeLab(uniquePrefix());
    const boot = await benito(["boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 90_000 });
    if (boot.code !== 0) throw new Error(`boot failed: ${boot.stderr}`);
  });

  afterAll(async () => {
    // down, then whatever it could not stop by pidfile (never pid 0), then the namespaces by their exact names.
    await cleanLab(lab);
    rmSync(lab.dir, { recursive: true, force: true });
  });

  describe("exec", () => {
    test("runs in the vnode's namespace: its addresses are visible", async () => {
      const result = await benito(["exec", ...where(), lab.name("d"), "ip", "-4", "-o", "addr", "show"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("10.0.2.2/24");
      expect(result.stdout).toContain("10.0.3.1/24");
      expect(result.stdout).not.toContain("10.0.1.1/24");
    });

    test("options end at NODE: -c goes to ping; the program's exit code comes back", async () => {
      const ok = await benito(["exec", ...where(), lab.name("a"), "ping", "-n", "-c", "1", "-W", "2", "10.0.1.2"]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain("1 packets transmitted, 1 received");
      expect((await benito(["exec", ...where(), lab.name("a"), "--", "sh", "-c", "exit 7"])).code).toBe(7);
      // --help and --debug after NODE are the program's.
      const echoed = await benito(["exec", ...where(), lab.name("a"), "echo", "--help", "--debug"]);
      expect(echoed.stdout).toBe("--help --debug\n");
      // Nobody answers 10.0.1.99: ping's own exit code 1.
      expect((await benito(["exec", ...where(), lab.name("a"), "ping", "-n", "-c", "1", "-W", "1", "10.0.1.99"])).code).toBe(1);
    });

    test("the pnode itself runs the program on the host", async () => {
      const result = await benito(["exec", ...where(), "pnode0", "cat", "/proc/self/net/dev"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("lo:");
    });

    test("an unknown node or a missing program is a clear error", async () => {
      const unknown = await benito(["exec", ...where(), "nosuchnode", "true"]);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toContain("pnode0 has no node of that name");
      const missing = await benito(["exec", ...where(), lab.name("a"), "no-such-program-xyz"]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("no-such-program-xyz");
      expect((await benito(["exec", ...where(), lab.name("a")])).code).toBe(2);
    });
  });

  describe.skipIf(!hasTcpdump)("capture", () => {
    test("20 pings: tcpdump -r reads 20 echo requests and 20 replies with the right addresses; SIGINT ends it with a summary", async () => {
      const file = join(lab.dir, "a.pcap");
      const capture = Bun.spawn([benitoBinary, "capture", ...where(), `${lab.name("a")}:inf000`, "-w", file], { stdout: "pipe", stderr: "pipe", timeout: 60_000, killSignal: "SIGKILL" });
      const { seen, rest } = await readUntil(capture.stderr, "listening on");
      expect(seen).toContain(`listening on inf000 in network namespace ${lab.namespace("a")}`);
      const ping = await inNamespace(lab.namespace("a"), ["ping", "-n", "-q", "-c", "20", "-i", "0.05", "-W", "2", "10.0.1.2"]);
      expect(ping.stdout).toContain("20 packets transmitted, 20 received");
      capture.kill("SIGINT");
      expect(await capture.exited).toBe(0);
      const summary = seen + (await drain(rest));
      expect(summary).toMatch(/: \d+ frames, \d+ bytes, 0 dropped \(stopped: SIGINT\)/);
      const read = await run(["tcpdump", "-n", "-r", file, "icmp"]);
      expect(read.code).toBe(0);
      const lines = read.stdout.trim().split("\n");
      expect(lines.filter((line) => / IP 10\.0\.1\.1 > 10\.0\.1\.2: ICMP echo request/.test(line)).length).toBe(20);
      expect(lines.filter((line) => / IP 10\.0\.1\.2 > 10\.0\.1\.1: ICMP echo reply/.test(line)).length).toBe(20);
      expect(lines.length).toBe(40);
      // Microsecond timestamps: tcpdump prints six decimals, and they are not all zero.
      expect(lines.some((line) => /^\d\d:\d\d:\d\d\.\d{5}[1-9]/.test(line))).toBe(true);
      // Nothing left behind: the TAP is not promiscuous.
      expect((await inNamespace(lab.namespace("a"), ["ip", "-d", "link", "show", "inf000"])).stdout).toContain(" promiscuity 0 ");
    });

    test("-w - streams into tcpdump -r -, and -c stops it", async () => {
      const capture = Bun.spawn([benitoBinary, "capture", ...where(), lab.name("b"), "-w", "-", "-c", "10"], { stdout: "pipe", stderr: "pipe", timeout: 60_000, killSignal: "SIGKILL" });
      const tcpdump = Bun.spawn(["tcpdump", "-n", "-r", "-"], { stdin: capture.stdout, stdout: "pipe", stderr: "pipe", timeout: 60_000, killSignal: "SIGKILL" });
      const { seen, rest } = await readUntil(capture.stderr, "listening on");
      const ping = inNamespace(lab.namespace("a"), ["ping", "-n", "-q", "-c", "20", "-i", "0.05", "-W", "2", "10.0.1.2"]);
      expect(await capture.exited).toBe(0);
      const summary = seen + (await drain(rest));
      expect(summary).toContain("10 frames");
      expect(summary).toContain("(stopped: 10 frames)");
      const [printed, code] = await Promise.all([new Response(tcpdump.stdout).text(), tcpdump.exited]);
      expect(code).toBe(0);
      expect(printed.trim().split("\n").length).toBe(10);
      expect(printed).toContain("ICMP echo");
      await ping;
    });

    test("-w - into a reader that goes away (head): the capture ends quietly, exit 0", async () => {
      const traffic = inNamespace(lab.namespace("a"), ["ping", "-n", "-q", "-c", "30", "-i", "0.05", "-W", "2", "10.0.1.2"]);
      const argv = [benitoBinary, "capture", ...where(), lab.name("a"), "-w", "-", "--duration", "20"].map((word) => `'${word}'`).join(" ");
      const started = performance.now();
      const result = await run(["bash", "-c", `${argv} | head -c 200 > /dev/null; echo "\${PIPESTATUS[0]}"`]);
      expect(result.stdout.trim()).toBe("0");
      expect(result.stderr).toContain("(stopped: the reader closed the pipe)");
      expect(performance.now() - started).toBeLessThan(15_000);
      await traffic;
    });

    test("--duration stops it; without -w it prints one line per frame", async () => {
      const started = performance.now();
      const capture = Bun.spawn([benitoBinary, "capture", ...where(), `${lab.name("d")}:inf001`, "--duration", "1"], { stdout: "pipe", stderr: "pipe", timeout: 60_000, killSignal: "SIGKILL" });
      const { seen, rest } = await readUntil(capture.stderr, "listening on");
      await inNamespace(lab.namespace("d"), ["ping", "-n", "-q", "-c", "2", "-i", "0.1", "-W", "2", "10.0.3.2"]);
      const [printed, code] = await Promise.all([new Response(capture.stdout).text(), capture.exited]);
      expect(code).toBe(0);
      expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
      expect(seen + (await drain(rest))).toContain("(stopped: time is up)");
      expect(printed).toMatch(/02:be:00:00:02:01 > 02:be:00:00:02:02 IPv4 10\.0\.3\.1 > 10\.0\.3\.2 ICMP echo request, 98 bytes/);
    });

    test("a node with two interfaces needs IFACE; an unknown one is named", async () => {
      const both = await benito(["capture", ...where(), lab.name("r"), "-c", "1"]);
      expect(both.code).toBe(3);
      expect(both.stderr).toContain("it has 2 experimental interfaces (inf000, inf001)");
      const unknown = await benito(["capture", ...where(), `${lab.name("r")}:inf009`, "-c", "1"]);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toContain('no experimental interface "inf009"');
    });
  });

  describe("link", () => {
    const wirefilterPids = () => pidfiles(join(lab.runDir, "vde")).filter((file) => file.includes("/wf-")).map((file) => `${file}=${pidIn(file)}`).sort();
    const show = async () => {
      const result = await benito(["link", "show", "slow", "--json", ...where()]);
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as { node: string; iface: string; topology: { latencyMs: number; jitterMs: number; capacityKbps: number; lossPercent: number }; now: { latencyMs: number; capacityKbps: number } | null; override: string[] }[];
    };
    // The minimum of 10 echoes: the link's own delay, without the scheduling noise of a loaded machine that inflates the average.
    const rtt = async () => {
      const result = await inNamespace(lab.namespace("d"), ["ping", "-n", "-q", "-c", "10", "-i", "0.05", "-W", "5", "10.0.3.2"]);
      return Number(/= ([\d.]+)\//.exec(result.stdout)?.[1] ?? Number.NaN);
    };

    test("show --json gives the topology's and the live values of the shaped LAN's members", async () => {
      const entries = await show();
      expect(entries.map((entry) => `${entry.node}:${entry.iface}`)).toEqual([`${lab.name("d")}:inf001`, `${lab.name("e")}:inf000`]);
      for (const entry of entries) {
        expect(entry.topology).toEqual({ latencyMs: 20, jitterMs: 0, lossPercent: 0, capacityKbps: 10000 });
        expect(entry.now).toEqual(entry.topology);
        expect(entry.override).toEqual([]);
      }
      const text = await benito(["link", "show", ...where()]);
      expect(text.stdout).toContain("topology 10000 kb/s, 20 ms, loss 0%");
    });

    test("set --latency while a ping runs: the RTT follows within 10 %, same wirefilter pids, no echo lost; reset restores it", async () => {
      const pids = wirefilterPids();
      expect(pids.length).toBe(2);
      const running = inNamespace(lab.namespace("d"), ["ping", "-n", "-q", "-c", "40", "-i", "0.05", "-W", "5", "10.0.3.2"]);
      await Bun.sleep(500);
      const set = await benito(["link", "set", "slow", "--latency", "100", ...where()]);
      expect(set.stderr).toBe("");
      expect(set.code).toBe(0);
      expect(set.stdout).toContain(`slow ${lab.name("d")}:inf001 (port 1): latency 20 → 100 ms`);
      const measured = await rtt();
      expect(Math.abs(measured - 200) / 200).toBeLessThan(0.1);
      expect((await running).stdout).toContain("40 packets transmitted, 40 received, 0% packet loss");
      expect(wirefilterPids()).toEqual(pids);
      const entries = await show();
      expect(entries.map((entry) => [entry.topology.latencyMs, entry.now?.latencyMs, entry.now?.capacityKbps, entry.override])).toEqual([
        [20, 100, 10000, ["latency"]],
        [20, 100, 10000, ["latency"]],
      ]);
      const status = JSON.parse((await benito(["status", "--json", "--run-dir", lab.runDir, lab.config, "pnode0"])).stdout);
      expect(status.drift).toBe(false);
      expect(status.checks.find((check: { id: string }) => check.id === "link:slow")).toMatchObject({ ok: true });
      const reset = await benito(["link", "reset", "slow", ...where()]);
      expect(reset.code).toBe(0);
      expect(Math.abs((await rtt()) - 40) / 40).toBeLessThan(0.1);
      expect((await show()).map((entry) => entry.now?.latencyMs)).toEqual([20, 20]);
      expect(wirefilterPids()).toEqual(pids);
      expect(existsSync(join(lab.runDir, "link-overrides.json"))).toBe(false);
    });

    test("one member's override survives its wirefilter being killed: boot restarts it with the override", async () => {
      expect((await benito(["link", "set", "slow", lab.name("d"), "--latency", "50", "--loss", "0", ...where()])).code).toBe(0);
      expect((await show()).map((entry) => entry.now?.latencyMs)).toEqual([50, 20]);
      const pidfile = pidfiles(join(lab.runDir, "vde")).find((file) => file.includes("/wf-") && file.endsWith("-1.pid"));
      expect(pidfile).toBeDefined();
      signalPid(pidIn(pidfile ?? "") ?? 0, "SIGKILL");
      await Bun.sleep(200);
      const boot = await benito(["boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 90_000 });
      expect(boot.code).toBe(0);
      expect(readFileSync(join(lab.runDir, "status.json"), "utf8")).toContain("link override (latency, loss) restored");
      const entries = await show();
      expect(entries.map((entry) => [entry.now?.latencyMs, entry.override])).toEqual([
        [50, ["latency", "loss"]],
        [20, []],
      ]);
      expect(Math.abs((await rtt()) - 70) / 70).toBeLessThan(0.1);
    });

    test("clear refusals: an unshaped LAN says what to change in topo.xml; loss is a percentage", async () => {
      const unshaped = await benito(["link", "set", "lan0", "--latency", "5", ...where()]);
      expect(unshaped.code).toBe(1);
      expect(unshaped.stderr).toContain("it is not shaped in topo.xml");
      expect(unshaped.stderr).toContain("<capacity><rate>1000000</rate><kind>max</kind></capacity>");
      const fraction = await benito(["link", "set", "slow", "--loss", "150", ...where()]);
      expect(fraction.code).toBe(2);
      expect(fraction.stderr).toContain("is a percentage (0–100)");
      expect((await benito(["link", "set", "nosuchlan", "--latency", "5", ...where()])).code).toBe(3);
      expect((await benito(["link", "set", "slow", ...where()])).code).toBe(2);
    });

    test("down forgets the override", async () => {
      expect(existsSync(join(lab.runDir, "link-overrides.json"))).toBe(true);
      const down = await benito(["down", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 60_000 });
      expect(down.code).toBe(0);
      expect(existsSync(join(lab.runDir, "link-overrides.json"))).toBe(false);
    });
  });
});
