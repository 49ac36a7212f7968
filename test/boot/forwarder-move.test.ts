// A forwarder port recorded on the wrong pool member (an older benito split its LAN): `boot --dry-run` says it moves and changes nothing; `status` calls it drift; `boot` makes exactly that move.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito, benitoBinary } from "../helpers/binary";
import type { Lab } from "../helpers/lab";
import { cleanLab } from "../helpers/lab-state";
import { uniquePrefix } from "../helpers/netns";
import { pidIn } from "../helpers/processes";
import { isRoot } from "../helpers/root";
import { addForwarderPort, forwarderRequest, forwarderState, removeForwarderPort } from "../../src/system/vde/forwarder-control";
import { forwarderPaths, readPortRecord, readPortRecords, shardCount } from "../../src/system/vde/forwarder-records";
import { hasVde } from "../vde/fixtures";

setDefaultTimeout(120_000);

/** pnode0 and three process vnodes on one LAN (one switch): a small lab whose names cleanLab knows (a, b, c). */
function makeSmallLab(prefix: string): Lab {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-move-`));
  const config = join(dir, "config");
  mkdirSync(config);
  const vnode = (name: string, index: number) => `
  <elements><computer>
    <name>${prefix}${name}</name>
    <interface>
      <substrate>lan0</substrate><name>inf000</name>
      <attribute><attribute>ip4_address</attribute><value>10.0.1.${index}</value></attribute>
      <attribute><attribute>ip4_netmask</attribute><value>255.255.255.0</value></attribute>
      <attribute><attribute>benito:mac_address</attribute><value>02:be:0f:00:00:0${index}</value></attribute>
      <attribute><attribute>benito:vde_switch</attribute><value>${dir}/sw/lan0</value></attribute>
      <attribute><attribute>benito:vde_port</attribute><value>${index}</value></attribute>
    </interface>
    <attribute><attribute>benito:node_type</attribute><value>process</value></attribute>
    <attribute><attribute>benito:host</attribute><value>pnode0</value></attribute>
  </computer></elements>`;
  writeFileSync(
    join(config, "topo.xml"),
    `<?xml version="1.0" encoding="UTF-8"?>
<experiment>
  <version>2.0</version>
  <substrates><name>lan0</name></substrates>
  <elements><computer>
    <name>pnode0</name>
    <attribute><attribute>benito:node_type</attribute><value>pnode</value></attribute>
  </computer></elements>${vnode("a", 1)}${vnode("b", 2)}${vnode("c", 3)}
</experiment>
`,
  );
  return { dir, config, runDir: join(dir, "run"), name: (node) => `${prefix}${node}`, namespace: (node) => `bn-${prefix}${node}` };
}

describe.skipIf(!isRoot || !hasVde || shardCount() < 2)("a forwarder port on the wrong pool member: the dry run says it moves, boot moves it (root, real switch and forwarders)", () => {
  let lab: Lab;
  const common = () => ["--run-dir", lab.runDir, "--log-file", join(lab.dir, "benito.log"), "--wait-nics", "0"];
  /** The port of vnode b's NIC (the one the test puts on the wrong member). */
  let moved = "";
  /** What the machine shows of the pool: each record's member, each running member's pid and the ports it holds with their state. */
  const pool = async () => {
    const records = Object.fromEntries(readPortRecords(lab.runDir).map((record) => [record.id, record.shard]));
    const members: Record<string, { pid?: number; ports: string[] }> = {};
    for (let shard = 0; shard < 2; shard += 1) {
      if (!forwarderState(lab.runDir, benitoBinary, shard).alive) continue;
      const ports = (await forwarderRequest(lab.runDir, { op: "list" }, shard)).ports ?? [];
      members[shard] = { pid: pidIn(forwarderPaths(lab.runDir, shard).pidfile), ports: ports.map((port) => `${port.id} ${port.state}`).sort() };
    }
    return { records, members };
  };

  beforeAll(async () => {
    lab = makeSmallLab(uniquePrefix());
    const booted = await benito(["boot", ...common(), lab.config, "pnode0"], { timeoutMs: 90_000 });
    expect(booted.code === 0 ? "" : booted.stdout + booted.stderr).toBe("");
    // One LAN: its three ports on one member. Then b's port goes to the other one, as an older benito's least-loaded placement put it.
    const records = readPortRecords(lab.runDir);
    expect(new Set(records.map((record) => record.shard)).size).toBe(1);
    const record = records.find((entry) => entry.id.includes(lab.name("b")));
    if (record === undefined) throw new Error("no port record for b");
    moved = record.id;
    await removeForwarderPort(lab.runDir, benitoBinary, moved);
    await addForwarderPort(lab.runDir, benitoBinary, { ...record, shard: 1 - (record.shard ?? 0) });
  });

  afterAll(async () => {
    await cleanLab(lab);
    rmSync(lab.dir, { recursive: true, force: true });
  });

  test("boot --dry-run prints the move (from the member it is on to the one holding its LAN, unplugged meanwhile) and changes nothing", async () => {
    const before = await pool();
    const from = readPortRecord(lab.runDir, moved)?.shard ?? -1;
    expect(before.members[from]?.ports).toEqual([`${moved} open`]);
    const dry = await benito(["boot", "--dry-run", ...common(), lab.config, "pnode0"], { timeoutMs: 60_000 });
    expect(dry.code).toBe(0);
    const lines = dry.stdout.split("\n").filter((line) => line.includes(" moves "));
    expect(lines).toEqual([`    # port ${moved} moves from forwarder ${from} to forwarder ${1 - from} of the pool, to join its switch's other ports: unplugged while it moves`]);
    expect(await pool()).toEqual(before);
  });

  test("status calls it drift; boot moves exactly that port, keeps the others and their forwarder, and stops the member it leaves empty", async () => {
    const before = await pool();
    const from = before.records[moved] ?? -1;
    const to = 1 - from;
    const seen = await benito(["status", "--run-dir", lab.runDir, lab.config, "pnode0"], { timeoutMs: 60_000 });
    expect(seen.code).toBe(1);
    expect(seen.stdout.split("\n").filter((line) => line.startsWith("DRIFT"))).toEqual([expect.stringContaining(`drift, a boot moves it from forwarder ${from} to forwarder ${to} of the pool`)]);
    const booted = await benito(["boot", ...common(), lab.config, "pnode0"], { timeoutMs: 90_000 });
    expect(booted.code === 0 ? "" : booted.stdout + booted.stderr).toBe("");
    // Its vnode alone was relaunched, and its port step says what it did; the others were left alone.
    const stages: unknown = JSON.parse(readFileSync(join(lab.runDir, "status.json"), "utf8")).stages;
    const output = (id: string) => (Array.isArray(stages) ? stages : []).find((stage) => stage?.id === id)?.output ?? [];
    expect(output(`child:${lab.name("b")}`)).toContain(`# moved from forwarder ${from} to forwarder ${to} of the pool (unplugged while it moved); switch port 2`);
    for (const node of ["a", "c"] as const) expect(output(`child:${lab.name(node)}`)[0]).toBe("already running and healthy: left alone");
    const after = await pool();
    expect(after.records).toEqual({ ...before.records, [moved]: to });
    const others = before.members[to]?.ports ?? [];
    expect(after.members).toEqual({ [to]: { pid: before.members[to]?.pid, ports: [...others, `${moved} open`].sort() } });
    expect((await benito(["status", "--run-dir", lab.runDir, lab.config, "pnode0"], { timeoutMs: 60_000 })).code).toBe(0);
  });
});
