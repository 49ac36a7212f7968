// One process reads a host's view once per content: boot's stages share it; changed bytes are read afresh.
import { describe, expect, test } from "bun:test";
import { hostViewFromDocument } from "../../src/model/host-view";

const attribute = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;
const document = (address: string) =>
  new TextEncoder().encode(
    `<experiment><version>2.0</version><substrates><name>lan0</name></substrates><elements><computer><name>vn</name><interface><substrate>lan0</substrate><name>inf000</name>${attribute("ip4_address", address)}${attribute("ip4_netmask", "255.255.255.0")}</interface>${attribute("benito:node_type", "embedded_pnode")}</computer></elements></experiment>`,
  );

describe("host view per content", () => {
  test("the same bytes read again (a new buffer) give the same view without a new parse; changed bytes give the new view", () => {
    const file = `/nonexistent/host-view-cache-${process.pid}/topo.xml`;
    const first = hostViewFromDocument(document("10.0.0.2"), file, "vn");
    const again = hostViewFromDocument(document("10.0.0.2"), file, "vn");
    expect(again).toBe(first);
    const changed = hostViewFromDocument(document("10.0.0.3"), file, "vn");
    expect(changed).not.toBe(first);
    expect(changed.view.self.interfaces[0]?.ip4?.address).toBe("10.0.0.3");
    expect(first.view.self.interfaces[0]?.ip4?.address).toBe("10.0.0.2");
    // Another host of the same content, and other options, are views of their own.
    expect(hostViewFromDocument(document("10.0.0.3"), file, "vn", { strict: true })).not.toBe(changed);
  });

  test("a document with a problem is refused every time (a failure is never remembered as a view)", () => {
    const file = `/nonexistent/host-view-cache-bad-${process.pid}/topo.xml`;
    const bad = new TextEncoder().encode("<experiment><elements><computer><name>vn</name></computer></elements>");
    expect(() => hostViewFromDocument(bad, file, "vn")).toThrow();
    expect(() => hostViewFromDocument(bad, file, "vn")).toThrow();
  });
});
