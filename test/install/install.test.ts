// `benito install` / `uninstall` on directory-tree image roots: every file listed by --dry-run, idempotent, refused images, the routes.py polyglot, and uninstall leaving the root as it was.
import { afterAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { routesShim } from "../../src/install/install-plan";
import { benito, benitoBinary, run } from "../helpers/binary";
import { listTree, makeImageRoot } from "../helpers/image-root";

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});
const imageRoot = (...args: Parameters<typeof makeImageRoot>) => {
  const root = makeImageRoot(...args);
  roots.push(root);
  return root;
};
const arm64Binary = resolve(benitoBinary, "../benito-arm64");
const qemuUser = Bun.which("qemu-aarch64-static");
if (qemuUser === null) console.warn("SKIPPED: installing the arm64 build into an arm64 image: qemu-aarch64-static (qemu-user-static) is not installed");

describe("benito install --init systemd", () => {
  test("--dry-run lists every file the install then writes, and writes nothing", async () => {
    const root = imageRoot("benito-install-sd-", { init: "systemd" });
    const before = listTree(root);
    const dry = await benito(["install", "--root", root, "--dry-run"]);
    expect(dry.stderr).toBe("");
    expect(dry.code).toBe(0);
    expect(listTree(root)).toEqual(before);
    const listed = dry.stdout.split("\n").filter((line) => /^(copy|write|link|mkdir|edit) /.test(line)).map((line) => line.split(/\s+/)[1]);
    const done = await benito(["install", "--root", root]);
    expect(done.stderr).toBe("");
    expect(done.code).toBe(0);
    const written = done.stdout.split("\n").filter((line) => /^(wrote|made|recorded) /.test(line)).map((line) => line.split(/\s+/)[1]);
    expect(written.sort()).toEqual(listed.sort());
    expect(listed).toContain("/usr/local/sbin/benito");
    expect(readFileSync(join(root, "usr/local/sbin/benito")).equals(readFileSync(benitoBinary))).toBe(true);
    expect(readFileSync(join(root, "etc/systemd/system/benito.service"), "utf8")).toMatch(/^ExecStart=\/usr\/local\/sbin\/benito boot$/m);
    expect(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/benito.service"))).toBe("/etc/systemd/system/benito.service");
    expect(existsSync(join(root, "var/log/benito"))).toBe(true);
    expect(readFileSync(join(root, "var/benito/launch/routes.py"), "utf8")).toBe(routesShim("/usr/local/sbin/benito"));
  });

  test("a second install changes nothing; uninstall leaves the root exactly as it was", async () => {
    const root = imageRoot("benito-install-idem-", { init: "systemd" });
    const before = listTree(root);
    expect((await benito(["install", "--root", root])).code).toBe(0);
    const installed = listTree(root);
    const again = await benito(["install", "--root", root]);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/^wrote /m);
    expect(listTree(root)).toEqual(installed);
    const gone = await benito(["uninstall", "--root", root]);
    expect(gone.stderr).toBe("");
    expect(gone.code).toBe(0);
    expect(listTree(root)).toEqual(before);
    expect((await benito(["uninstall", "--root", root])).stdout).toMatch(/^nothing to uninstall/);
  });

  test("--role vm runs guest-config before boot and drops the config-folder condition", async () => {
    const root = imageRoot("benito-install-vm-", { init: "systemd" });
    expect((await benito(["install", "--root", root, "--role", "vm"])).code).toBe(0);
    const dropIn = readFileSync(join(root, "etc/systemd/system/benito.service.d/role-vm.conf"), "utf8");
    expect(dropIn).toMatch(/^ConditionPathExists=$/m);
    expect(dropIn).toMatch(/^ExecStartPre=\/usr\/local\/sbin\/benito guest-config --set-hostname$/m);
  });
});

