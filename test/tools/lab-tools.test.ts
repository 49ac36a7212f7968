// The experimenter's tools on a running example lab (one boot for all): exec, capture, link.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { benito, run } from "../helpers/binary";
import { makeLab, labNodes, type Lab } from "../helpers/lab";
import { uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";
import { pidfiles, pidIn, signalPid } from "../helpers/processes";

// Real namespaces, switches and processes: every wait inside is bounded.
setDefaultTimeout(120_000);

const hasVde = Bun.which("vde_switch") !== null && Bun.which("wirefilter") !== null;

describe.skipIf(!isRoot || !hasVde)("tools on the running example lab (root, namespaces, real vde_switch)", () => {
  let lab: Lab;
  const where = () => ["--config", lab.config, "--run-dir", lab.runDir, "--host", "pnode0"];

  beforeAll(async () => {
    lab = makeLab(uniquePrefix());
    const boot = await benito(["boot", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 90_000 });
    if (boot.code !== 0) throw new Error(`boot failed: ${boot.stderr}`);
  });

  afterAll(async () => {
    await benito(["down", "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 60_000 });
    // Whatever down could not stop: by pidfile, then the namespaces by their exact names.
    for (const pidfile of pidfiles(lab.runDir)) signalPid(pidIn(pidfile) ?? 0, "SIGKILL");
    for (const node of labNodes) await run(["ip", "netns", "del", lab.namespace(node)]);
    rmSync(lab.dir, { recursive: true, force: true });
  });

  describe("exec", () => {
    test("runs in the vnode's namespace: its addresses are visible", async () => {
      const result = await benito(["exec", ...where(), lab.name("d"), "ip", "-4", "-o", "addr", "show"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("10.0.2.2/24");
      expect(result.stdout).toContain("10.0.3.1/24");
      expect(result.stdout).not.toContain("10.0.1.1/24");
    });

    test("options end at NODE: -c goes to ping; the program's exit code comes back", async () => {
      const ok = await benito(["exec", ...where(), lab.name("a"), "ping", "-n", "-c", "1", "-W", "2", "10.0.1.2"]);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain("1 packets transmitted, 1 received");
      expect((await benito(["exec", ...where(), lab.name("a"), "--", "sh", "-c", "exit 7"])).code).toBe(7);
      // --help and --debug after NODE are the program's.
      const echoed = await benito(["exec", ...where(), lab.name("a"), "echo", "--help", "--debug"]);
      expect(echoed.stdout).toBe("--help --debug\n");
      // Nobody answers 10.0.1.99: ping's own exit code 1.
      expect((await benito(["exec", ...where(), lab.name("a"), "ping", "-n", "-c", "1", "-W", "1", "10.0.1.99"])).code).toBe(1);
    });

    test("the pnode itself runs the program on the host", async () => {
      const result = await benito(["exec", ...where(), "pnode0", "cat", "/proc/self/net/dev"]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("lo:");
    });

    test("an unknown node or a missing program is a clear error", async () => {
      const unknown = await benito(["exec", ...where(), "nosuchnode", "true"]);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toContain("pnode0 has no node of that name");
      const missing = await benito(["exec", ...where(), lab.name("a"), "no-such-program-xyz"]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("no-such-program-xyz");
      expect((await benito(["exec", ...where(), lab.name("a")])).code).toBe(2);
    });
  });
});
