// `benito link` without running wirefilters: a LAN spanning pnodes, the dry run, the record kept when a wirefilter is down, usage.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito } from "../helpers/binary";
import { signalPid } from "../helpers/processes";

const attribute = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;
const member = (name: string, host: string, port: number) => `<elements><computer><name>${name}</name>
    <interface><substrate>s</substrate><name>inf000</name>${attribute("benito:vde_switch", "/nonexistent/benito-link-cli/s")}${attribute("benito:vde_port", String(port))}${attribute("benito:mac_address", `02:00:00:00:00:0${port}`)}</interface>
    ${attribute("benito:node_type", "process")}${attribute("benito:host", host)}</computer></elements>`;
const topo = `<experiment><version>2.0</version>
  <substrates><name>s</name><latency><time>10</time><kind>max</kind></latency>${attribute("loss", "0.01")}</substrates>
  <substrates><name>plain</name></substrates>
  <elements><computer><name>p0</name>${attribute("benito:node_type", "pnode")}</computer></elements>
  <elements><computer><name>p1</name>${attribute("benito:node_type", "pnode")}</computer></elements>
  ${member("x", "p0", 1)}${member("x2", "p0", 2)}${member("y", "p1", 3)}
</experiment>`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "benito-link-cli-"));
  writeFileSync(join(dir, "topo.xml"), topo);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("benito link (no running wirefilters)", () => {
  const where = () => ["--config", dir, "--run-dir", join(dir, "run"), "--host", "p0"];

  test("--dry-run prints each member's wirefilter commands and records nothing", async () => {
    const result = await benito(["link", "set", "s", "--latency", "40", "--jitter", "2", "--dry-run", ...where()]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines.length).toBe(2);
    expect(lines[0]).toMatch(/\/vde\/wf-s-[0-9a-f]{8}-1\.mgmt: delay LR 40\+2$/);
    expect(existsSync(join(dir, "run", "link-overrides.json"))).toBe(false);
  });

  test("a LAN spanning pnodes: this pnode's members only, and it says where the others are; the override is recorded even when a wirefilter is down", async () => {
    const result = await benito(["link", "set", "s", "x", "--loss", "5", ...where()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("did not take the change");
    expect(result.stderr).toContain("(recorded: boot restores it)");
    expect(result.stderr).toContain("s also has 1 member on p1: only the members on p0 were changed; run the same command there");
    const record = JSON.parse(readFileSync(join(dir, "run", "link-overrides.json"), "utf8"));
    expect(record).toEqual({ version: 1, lans: { s: { lan: {}, members: { x: { lossPercent: 5 } } } } });
    const show = await benito(["link", "show", "--json", ...where()]);
    expect(show.code).toBe(1);
    const entries = JSON.parse(show.stdout);
    expect(entries.map((entry: { node: string; topology: { lossPercent: number }; now: unknown; override: string[] }) => [entry.node, entry.topology.lossPercent, entry.now, entry.override])).toEqual([
      ["x", 1, null, ["loss"]],
      ["x2", 1, null, []],
    ]);
    const reset = await benito(["link", "reset", ...where()]);
    expect(existsSync(join(dir, "run", "link-overrides.json"))).toBe(false);
    expect(reset.stderr).not.toContain("internal error");
  });

  test("a record benito did not write is an error naming the file, not a crash", async () => {
    writeFileSync(join(dir, "run", "link-overrides.json"), JSON.stringify({ version: 2, lans: {} }));
    const result = await benito(["link", "show", ...where()]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("link-overrides.json: not a version 1 record");
    rmSync(join(dir, "run", "link-overrides.json"));
  });

  test("set waits for the run dir's lock and, after --lock-wait, names its holder; nothing is recorded", async () => {
    const runDir = join(dir, "run");
    mkdirSync(runDir, { recursive: true });
    const holder = Bun.spawn(["flock", "--exclusive", "--no-fork", runDir, "sleep", "30"], { stdout: "ignore", stderr: "ignore" });
    try {
      // flock has taken the lock once /proc/locks lists it (bounded by the test's timeout).
      while (!readFileSync("/proc/locks", "utf8").split("\n").some((line) => line.includes(` ${holder.pid} `))) await Bun.sleep(20);
      const result = await benito(["link", "set", "s", "x", "--loss", "5", "--lock-wait", "1", ...where()]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`pid ${holder.pid} (sleep 30`);
      expect(result.stderr).toContain("still holds it after 1 s");
      expect(existsSync(join(runDir, "link-overrides.json"))).toBe(false);
    } finally {
      signalPid(holder.pid, "SIGKILL");
      await holder.exited;
    }
  });

  test("usage and input errors", async () => {
    expect((await benito(["link", ...where()])).code).toBe(2);
    expect((await benito(["link", "set", "s", "--latency", "-3", ...where()])).code).toBe(2);
    expect((await benito(["link", "show", "s", "--latency", "3", ...where()])).code).toBe(2);
    const notMember = await benito(["link", "set", "s", "y", "--latency", "3", ...where()]);
    expect(notMember.code).toBe(3);
    expect(notMember.stderr).toContain("y is not a member of s on p0 (its members here: x, x2)");
    const plain = await benito(["link", "set", "plain", "--latency", "3", ...where()]);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain("no member of it is plugged into a switch on p0");
  });
});