describe("benito install --init sysv and rc.local", () => {
  test("sysv: the init script, linked as update-rc.d would; --prefix moves every path", async () => {
    const root = imageRoot("benito-install-sysv-", { init: "sysv" });
    const result = await benito(["install", "--root", root, "--prefix", "/opt/benito", "--role", "vm"]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/init sysv, role vm/);
    const script = readFileSync(join(root, "etc/init.d/benito"), "utf8");
    expect(script).toMatch(/^BENITO=\/opt\/benito\/sbin\/benito$/m);
    expect(script).toMatch(/^PREFLIGHT=\/opt\/benito\/lib\/benito\/preflight$/m);
    expect(script).toMatch(/^BENITO_ROLE=vm$/m);
    expect(script).not.toContain("/usr/local");
    expect(readlinkSync(join(root, "etc/rc2.d/S01benito"))).toBe("../init.d/benito");
    expect(readlinkSync(join(root, "etc/rc0.d/K01benito"))).toBe("../init.d/benito");
  });

  test("rc.local: the block goes before the final exit 0, once; uninstall restores rc.local byte for byte", async () => {
    const root = imageRoot("benito-install-rclocal-", { init: "rc.local" });
    const original = readFileSync(join(root, "etc/rc.local"), "utf8");
    expect((await benito(["install", "--root", root])).code).toBe(0);
    expect((await benito(["install", "--root", root])).code).toBe(0);
    const edited = readFileSync(join(root, "etc/rc.local"), "utf8");
    expect(edited.match(/# benito begin/g)?.length).toBe(1);
    expect(edited.trimEnd().endsWith("# benito end\n\nexit 0") || edited.trimEnd().endsWith("# benito end\nexit 0")).toBe(true);
    expect(edited.startsWith("#!/bin/sh -e\n# site additions\necho site-start\n")).toBe(true);
    expect((await run(["sh", "-n", join(root, "etc/rc.local")])).code).toBe(0);
    expect((await benito(["uninstall", "--root", root])).code).toBe(0);
    expect(readFileSync(join(root, "etc/rc.local"), "utf8")).toBe(original);
  });
});

describe("benito install refuses images it cannot run in (exit 3, one line per problem, nothing written)", () => {
  test("wrong architecture, old glibc, no /proc or /run mounts, unknown init, package-owned", async () => {
    const root = imageRoot("benito-install-bad-", { init: "none", arch: "aarch64", glibc: "2.12" });
    mkdirSync(join(root, "var/lib/dpkg/info"), { recursive: true });
    writeFileSync(join(root, "var/lib/dpkg/info/benito.list"), "/usr/sbin/benito\n");
    const before = listTree(root);
    const result = await benito(["install", "--root", root]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("while checking the image on");
    expect(result.stderr).toContain("the Debian package benito is installed in this image");
    expect(result.stderr).toContain("is built for x86-64 but the image is aarch64 (from /bin/sh); pass --binary with the aarch64 build");
    expect(result.stderr).toContain("the image's glibc is 2.12; benito needs 2.17 or newer");
    expect(result.stderr).toContain("nothing in the image mounts /proc at boot");
    expect(result.stderr).toContain("nothing in the image mounts a tmpfs on /run at boot");
    expect(result.stderr).toContain("cannot tell the image's init system");
    expect(result.stderr).not.toContain("    at ");
    expect(listTree(root)).toEqual(before);
    const uninstall = await benito(["uninstall", "--root", root]);
    expect(uninstall.code).toBe(3);
    expect(uninstall.stderr).toContain("the Debian package benito is installed in this image");
  });

  test("a stripped copy is refused by what its --version prints; an image without glibc is refused", async () => {
    const root = imageRoot("benito-install-strip-", { init: "systemd", glibc: "none" });
    const stripped = join(root, "tmp/benito-stripped");
    copyFileSync(benitoBinary, stripped);
    expect((await run(["strip", stripped])).code).toBe(0);
    const result = await benito(["install", "--root", root, "--binary", stripped]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/benito-stripped: --version printed "[0-9.]+", not "benito \.\.\.": a stripped copy/);
    expect(result.stderr).toContain("the image has no glibc (libc.so.6)");
  });

  test("bad options are usage errors (exit 2)", async () => {
    expect((await benito(["install"])).code).toBe(2);
    expect((await benito(["install", "--root", "/tmp", "--init", "upstart"])).stderr).toContain("--init wants one of systemd, sysv, rc.local, none");
    expect((await benito(["install", "--root", "/tmp", "--prefix", "usr/local"])).code).toBe(2);
  });

  test.skipIf(qemuUser === null)("the arm64 build goes into an arm64 image (checked under qemu-aarch64-static)", async () => {
    const root = imageRoot("benito-install-arm64-", { init: "systemd", arch: "aarch64" });
    const result = await benito(["install", "--root", root, "--binary", arm64Binary]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(readFileSync(join(root, "usr/local/sbin/benito")).equals(readFileSync(arm64Binary))).toBe(true);
  });
});

describe("the routes.py polyglot", () => {
  const dir = roots[0] ?? "";
  test.each([["sh"], ["python3"]])("`%s routes.py --help` runs benito routes", async (interpreter) => {
    if (interpreter === "python3" && Bun.which("python3") === null) return;
    const root = imageRoot("benito-shim-", { init: "none" });
    const shim = join(root, "routes.py");
    writeFileSync(shim, routesShim(benitoBinary), { mode: 0o755 });
    const direct = await run(interpreter === "sh" ? [shim, "--help"] : ["python3", shim, "--help"]);
    expect(direct.stderr).toBe("");
    expect(direct.code).toBe(0);
    expect(direct.stdout).toStartWith("Usage: benito routes");
    void dir;
  });
});
