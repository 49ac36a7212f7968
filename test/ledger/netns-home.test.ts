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

// Has returnHome (what every namespace window ends with, src/system/netns-open.ts) fail to go
// back: the descriptor of the thread's own namespace is one that is not open, so setns fails
// (EBADF); then reports whether the process went on.
const script = `
import { returnHome } from ${JSON.stringify(resolve(import.meta.dir, "../../src/system/netns-open.ts"))};
const name = process.argv[2] ?? "";
try {
  returnHome(1 << 20, name);
} catch (error) {
  console.log("caught: " + String(error));
}
console.log("went on");
`;

describe.skipIf(!isRoot)("returning from a network namespace (root)", () => {
  test("setns back home failing aborts the process with one line naming why; nothing runs after it", async () => {
    const file = join(dir, "leave-home.ts");
    writeFileSync(file, script);
    const name = `${uniquePrefix()}-home`;
    // No core file: the abort is the expected outcome here.
    const result = await run(["sh", "-c", 'ulimit -c 0 && exec "$0" "$@"', process.execPath, file, name]);
    expect(result.stdout).not.toContain("went on");
    expect(result.stderr).toContain(`benito: while returning from the network namespace on ${name}: setns`);
    expect(result.code).not.toBe(0);
  });
});
