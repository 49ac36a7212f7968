// `benito netns` for real (root): namespaces iproute2 can use, exec that keeps the pid, clean deletion, refused names.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { benito, benitoBinary, run } from "../helpers/binary";
import { uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";

describe.skipIf(!isRoot)("benito netns (live)", () => {
  const name = `${uniquePrefix()}-ns`;
  afterAll(async () => {
    await run(["ip", "netns", "del", name]);
  });

  test("add makes a namespace iproute2 sees, with loopback up; add again is fine", async () => {
    expect((await benito(["netns", "add", name])).code).toBe(0);
    expect(existsSync(`/run/netns/${name}`)).toBe(true);
    const lo = await run(["ip", "-n", name, "-o", "link", "show", "lo"]);
    expect(lo.stdout).toContain("LOOPBACK,UP");
    expect((await benito(["netns", "add", name])).code).toBe(0);
  }, 20_000);

  test("exec runs the program inside the namespace under the same pid", async () => {
    const child = Bun.spawn([benitoBinary, "netns", "exec", name, "--", "/bin/sleep", "10"], { stdout: "ignore", stderr: "ignore" });
    try {
      let cmdline = "";
      for (let i = 0; i < 100 && !cmdline.startsWith("/bin/sleep"); i++) {
        await Bun.sleep(20);
        cmdline = readFileSync(`/proc/${child.pid}/cmdline`, "utf8");
      }
      expect(cmdline.split("\0")[0]).toBe("/bin/sleep");
      expect(statSync(`/proc/${child.pid}/ns/net`).ino).toBe(statSync(`/run/netns/${name}`).ino);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  }, 20_000);

  test("a missing program is a clear error", async () => {
    const result = await benito(["netns", "exec", name, "--", "/nonexistent/program"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("/nonexistent/program: execvp: No such file or directory");
  });

  test("del removes it; del again is fine", async () => {
    expect((await benito(["netns", "del", name])).code).toBe(0);
    expect(existsSync(`/run/netns/${name}`)).toBe(false);
    expect((await run(["ip", "netns", "list"])).stdout).not.toContain(name);
    expect((await benito(["netns", "del", name])).code).toBe(0);
  });
});

describe("benito netns usage", () => {
  test("a name that is a path is refused, a missing action is a usage error", async () => {
    const bad = await benito(["netns", "add", "../etc"]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain("not a plain name");
    expect((await benito(["netns", "frob", "x"])).code).toBe(2);
    expect((await benito(["netns", "exec", "x"])).code).toBe(2);
  });
});
