// The init integration in dist/: the systemd unit verifies, has a finite start timeout and orders before network-online.target.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benitoBinary, run } from "../helpers/binary";

const unitPath = resolve(import.meta.dir, "../../dist/benito.service");
const unit = readFileSync(unitPath, "utf8");
const analyze = Bun.which("systemd-analyze");
const dir = mkdtempSync(join(tmpdir(), "benito-unit-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));
if (analyze === null) console.warn("SKIPPED: systemd-analyze verify of dist/benito.service: systemd-analyze is not installed");

describe("dist/benito.service", () => {
  test("boots with a finite TimeoutStartSec, before network-online.target, and stops with benito down", () => {
    const timeout = /^TimeoutStartSec=(\d+)$/m.exec(unit)?.[1];
    expect(Number(timeout)).toBeGreaterThan(0);
    expect(Number(timeout)).toBeLessThanOrEqual(600);
    expect(unit).toMatch(/^Before=.*network-online\.target/m);
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/sbin\/benito boot$/m);
    expect(unit).toMatch(/^ExecStop=\/usr\/local\/sbin\/benito down$/m);
  });

  test.skipIf(analyze === null)("systemd-analyze verify accepts it (ExecStart pointed at the built binary)", async () => {
    const point = (text: string) => text.replaceAll("/usr/local/sbin/benito", benitoBinary).replaceAll("/usr/local/lib/benito/preflight", resolve(import.meta.dir, "../../dist/preflight.sh"));
    const copy = join(dir, "benito.service");
    writeFileSync(copy, point(unit));
    writeFileSync(join(dir, "benito-status.service"), point(readFileSync(resolve(import.meta.dir, "../../dist/benito-status.service"), "utf8")));
    // --man=no: Documentation=man:benito(8) exists once the package (or make man) installed it, not here.
    const result = await run([analyze ?? "systemd-analyze", "verify", "--man=no", copy, join(dir, "benito-status.service")]);
    expect(result.stderr.trim()).toBe("");
    expect(result.code).toBe(0);
  });
});
