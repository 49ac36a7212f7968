// `benito control-net allocate [CONFIG_DIR]`: the control IPv4 address and MAC of every VM hosted here.
import { join } from "node:path";
import { BenitoError, ExitCode, InputError, messageOf, UsageError } from "../../errors";
import { loadSiteConf, resolveConfigDir, resolveHostName, topologyPath } from "../../config/config-dir";
import { siteValue, type SiteConf } from "../../config/site-conf";
import { allocateControl, hasControlNic, parseControlPool, type ControlLease, type ControlPool } from "../../model/control-allocation";
import type { Node } from "../../model/node";
import { resolveNodes } from "../../model/resolve";
import { parseTopology } from "../../topdl/parse";
import { defaultLockWaitSeconds, readFileBytes, readOptionalJson, withRunLock, writeFileAtomic } from "../os";
import { integerOption, parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";
import { defaultRunDir } from "../../model/run-dir";

const options = {
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  all: { type: "boolean" },
  host: { type: "string" },
  "run-dir": { type: "string" },
  "lock-wait": { type: "string" },
} as const;

const help = `Usage: benito control-net allocate [--dry-run] [--json] [--all] [--host NAME] [--run-dir DIR] [--lock-wait S] [CONFIG_DIR]

Gives each VM hosted on this pnode (--host, else the hostname) a control-network IPv4 address
and MAC. Sources, in order: the VM's control_net interface in topo.xml (ip4_address and
benito:mac_address), else the pool in site.conf (control_pool = CIDR, control_mac_prefix =
three bytes, default 02:be:c0).

Pool addresses are a function of the experiment's whole set of VMs: each VM, in name order,
takes the slot its name hashes to (FNV-1a) or the next free one. Every pnode computes the same
table from the same topo.xml without talking to the others, so no two VMs of the experiment
collide. The pool's network, first (gateway) and broadcast addresses are never handed out. The
MAC is the prefix plus the address's offset in the pool.

The table is recorded in DIR/control-leases.json (DIR = --run-dir, default ${defaultRunDir});
a lease that changed since the last run is reported on stderr.

  --dry-run  print the table; leave the recorded leases as they are
  --lock-wait S  wait up to S seconds (default 120) for another benito holding the run dir's
             lock (docs/ledger.md); a dry run never waits
  --all    print every VM of the experiment, not only this pnode's
  --json   print the table as JSON: [{"node","address","prefixLength","mac","source"}]

Exit codes: 0 done, 2 usage, 3 invalid input (no pool and no topology address, pool too small).`;

/** The control-net command. */
export const controlNetCommand: Command = {
  name: "control-net",
  help,
  run,
};

/** The pool from site.conf, or undefined when there is none; a bad pool is an input error naming the line. */
export function poolFromSite(site: SiteConf): ControlPool | undefined {
  const cidr = siteValue(site, "control_pool");
  if (cidr === undefined) return undefined;
  const pool = parseControlPool(cidr, siteValue(site, "control_mac_prefix"));
  if (typeof pool === "string") {
    const line = site.values.get("control_pool")?.line ?? 0;
    throw new InputError("reading the control pool", `${site.file}:${line}`, pool);
  }
  return pool;
}

/**
 * Every VM's control lease for the experiment in CONFIG_DIR (all VMs: vnodes with a host).
 * Throws InputError listing every VM that cannot get one.
 */
export async function experimentLeases(configDir: string): Promise<{ leases: ControlLease[]; nodes: Node[] }> {
  const file = topologyPath(configDir);
  const nodes = resolveNodes(parseTopology(await readFileBytes(file, "reading the topology"), file));
  // Control addresses of the other nodes (pnodes) are never handed to a VM.
  const reserved = nodes.filter((node) => !hasControlNic(node)).flatMap((node) => node.interfaces.filter((nic) => nic.control && nic.ip4 !== undefined).map((nic) => nic.ip4?.address ?? ""));
  const { leases, problems } = allocateControl(nodes.filter(hasControlNic), poolFromSite(await loadSiteConf(configDir)), reserved);
  if (problems.length > 0) throw new InputError("allocating control addresses", configDir, `${problems.length} VM(s) get no control address`, problems.map((p) => `${p.node}: ${p.message}`));
  return { leases, nodes };
}

async function run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const [action, ...rest] = args;
  if (action !== "allocate") throw new UsageError("control-net", "the first argument is allocate");
  const { values, positionals } = parseCommandArgs("control-net", rest, options, 1);
  const runDir = values["run-dir"] ?? defaultRunDir;
  // A dry run records nothing: it never waits for (or makes) the run dir.
  if (values["dry-run"] === true) return allocate(values, positionals, ctx);
  return withRunLock(runDir, integerOption("control-net", "lock-wait", values["lock-wait"], defaultLockWaitSeconds), () => allocate(values, positionals, ctx));
}

async function allocate(values: ReturnType<typeof parseCommandArgs<typeof options>>["values"], positionals: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const configDir = await resolveConfigDir(positionals[0]);
  const host = resolveHostName(values.host);
  const { leases, nodes } = await experimentLeases(configDir);
  const hosted = values.all === true ? leases : leasesHostedBy(nodes, host, leases, topologyPath(configDir));

  const leasePath = join(values["run-dir"] ?? defaultRunDir, "control-leases.json");
  const previous = readOptionalJson<ControlLease[]>(leasePath) ?? [];
  for (const old of previous) {
    const now = hosted.find((lease) => lease.node === old.node);
    if (now !== undefined && (now.address !== old.address || now.mac !== old.mac)) {
      ctx.io.err(`benito: warning: the control lease of ${old.node} changed from ${old.address} ${old.mac} to ${now.address} ${now.mac} (the experiment's VMs changed)`);
    }
  }
  if (values["dry-run"] !== true) {
    try {
      writeFileAtomic(leasePath, `${JSON.stringify(hosted, null, 2)}\n`);
    } catch (error) {
      throw new BenitoError("recording the control leases", leasePath, messageOf(error));
    }
  }
  if (values.json === true) ctx.io.out(JSON.stringify(hosted));
  else {
    const width = Math.max(4, ...hosted.map((lease) => lease.node.length));
    ctx.io.out([`${"node".padEnd(width)}  address             mac                source`, ...hosted.map((lease) => `${lease.node.padEnd(width)}  ${`${lease.address}/${lease.prefixLength}`.padEnd(18)}  ${lease.mac}  ${lease.source}`)].join("\n"));
  }
  return ExitCode.ok;
}

function leasesHostedBy(nodes: readonly Node[], host: string, leases: readonly ControlLease[], file: string): ControlLease[] {
  const self = nodes.find((node) => node.name === host || node.localnames.includes(host));
  if (self === undefined) throw new InputError("finding this host in the topology", file, `no computer named "${host}"`);
  const children = new Set(nodes.filter((node) => node.host === self.name).map((node) => node.name));
  return leases.filter((lease) => children.has(lease.node));
}
