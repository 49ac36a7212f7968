// Runs the conformance suite against every registered platform, and checks the registry's refusals.
import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors";
import { platformProblems } from "../../src/platforms/planning";
import { knownNodeTypes, platformOf, platforms } from "../../src/platforms/registry";
import { conformance } from "./conformance";
import { kernelBridgeName, type LanDatapath } from "../../src/plan/datapath-plan";
import type { Node } from "../../src/model/node";
import type { PlatformContext } from "../../src/platforms/platform";
import { nic, node, samples, testContext } from "./nodes";

/** The test context with every LAN of the samples on the kernel datapath, rate-shaped. */
function kernelContext(nodes: readonly Node[]): PlatformContext {
  const lans = new Set(nodes.flatMap((sample) => sample.interfaces.map((iface) => iface.substrate)));
  const datapaths = new Map<string, LanDatapath>([...lans].map((lan) => [lan, { kind: "kernel", reason: "test", bridge: kernelBridgeName(lan, testContext.runDir), scope: testContext.runDir, shaping: { capacityKbps: 10_000 }, netem: false }]));
  return { ...testContext, datapaths };
}

for (const platform of platforms) {
  const name = platform.names[0] ?? "";
  test(`platform ${name} has conformance samples`, () => {
    expect(samples[name]?.length ?? 0).toBeGreaterThan(0);
  });
  conformance(platform, samples[name] ?? [], testContext);
  // A platform that takes kernel ports is held to the same rules with every LAN on the kernel datapath (shaped, so its shaping steps are checked too).
  if (platform.kernelDatapath === true) conformance(platform, samples[name] ?? [], kernelContext(samples[name] ?? []), "on kernel LANs");
}

describe("registry", () => {
  test("names are unique across platforms", () => {
    expect(new Set(knownNodeTypes()).size).toBe(knownNodeTypes().length);
  });

  test("an unknown node type is an input error listing the known ones", () => {
    let error: unknown;
    try {
      platformOf(node("x", "xen", {}, []));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain('unknown benito:node_type "xen"');
    expect((error as InputError).details.join(" ")).toContain("qemu, process, embedded_pnode");
  });

  test("openvz is refused with a clear message", () => {
    expect(() => platformOf(node("ct", "openvz", {}, []))).toThrow(/openvz" is refused: OpenVZ containers are not supported/);
  });

  test("a node without a type is an input error", () => {
    expect(() => platformOf(node("n", "", {}, []))).toThrow(/has no benito:node_type/);
  });
});

describe("platformProblems (for topology validation)", () => {
  test("reports unknown and refused types and bad attributes, skips untyped nodes and pnodes", () => {
    const problems = platformProblems(
      [
        node("ok", "qemu", { "benito:qemu_image": "/i/b.qcow2" }, [nic(0)]),
        node("bad", "qemu", { "benito:qemu_memory": "x" }, [nic(0)]),
        node("ct", "openvz", {}, []),
        node("x", "xen", {}, []),
        node("plain", "", {}, []),
        node("host", "pnode", {}, []),
      ],
      "topo.xml",
    );
    const lines = problems.map((problem) => `${problem.file}:${problem.line}: ${problem.path}: ${problem.message}`);
    expect(lines.filter((line) => line.includes("elements[bad]"))).toHaveLength(2);
    expect(lines.some((line) => line.includes('"openvz" is refused'))).toBe(true);
    expect(lines.some((line) => line.includes('unknown benito:node_type "xen" (known node types: qemu, process, embedded_pnode)'))).toBe(true);
    expect(lines.some((line) => line.includes("elements[ok]") || line.includes("elements[plain]") || line.includes("elements[host]"))).toBe(false);
  });
});
