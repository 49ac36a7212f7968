// The guest config disk: ustar round trips, refusals of unsafe or corrupt archives, and the compiled guest-config reading a disk image.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfigDisk, hostnameMember, readConfigDisk } from "../../src/guest/config-disk";
import { readUstar, writeUstar } from "../../src/guest/ustar";
import { benito } from "../helpers/binary";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("ustar", () => {
  test("files and folders round trip, long paths use the prefix field", () => {
    const long = `${"deep/".repeat(30)}file.txt`;
    const entries = [
      { kind: "dir" as const, name: "route" },
      { kind: "file" as const, name: "route/a", data: bytes("10.0.0.0/8 via 10.1.1.1\n") },
      { kind: "file" as const, name: "empty", data: new Uint8Array() },
      { kind: "file" as const, name: long, data: bytes("x".repeat(1000)) },
    ];
    const archive = writeUstar(entries);
    expect(archive.length % 512).toBe(0);
    expect(readUstar(archive)).toEqual(entries);
  });

  test("GNU tar reads what benito writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "benito-ustar-"));
    try {
      writeFileSync(join(dir, "a.tar"), writeUstar([{ kind: "dir", name: "d" }, { kind: "file", name: "d/f", data: bytes("hello\n") }]));
      const listed = Bun.spawnSync(["tar", "-tvf", join(dir, "a.tar")]);
      expect(listed.exitCode).toBe(0);
      expect(listed.stdout.toString()).toContain("d/f");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("unsafe member names are refused both ways", () => {
    for (const name of ["../etc/passwd", "/etc/passwd", "a/../../b", "a//b", "."]) {
      expect(() => writeUstar([{ kind: "file", name, data: new Uint8Array() }])).toThrow(/not a safe relative path/);
    }
    const archive = writeUstar([{ kind: "file", name: "xx/passwd", data: bytes("x") }]);
    archive.set(bytes(".."), 0);
    // Recompute nothing: a changed name breaks the checksum first; patch the checksum to reach the name check.
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : archive[i]!;
    archive.set(bytes(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
    expect(() => readUstar(archive)).toThrow(/unsafe member name/);
  });

  test("a corrupt header is refused", () => {
    const archive = writeUstar([{ kind: "file", name: "f", data: bytes("x") }]);
    archive[0] = 0x67;
    expect(() => readUstar(archive)).toThrow(/checksum/);
  });
});

describe("config disk", () => {
  test("carries the hostname and the config folder", () => {
    const disk = buildConfigDisk({ hostname: "vm1", entries: [{ kind: "file", name: "topo.xml", data: bytes("<experiment/>") }] });
    const config = readConfigDisk(disk);
    expect(config.hostname).toBe("vm1");
    expect(config.entries).toEqual([{ kind: "file", name: "topo.xml", data: bytes("<experiment/>") }]);
  });

  test("a disk without a hostname, or with a bad one, is refused", () => {
    expect(() => readConfigDisk(writeUstar([{ kind: "file", name: "topo.xml", data: bytes("") }]))).toThrow(hostnameMember);
    expect(() => readConfigDisk(writeUstar([{ kind: "file", name: hostnameMember, data: bytes("../x\n") }]))).toThrow(/not a host name/);
  });

  describe("benito guest-config (compiled)", () => {
    const dir = mkdtempSync(join(tmpdir(), "benito-guestcfg-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test("--build writes a disk that --device unpacks into --into", async () => {
      const config = join(dir, "config");
      mkdirSync(join(config, "route"), { recursive: true });
      writeFileSync(join(config, "topo.xml"), "<experiment/>\n");
      writeFileSync(join(config, "route", "vm7"), "default via 10.0.0.1\n");
      const disk = join(dir, "config.tar");
      const built = await benito(["guest-config", "--build", config, "--hostname", "vm7", "--out", disk]);
      expect(built.code).toBe(0);
      expect(statSync(disk).size % 512).toBe(0);
      const unpacked = await benito(["guest-config", "--device", disk, "--into", join(dir, "guest")]);
      expect(unpacked.stderr).toBe("");
      expect(unpacked.stdout).toBe("vm7\n");
      expect(readFileSync(join(dir, "guest", "route", "vm7"), "utf8")).toBe("default via 10.0.0.1\n");
      expect(readFileSync(join(dir, "guest", "topo.xml"), "utf8")).toBe("<experiment/>\n");
    });

    test("a device that is not a config disk is a clear error", async () => {
      const junk = join(dir, "junk.img");
      writeFileSync(junk, new Uint8Array(4096).fill(7));
      const result = await benito(["guest-config", "--device", junk, "--into", join(dir, "junk")]);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain("benito: while reading the config disk on");
    });
  });
});
