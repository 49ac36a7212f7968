// Issue 12 item 1: every problem the config folder shows stops boot with exit 3 and file:line before anything is created; topdl validate --strict lists the same.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benito, benitoBinary, run } from "../helpers/binary";
import { makeLab, labNodes, type Lab } from "../helpers/lab";
import { ip, NamespaceSet, uniquePrefix } from "../helpers/netns";
import { isRoot } from "../helpers/root";

setDefaultTimeout(60_000);

/** Replaces `from` by `to` on one line (1-based) of a file, so every other line keeps its number. */
function editLine(file: string, line: number, from: string, to: string): void {
  const lines = readFileSync(file, "utf8").split("\n");
  const text = lines[line - 1] ?? "";
  if (!text.includes(from)) throw new Error(`line ${line} of ${file} has no ${JSON.stringify(from)}: ${text}`);
  lines[line - 1] = text.replace(from, to);
  writeFileSync(file, lines.join("\n"));
}

/** Every file under a folder, relative, sorted (status.json, boot's record of why it stopped, aside). */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((entry) => entry !== "status.json").sort();
}

/** Processes whose command line names the lab's folder or its prefix. */
function labProcesses(lab: Lab, prefix: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    } catch {
      continue;
    }
    if ((cmdline.includes(lab.dir) || cmdline.includes(prefix)) && !cmdline.includes(" boot ")) found.push(cmdline);
  }
  return found.sort();
}

interface Case {
  /** What is wrong. */
  readonly name: string;
  /** Breaks the lab copy. */
  readonly edit: (lab: Lab, topo: string) => void;
  /** What the listed problem says, with the file and line it names. */
  readonly expected: RegExp;
  /** Extra boot arguments. */
  readonly args?: readonly string[];
  /** False when the problem is in site.conf only (topdl validate reads it too, for topo.xml). */
  readonly inTopology?: boolean;
}

const cases: Case[] = [
  { name: "a reused switch port", edit: (_, topo) => editLine(topo, 55, "<value>2<", "<value>1<"), expected: /topo\.xml:48: .*interface\[0\]: port 1 of switch \S+\/lan0 is already taken by \w+a\.inf000 \(line 32\)/ },
  { name: "a node name that cannot be a namespace or path name", edit: (lab, topo) => editLine(topo, 47, `${lab.name("b")}<`, `${lab.name("b")}/x<`), expected: /topo\.xml:46: .*computer\.name: computer name "\w+b\/x" cannot be a host, namespace or file name: the name contains "\/"/ },
  { name: "a benito:ifname that cannot be an interface name", edit: (_, topo) => editLine(topo, 53, "<attribute><attribute>benito:mac_address</attribute>", "<attribute><attribute>benito:ifname</attribute><value>eth0/x</value></attribute><attribute><attribute>benito:mac_address</attribute>"), expected: /topo\.xml:48: .*interface\[0\]: benito:ifname "eth0\/x" is not an interface name: the name contains "\/"/ },
  { name: "a vnode on a pnode that does not exist", edit: (_, topo) => editLine(topo, 58, ">pnode0<", ">pnode9<"), expected: /topo\.xml:46: .*: vnode \w+b is placed on pnode "pnode9" \(benito:host\), which is no computer of the topology/ },
  { name: "a MAC used twice on one LAN", edit: (_, topo) => editLine(topo, 53, "02:be:00:00:00:02", "02:be:00:00:00:01"), expected: /topo\.xml:48: .*: MAC 02:be:00:00:00:01 is used twice on LAN lan0: also by \w+a\.inf000 \(line 32\)/ },
  { name: "one IPv4 address on two interfaces", edit: (_, topo) => editLine(topo, 51, "10.0.1.2", "10.0.1.1"), expected: /topo\.xml:48: .*: IPv4 address 10\.0\.1\.1 is also on \w+a\.inf000 \(line 32\)/ },
  { name: "a host address equal to its subnet's network address", edit: (_, topo) => editLine(topo, 51, "10.0.1.2", "10.0.1.0"), expected: /topo\.xml:48: .*: 10\.0\.1\.0\/24 is the network address of 10\.0\.1\.0\/24, not a host address/ },
  { name: "a host address equal to its subnet's broadcast address", edit: (_, topo) => editLine(topo, 51, "10.0.1.2", "10.0.1.255"), expected: /topo\.xml:48: .*: 10\.0\.1\.255\/24 is the broadcast address of 10\.0\.1\.0\/24, not a host address/ },
  { name: "a site.conf line of binary garbage", edit: (lab) => appendFileSync(join(lab.config, "site.conf"), "\u0001\u0002\ufffdgarbage=\u0000x\n"), expected: /site\.conf:4: not text \(control characters or invalid UTF-8\)/, inTopology: false },
  { name: "two [benito] sections that disagree", edit: (lab) => appendFileSync(join(lab.config, "site.conf"), "[benito]\ncontrol_bridge = br-other\n"), expected: /site\.conf:5: \[benito\] control_bridge: "br-other" disagrees with "br-ctl" given on line 3/, inTopology: false },
  { name: "a misspelt key under boot --strict", edit: (lab) => appendFileSync(join(lab.config, "site.conf"), "tunel_mode = vxlan\n"), expected: /site\.conf:4: \[benito\] tunel_mode: unknown key "tunel_mode" \(did you mean tunnel_mode\?\)/, args: ["--strict"], inTopology: false },
];

