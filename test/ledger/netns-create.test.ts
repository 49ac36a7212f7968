// A namespace appears under /run/netns only once set up: a boot killed while creating one leaves no mounted namespace without its loopback.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { createNamespace, ensureNamespace, namespaceExists } from "../../src/system/netns";
import { run } from "../helpers/binary";
import { uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";

describe.skipIf(!isRoot)("creating a network namespace (root)", () => {
  test("the setup runs before the namespace is mounted (a kill in between leaves nothing half made)", async () => {
    const name = `${uniquePrefix()}-mk`;
    let visibleDuringSetup: boolean | undefined;
    try {
      createNamespace(name, () => {
        visibleDuringSetup = namespaceExists(name);
      });
      expect(visibleDuringSetup).toBe(false);
      expect(namespaceExists(name)).toBe(true);
    } finally {
      await run(["ip", "netns", "del", name]);
    }
  });

  test("ensureNamespace clears the empty file a create cut short leaves, and makes the namespace with its loopback up", async () => {
    const name = `${uniquePrefix()}-cut`;
    try {
      mkdirSync("/run/netns", { recursive: true });
      writeFileSync(`/run/netns/${name}`, "");
      expect(namespaceExists(name)).toBe(false);
      ensureNamespace(name);
      expect(namespaceExists(name)).toBe(true);
      const lo = await run(["ip", "-n", name, "-o", "link", "show", "lo"]);
      expect(lo.stdout).toContain("<LOOPBACK,UP,");
    } finally {
      await run(["ip", "netns", "del", name]);
    }
  });
});
