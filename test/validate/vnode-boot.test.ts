// A vnode's own boot reads only its part of topo.xml (the fast path), which need not hold its pnode: that is no placement problem (a VM guest's boot once stopped on it).
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito } from "../helpers/binary";
import { topology } from "../vm/fixture";

test("boot --dry-run as a vnode plans its own stages; topdl validate still sees the whole document", async () => {
  const dir = mkdtempSync(join(tmpdir(), "benito-vnode-boot-"));
  try {
    writeFileSync(join(dir, "topo.xml"), topology("/run/benito-test-none/sw", [{ name: "vmx", type: "qemu", address: "10.216.0.1", mac: "02:00:0a:d8:00:01", port: 1, attributes: { "benito:qemu_image": "/i/b.qcow2" } }]));
    const vnode = await benito(["boot", "--dry-run", "--run-dir", join(dir, "run"), dir, "vmx"]);
    expect(vnode.stderr).toBe("");
    expect(vnode.code).toBe(0);
    expect(vnode.stdout).toContain("# benito boot plan for vmx (node)");
    // A vnode placed on a pnode the document lacks is still refused where the whole document is read.
    const placedElsewhere = topology("/run/benito-test-none/sw", [{ name: "vmx", type: "qemu", address: "10.216.0.1", mac: "02:00:0a:d8:00:01", port: 1, attributes: { "benito:qemu_image": "/i/b.qcow2" } }]).replace("<attribute>benito:host</attribute><value>pnode0</value>", "<attribute>benito:host</attribute><value>nosuchpnode</value>");
    writeFileSync(join(dir, "topo.xml"), placedElsewhere);
    const whole = await benito(["topdl", "validate", join(dir, "topo.xml")]);
    expect(whole.code).toBe(3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
