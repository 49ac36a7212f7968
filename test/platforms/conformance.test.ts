// Runs the conformance suite against every registered platform, and checks the registry's refusals.
import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors";
import { knownNodeTypes, platformOf, platforms } from "../../src/platforms/registry";
import { conformance } from "./conformance";
import { node, samples, testContext } from "./nodes";

for (const platform of platforms) {
  const name = platform.names[0] ?? "";
  test(`platform ${name} has conformance samples`, () => {
    expect(samples[name]?.length ?? 0).toBeGreaterThan(0);
  });
  conformance(platform, samples[name] ?? [], testContext);
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
