// down's tidy: an atomic write's temporary file left by a killed writer goes, anywhere under the run dir; a live writer's stays.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tidyRunDir } from "../../src/system/run-dir-tidy";

describe("tidyRunDir", () => {
  const runDir = mkdtempSync(join(tmpdir(), "benito-tidy-"));
  afterAll(() => rmSync(runDir, { recursive: true, force: true }));

  test("a port record's and a pidfile's temporary files of a dead writer go, with the folders they leave empty; a live writer's stays", async () => {
    // A pid that is surely gone: a child that has exited and been reaped.
    const child = Bun.spawn(["true"]);
    await child.exited;
    const dead = child.pid;
    mkdirSync(join(runDir, "forwarder", "ports"), { recursive: true });
    writeFileSync(join(runDir, "forwarder", "ports", `ns-a.inf001.json.${dead}.tmp`), "{");
    mkdirSync(join(runDir, "vde"), { recursive: true });
    writeFileSync(join(runDir, "vde", `sw.pid.${dead}.tmp`), "12");
    writeFileSync(join(runDir, "vde", `sw.pid.${process.pid}.tmp`), "13");
    expect(tidyRunDir(runDir)).toEqual(["vde", join("vde", `sw.pid.${process.pid}.tmp`)]);
    expect(readdirSync(runDir)).toEqual(["vde"]);
  });
});
