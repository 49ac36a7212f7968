// The ledger's store (atomic records, versioned schemas, clear errors naming the file) and the run dir's lock (wait, holder named, reuse, never inherited).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ledger } from "../../src/system/ledger";
import { withRunLock } from "../../src/system/run-lock";
import { benito, benitoBinary } from "../helpers/binary";
import { alive, signalPid } from "../helpers/processes";
import { processStartTime } from "../../src/system/processes";
import { forwarderPaths } from "../../src/system/vde/forwarder-records";
import { forwarderState, stopForwarder } from "../../src/system/vde/forwarder-control";
import { exampleLab } from "../helpers/lab";

const dir = mkdtempSync(join(tmpdir(), "ledger-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const daemon = { role: "switch" as const, program: "vde_switch", summary: "s", fingerprint: "f", argv: ["vde_switch"], pidfile: "/x.pid", mgmt: "/x.mgmt", log: "/x.log", joins: [] };

describe("ledger records", () => {
  test("an intent, then its confirmation, read back through the schema; removal empties the ledger", () => {
    const ledger = Ledger.at(join(dir, "a"));
    ledger.intend("daemon", "lan0", daemon);
    expect(ledger.get("daemon", "lan0")?.phase).toBe("intent");
    ledger.confirm("daemon", "lan0", { ...daemon, pid: 42, startTime: 7 });
    const record = ledger.get("daemon", "lan0");
    expect(record?.phase).toBe("done");
    expect(record?.data.pid).toBe(42);
    expect(ledger.list("daemon").map((entry) => entry.id)).toEqual(["lan0"]);
    expect(ledger.list("tunnel")).toEqual([]);
    // Written by rename: no temporary file is left beside it.
    expect(readdirSync(ledger.dir)).toEqual(["daemon.lan0.json"]);
    ledger.remove("daemon", "lan0");
    ledger.removeIfEmpty();
    expect(existsSync(ledger.dir)).toBe(false);
  });

  test("an id never leaves the folder (slashes and dots are encoded)", () => {
    const ledger = Ledger.at(join(dir, "b"));
    ledger.write("addresses", "../../etc/x", "done", { addresses: [] });
    expect(readdirSync(ledger.dir)).toEqual(["addresses.%2E%2E%2F%2E%2E%2Fetc%2Fx.json"]);
    expect(ledger.get("addresses", "../../etc/x")?.id).toBe("../../etc/x");
  });

  test("a corrupt record, one from a newer or an older benito, or one that misses a field: a clear error naming the file", () => {
    const ledger = Ledger.at(join(dir, "c"));
    ledger.intend("daemon", "sw", daemon);
    const file = join(ledger.dir, "daemon.sw.json");
    const good = JSON.parse(readFileSync(file, "utf8"));
    const cases: [string, string][] = [
      ["{ half", "not a ledger record"],
      [JSON.stringify({ ...good, format: 2 }), "written by a newer benito (format 2; this one reads format 1)"],
      [JSON.stringify({ ...good, format: 0 }), "written by an older benito (format 0"],
      [JSON.stringify({ ...good, data: { ...good.data, pidfile: 3 } }), 'a "daemon" record that does not fit its schema: pidfile'],
    ];
    for (const [content, reason] of cases) {
      writeFileSync(file, content);
      expect(() => ledger.list("daemon")).toThrow(`benito: while reading benito's ledger on ${file}: ${reason}`);
    }
  });

  test("a half-written temporary file from a crash is not a record", () => {
    const ledger = Ledger.at(join(dir, "d"));
    ledger.write("addresses", "h", "done", { addresses: [] });
    writeFileSync(join(ledger.dir, "addresses.h.json.999.tmp"), "{");
    expect(ledger.list("addresses").length).toBe(1);
    ledger.remove("addresses", "h");
    expect(ledger.isEmpty()).toBe(true);
  });
});

describe("the run dir's lock", () => {
  test("a second benito waits up to --lock-wait, then exits 1 naming the holder's pid and command", async () => {
    const runDir = join(dir, "locked");
    await withRunLock(runDir, 0, async () => {
      const began = performance.now();
      const result = await benito(["switch", "up", "--lock-wait", "1", "--run-dir", runDir, join(dir, "no-config"), "p"]);
      expect(result.code).toBe(1);
      expect(performance.now() - began).toBeGreaterThanOrEqual(1000);
      expect(result.stderr).toContain(`benito: while waiting for the run dir's lock on ${runDir}: pid ${process.pid} (`);
      expect(result.stderr).toContain("still holds it after 1 s");
      // status and dry runs never wait for it.
      const dry = await benito(["boot", "--dry-run", "--run-dir", runDir, exampleLab, "pnode0"]);
      expect(dry.code).toBe(0);
      const status = await benito(["switch", "status", "--run-dir", runDir]);
      expect(status.code).toBe(0);
    });
    // Released: the next one gets it at once (and fails later, on the missing config).
    const after = await benito(["switch", "up", "--lock-wait", "0", "--run-dir", runDir, join(dir, "no-config"), "p"]);
    expect(after.stderr).not.toContain("lock");
  });

  test("the holder reuses its own lock (in-process stages), and the lock's fd is close-on-exec", async () => {
    const runDir = join(dir, "reuse");
    await withRunLock(runDir, 0, async () => {
      expect(await withRunLock(runDir, 0, async () => "nested")).toBe("nested");
      const child = Bun.spawnSync(["ls", "-l", "/proc/self/fd"], { stdout: "pipe" });
      expect(child.stdout.toString()).not.toContain(runDir);
    });
  });
});

describe("a recorded pid another process reuses", () => {
  test("stopping the forwarder never signals a benito that took its recorded pid (start time differs): the stale pidfile goes, the process runs on", async () => {
    const runDir = join(dir, "reused");
    const paths = forwarderPaths(runDir);
    mkdirSync(paths.dir, { recursive: true });
    // A process whose argv[0] is benito (what the pidfile check looks for), not the forwarder.
    const other = Bun.spawn(["sleep", "30"], { argv0: benitoBinary, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    try {
      writeFileSync(paths.pidfile, `${other.pid}\n`);
      const startTime = processStartTime(other.pid) ?? 0;
      Ledger.at(runDir).write("forwarder", "shard-0", "done", { shard: 0, pidfile: paths.pidfile, socket: paths.socket, log: paths.log, pid: other.pid, startTime: startTime + 1 });
      expect(forwarderState(runDir, benitoBinary).alive).toBe(false);
      await stopForwarder(runDir, benitoBinary);
      await Bun.sleep(100);
      expect(alive(other.pid)).toBe(true);
      expect(existsSync(paths.pidfile)).toBe(false);
    } finally {
      signalPid(other.pid, "SIGKILL");
      await other.exited;
    }
  });
});
