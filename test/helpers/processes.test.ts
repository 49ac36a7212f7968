// The pidfile and signal guards that keep a test or bench from signalling its own process group.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pidIn, signalPid } from "./processes";

describe("pidIn and signalPid", () => {
  const dir = mkdtempSync(join(tmpdir(), "benito-pids-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("an empty pidfile (created, pid not yet written) holds no pid — not 0", () => {
    const pidfile = join(dir, "empty.pid");
    writeFileSync(pidfile, "");
    expect(pidIn(pidfile)).toBeUndefined();
    writeFileSync(pidfile, "\n");
    expect(pidIn(pidfile)).toBeUndefined();
  });

  test("pids 0, 1, negative, partial or non-numeric text are refused; a missing file is undefined", () => {
    for (const text of ["0", "1", "-1", "12ab", "1e3", " "]) {
      writeFileSync(join(dir, "bad.pid"), text);
      expect(pidIn(join(dir, "bad.pid"))).toBeUndefined();
    }
    expect(pidIn(join(dir, "missing.pid"))).toBeUndefined();
    writeFileSync(join(dir, "good.pid"), `${process.pid}\n`);
    expect(pidIn(join(dir, "good.pid"))).toBe(process.pid);
  });

  test("signalPid never signals a group: 0, 1, -1 and NaN throw before any kill", () => {
    for (const pid of [0, 1, -1, Number.NaN, 2.5]) expect(() => signalPid(pid, "SIGTERM")).toThrow(/refusing to signal/);
    // Signal 0 to ourselves only checks that we exist.
    expect(signalPid(process.pid, 0)).toBe(true);
  });
});
