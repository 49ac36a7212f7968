// hostLinkName (what `benito capture` uses to find a pnode's NIC) against the real kernel, in a throwaway namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { inNamespace, ip, NamespaceSet } from "../helpers/netns";
import { isRoot } from "../helpers/root";

const module = resolve(import.meta.dir, "../../src/system/netlink/host-link.ts");

describe.skipIf(!isRoot)("hostLinkName in a network namespace", () => {
  const namespaces = new NamespaceSet();
  let ns = "";
  const a = `${namespaces.prefix}a`;
  const b = `${namespaces.prefix}b`;

  /** hostLinkName(hint) run inside the namespace; null when it found nothing. */
  async function lookUp(hint: { mac?: string; ifname?: string }): Promise<string | null> {
    const script = `const { hostLinkName } = await import(${JSON.stringify(module)}); console.log(JSON.stringify(hostLinkName(${JSON.stringify(hint)}) ?? null));`;
    const result = await inNamespace(ns, [process.execPath, "-e", script], { timeoutMs: 60_000 });
    if (result.code !== 0) throw new Error(`lookup failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as string | null;
  }

  beforeAll(async () => {
    ns = await namespaces.add("hl");
    await ip("-n", ns, "link", "add", a, "address", "02:00:5e:11:00:01", "type", "veth", "peer", "name", b, "address", "02:00:5e:11:00:02");
  });

  afterAll(async () => {
    await namespaces.cleanup();
  });

  test("by MAC first, then by ifname; undefined when neither is here", async () => {
    expect(await lookUp({ mac: "02:00:5E:11:00:02" })).toBe(b);
    expect(await lookUp({ mac: "02:00:5e:11:00:01", ifname: b })).toBe(a);
    expect(await lookUp({ mac: "02:00:5e:11:00:99", ifname: b })).toBe(b);
    expect(await lookUp({ mac: "02:00:5e:11:00:99" })).toBeNull();
    expect(await lookUp({ ifname: `${namespaces.prefix}none` })).toBeNull();
  });
});