describe.skipIf(!isRoot)("boot validates before any change (root, a pnode namespace)", () => {
  const namespaces = new NamespaceSet();
  const labs: Lab[] = [];
  let pnode = "";

  beforeAll(async () => {
    pnode = await namespaces.add("pn");
  });

  afterAll(async () => {
    // Nothing should exist; remove by exact name whatever a regression made.
    for (const lab of labs) {
      for (const node of labNodes) await run(["ip", "netns", "del", lab.namespace(node)]);
      rmSync(lab.dir, { recursive: true, force: true });
    }
    await namespaces.cleanup();
  });

  for (const problem of cases) {
    test(`${problem.name}: exit 3 with file:line, nothing created; topdl validate --strict agrees`, async () => {
      const prefix = uniquePrefix();
      const lab = makeLab(prefix);
      labs.push(lab);
      const topo = join(lab.config, "topo.xml");
      problem.edit(lab, topo);
      const snapshot = async () => ({
        namespaces: (await ip("netns", "list")).split("\n").filter((line) => line.includes(prefix)),
        links: await ip("-n", pnode, "-o", "link", "show"),
        addresses: await ip("-n", pnode, "-o", "addr", "show"),
        processes: labProcesses(lab, prefix),
        runDir: tree(lab.runDir),
        switches: existsSync(join(lab.dir, "sw")),
      });
      const before = await snapshot();
      const result = await run(["ip", "netns", "exec", pnode, benitoBinary, "boot", ...(problem.args ?? []), "--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), lab.config, "pnode0"], { timeoutMs: 30_000 });
      expect(result.stderr).toMatch(problem.expected);
      expect(result.stderr).not.toContain("internal error");
      expect(result.code).toBe(3);
      expect(result.stdout).toBe("");
      expect(await snapshot()).toEqual(before);
      expect(before.switches).toBe(false);

      // The same problems, from the same validator, through topdl validate --strict.
      const validate = await benito(["topdl", "validate", "--strict", topo]);
      expect(validate.code).toBe(3);
      expect(validate.stdout).toMatch(problem.expected);
      const listed = (text: string) => text.split("\n").map((line) => line.trim()).filter((line) => /^\/\S+:\d+: /.test(line)).sort();
      // Every problem topdl validate lists, boot lists too (boot adds its vnodes' platform attribute checks).
      const booted = listed(result.stderr);
      expect(listed(validate.stdout).filter((line) => !booted.includes(line))).toEqual([]);
      expect(listed(validate.stdout).length).toBeGreaterThan(0);
      // status reads the same config and says the same.
      const status = await run(["ip", "netns", "exec", pnode, benitoBinary, "status", "--run-dir", lab.runDir, lab.config, "pnode0"]);
      if (problem.args === undefined) {
        expect(status.code).toBe(3);
        expect(status.stderr).toMatch(problem.expected);
      }
    });
  }

  test("a misspelt key without --strict is a warning naming the nearest key, and the dry run goes on", async () => {
    const lab = makeLab(uniquePrefix());
    labs.push(lab);
    appendFileSync(join(lab.config, "site.conf"), "contrl_bridge = br-x\n");
    const result = await benito(["boot", "--dry-run", "--run-dir", lab.runDir, lab.config, "pnode0"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('site.conf:4: [benito] contrl_bridge: warning: unknown key "contrl_bridge" (did you mean control_bridge?)');
    expect(result.stdout).toContain("# benito boot plan for pnode0");
  });
});
