// A thread that cannot return to its own network namespace stops the process at once (it must not go on acting in another namespace).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run } from "../helpers/binary";
import { uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";

const dir = mkdtempSync(join(tmpdir(), "netns-home-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Runs withinNamespace with a callback that closes the descriptor of the thread's own namespace,
// so setns back home fails (EBADF), then reports whether the process went on, and where.
const script = `
import { closeSync, readdirSync, readlinkSync } from "node:fs";
import { createNamespace, withinNamespace } from ${JSON.stringify(resolve(import.meta.dir, "../../src/system/netns.ts"))};
const name = process.argv[2] ?? "";
createNamespace(name);
const home = readlinkSync("/proc/thread-self/ns/net");
try {
  withinNamespace(name, () => {
    for (const fd of readdirSync("/proc/thread-self/fd")) {
      try {
        if (readlinkSync("/proc/thread-self/fd/" + fd) === home) closeSync(Number(fd));
      } catch {}
    }
  });
} catch (error) {
  console.log("caught: " + String(error));
}
console.log("went on in " + (readlinkSync("/proc/thread-self/ns/net") === home ? "its own namespace" : "the other namespace"));
`;

describe.skipIf(!isRoot)("returning from a network namespace (root)", () => {
  test("setns back home failing aborts the process with one line naming why; nothing runs after it", async () => {
    const file = join(dir, "leave-home.ts");
    writeFileSync(file, script);
    const name = `${uniquePrefix()}-home`;
    try {
      // No core file: the abort is the expected outcome here.
      const result = await run(["sh", "-c", 'ulimit -c 0 && exec "$0" "$@"', process.execPath, file, name]);
      expect(result.stdout).not.toContain("went on");
      expect(result.stderr).toContain(`benito: while returning from the network namespace on ${name}: setns`);
      expect(result.code).not.toBe(0);
    } finally {
      await run(["ip", "netns", "del", name]);
    }
  });
});
