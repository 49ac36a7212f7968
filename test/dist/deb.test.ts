// The Debian package: built by scripts/deb.ts through `benito install --stage`, lintian-clean (overrides justified), installed into a test root with its own dpkg database, enabled there, and purged leaving nothing.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json";
import { benito, benitoBinary, run } from "../helpers/binary";
import { listTree } from "../helpers/image-root";
import { isRoot } from "../helpers/root";

// dpkg-deb packs a 110 MB executable and lintian unpacks it again: tens of seconds here.
setDefaultTimeout(180_000);

const lintian = Bun.which("lintian");
const dpkgDeb = Bun.which("dpkg-deb");
if (lintian === null) console.warn("SKIPPED: lintian on the .deb: lintian is not installed");

describe.skipIf(dpkgDeb === null || !existsSync(benitoBinary))("the Debian package", () => {
  const dir = mkdtempSync(join(tmpdir(), "benito-deb-"));
  const deb = join(dir, `benito_${pkg.version}_amd64.deb`);
  const root = join(dir, "root");
  const dpkg = (...args: string[]) => run(["dpkg", `--root=${root}`, "--force-script-chrootless", "--force-depends", `--log=${join(dir, "dpkg.log")}`, ...args], { timeoutMs: 120_000 });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("scripts/deb.ts builds it from `benito install --stage --prefix /usr`", async () => {
    const built = await run([process.execPath, resolve(import.meta.dir, "../../scripts/deb.ts"), "--arch", "amd64", "--out", dir, "--fast"], { timeoutMs: 170_000 });
    expect(built.stderr).toBe("");
    expect(built.code).toBe(0);
    const listing = (await run(["dpkg-deb", "--contents", deb])).stdout;
    for (const path of ["./usr/sbin/benito", "./usr/lib/benito/preflight", "./var/benito/launch/routes.py", "./lib/systemd/system/benito.service", "./lib/systemd/system/benito-status.service", "./etc/init.d/benito", "./usr/share/man/man8/benito.8.gz", "./var/log/benito/", "./usr/share/doc/benito/copyright"]) {
      expect(listing).toContain(path);
    }
    expect(listing).not.toContain(".wants/");
    const field = (name: string) => run(["dpkg-deb", "--field", deb, name]);
    expect((await field("Depends")).stdout.trim()).toBe("libc6 (>= 2.17)");
    const unit = (await run(["sh", "-c", `dpkg-deb --fsys-tarfile "$1" | tar -xO ./lib/systemd/system/benito.service`, "sh", deb])).stdout;
    expect(unit).toMatch(/^ExecStart=\/usr\/sbin\/benito boot$/m);
  });

  test.skipIf(lintian === null)("lintian reports no error or warning (each override justified in dist/debian/lintian-overrides)", async () => {
    const result = await run([lintian ?? "lintian", "--fail-on", "error,warning", deb], { timeoutMs: 170_000 });
    expect(result.stdout.split("\n").filter((line) => /^[EW]: /.test(line))).toEqual([]);
    expect(result.code).toBe(0);
  });

  test.skipIf(!isRoot)("dpkg -i into a test root enables it there (never starts it); benito install refuses that root; purge leaves nothing", async () => {
    for (const sub of ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"]) mkdirSync(join(root, sub), { recursive: true });
    writeFileSync(join(root, "var/lib/dpkg/status"), "");
    writeFileSync(join(root, "var/lib/dpkg/available"), "");
    const before = listTree(root).filter((line) => !line.startsWith("var/lib/dpkg"));
    const installed = await dpkg("--install", deb);
    expect(installed.code).toBe(0);
    expect(existsSync(join(root, "usr/sbin/benito"))).toBe(true);
    expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/benito.service"))).toBe("/lib/systemd/system/benito.service");
    expect(readlinkSync(join(root, "etc/rc2.d/S01benito"))).toBe("../init.d/benito");
    const refused = await benito(["install", "--root", root]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain("the Debian package benito is installed in this image");
    writeFileSync(join(root, "var/log/benito/benito.log"), "a log line\n");
    const purged = await dpkg("--purge", "benito");
    expect(purged.code).toBe(0);
    expect(listTree(root).filter((line) => !line.startsWith("var/lib/dpkg"))).toEqual(before);
  });
});
