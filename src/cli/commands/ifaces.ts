// `benito ifaces [CONFIG_DIR [HOSTNAME]]`: gives this host's experimental NICs their IPv4 addresses and brings them up.
import { join } from "node:path";
import { ExitCode, InputError } from "../../errors";
import { resolveConfigDir, resolveHostName, topologyPath } from "../../config/config-dir";
import { parseHostsFile, type HostsEntry } from "../../model/hosts-file";
import { formatLineProblem, type LineProblem } from "../../model/route-file";
import { hostViewFromDocument } from "../../model/host-view";
import { planIfaces, type IfacePlan } from "../../plan/ifaces-plan";
import { renderIfaceScript } from "../../plan/ifaces-render";
import { applyIfacePlan, nextOwnedAddresses, updateHostsFile, type IfaceStepOutcome } from "../../apply/ifaces-apply";
import { openNetSystem } from "../../apply/rtnl-system";
import { defaultStateDir, readAddressRecords, readFileBytes, readOptionalText, writeAddressRecords } from "../os";
import { parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";

const options = {
  "dry-run": { type: "boolean" },
  "remove-all": { type: "boolean" },
  netns: { type: "string" },
  json: { type: "boolean" },
  hosts: { type: "boolean" },
  "hosts-file": { type: "string" },
  "state-dir": { type: "string" },
} as const;

const help = `Usage: benito ifaces [--dry-run] [--json] [--hosts [--hosts-file PATH]] [--state-dir DIR] [--netns NAME] [CONFIG_DIR [HOSTNAME]]

For this host's element in CONFIG_DIR/topo.xml, finds each experimental interface's NIC by
benito:mac_address (else by benito:ifname), gives it its ip4_address/ip4_netmask and brings it
up. control_net interfaces are skipped. An interface that matches no NIC is a warning naming
its MAC; the others still proceed.

Convergent: an address benito set earlier that differs from the topology's is replaced; benito
also removes its addresses from NICs the topology no longer configures; addresses benito did not
set are never touched. benito remembers its addresses in the ledger of DIR (an "addresses"
record named after HOSTNAME; DIR = ${defaultStateDir} unless --state-dir; /run is emptied at
boot, as addresses are). A process vnode's ifaces gets its pnode's run dir.

Options:
  --dry-run          print the equivalent ip addr/ip link script; change nothing
  --json             print every interface's outcome as JSON
  --hosts            also write CONFIG_DIR/hosts into a marked block of /etc/hosts
                     (lines between "# BEGIN benito" and "# END benito"; the rest is kept)
  --hosts-file PATH  the hosts file to write instead of /etc/hosts
  --state-dir DIR    where benito records the addresses it set (default ${defaultStateDir})
  --remove-all       remove every address benito set and configure none (what benito down does)
  --netns NAME       act on the named network namespace from outside, without a helper process
                     (what status does for each process vnode)

Exit codes: 0 done (missing NICs are warnings), 1 the kernel refused a change, 2 usage,
3 invalid input (topology, hosts file).`;

/** The ifaces command. */
export const ifacesCommand: Command = {
  name: "ifaces",
  help,
  run,
};

async function run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs("ifaces", args, options, 2);
  const dryRun = values["dry-run"] === true;
  const configDir = await resolveConfigDir(positionals[0]);
  const host = resolveHostName(positionals[1]);
  const topoFile = topologyPath(configDir);
  // The boot-time path: only this host's parts of a large topo.xml are parsed.
  const { view: configured } = hostViewFromDocument(await readFileBytes(topoFile, "reading the topology"), topoFile, host);
  // --remove-all converges on a host with no interfaces to configure: every address benito set goes.
  const view = values["remove-all"] === true ? { ...configured, self: { ...configured.self, interfaces: [] } } : configured;
  const hosts = values.hosts ? await readHosts(configDir) : undefined;
  const stateDir = values["state-dir"] ?? defaultStateDir;

  const system = openNetSystem(values.netns);
  let plan: IfacePlan;
  let outcomes: IfaceStepOutcome[] = [];
  let forwardingError: string | undefined;
  try {
    const links = await system.links();
    const addresses = await system.addresses();
    const owned = readAddressRecords(stateDir, host);
    plan = planIfaces(view, links, addresses, owned, (await system.forwarding?.()) ?? true);
    if (!dryRun && plan.steps.length > 0) {
      outcomes = await applyIfacePlan(system, plan);
      writeAddressRecords(stateDir, host, nextOwnedAddresses(owned, outcomes, links, await system.addresses()));
    }
    if (!dryRun && plan.forwarding === "enable") {
      const answer = await system.enableForwarding?.();
      if (answer !== undefined && !answer.ok) forwardingError = answer.message ?? "refused";
    }
  } finally {
    system.close();
  }
  const hostsFile = values["hosts-file"] ?? "/etc/hosts";
  const hostsResult = hosts === undefined ? undefined : updateHostsFile(hostsFile, hosts.entries, hosts.file, dryRun);

  const failures = outcomes.filter((outcome) => !outcome.ok);
  const failedKey = (iface: string, ifname: string | undefined) => `${iface} ${ifname ?? ""}`;
  const failedIfaces = new Set(failures.map((outcome) => failedKey(outcome.step.iface, outcome.step.ifname)));
  const problems: LineProblem[] = hosts?.problems ?? [];
  for (const problem of problems) ctx.io.err(`benito: while reading the hosts on ${formatLineProblem(problem)}`);
  for (const entry of plan.entries) {
    if (entry.status === "missing") ctx.io.err(`benito: warning: ${entry.note}`);
  }
  if (forwardingError !== undefined) ctx.io.err(`benito: while turning on IPv4 forwarding on ${host}: ${forwardingError}`);
  for (const { step, error } of failures) {
    const change =
      step.kind === "link.up" ? "bringing the link up" : step.kind === "link.promote-secondaries" ? "setting promote_secondaries" : `${step.kind === "address.add" ? "adding" : "deleting"} address ${step.address}/${step.prefixLength}`;
    ctx.io.err(`benito: while ${change} on ${step.ifname}${step.iface === "" ? "" : ` (${step.iface})`}: ${error}`);
  }
  const statuses = plan.entries.map((entry) => (failedIfaces.has(failedKey(entry.iface, entry.ifname)) ? "failed" : entry.status));
  const count = (status: string) => statuses.filter((value) => value === status).length;
  const forwarding = plan.forwarding === "enable" ? 1 : 0;
  const summary = { configured: count("configured"), changed: count("changed"), unchanged: count("unchanged"), missing: count("missing"), skipped: count("skipped"), failed: count("failed") + (forwardingError === undefined ? 0 : 1), forwarding };
  const line = `benito ifaces${dryRun ? " (dry run)" : ""}: ${summary.configured} configured, ${summary.changed} changed, ${summary.unchanged} unchanged, ${summary.missing} missing, ${summary.skipped} skipped, ${summary.failed} failed${forwarding > 0 ? `; IPv4 forwarding ${dryRun ? "would be " : ""}turned on (a router)` : ""}${hostsResult === undefined ? "" : `; ${hostsFile} ${dryRun && hostsResult === "updated" ? "would be updated" : hostsResult}`}${problems.length > 0 ? `; ${problems.length} bad hosts line${problems.length === 1 ? "" : "s"}` : ""}`;

  if (values.json) {
    const interfaces = plan.entries.map((entry, index) => ({
      interface: entry.iface === "" ? null : entry.iface,
      nic: entry.ifname ?? null,
      mac: entry.mac ?? null,
      address: entry.address ?? null,
      status: statuses[index],
      note: entry.note ?? null,
      errors: failures.filter((outcome) => outcome.step.iface === entry.iface && outcome.step.ifname === entry.ifname).map((outcome) => outcome.error),
    }));
    ctx.io.out(JSON.stringify({ host, topology: topoFile, dryRun, interfaces, hosts: hostsResult === undefined ? null : { file: hostsFile, result: hostsResult }, problems: problems.map(formatLineProblem), summary }));
    ctx.io.err(line);
  } else if (dryRun) {
    ctx.io.out(renderIfaceScript(plan, `benito ifaces for ${host} from ${topoFile}`));
    if (hostsResult === "updated") ctx.io.out(`# ${hostsFile}: would replace benito's block with ${hosts?.entries.length ?? 0} entries from ${hosts?.file}`);
    ctx.io.out(`# ${line}`);
  } else {
    ctx.io.out(line);
  }
  if (problems.length > 0) return ExitCode.input;
  return failures.length > 0 || forwardingError !== undefined ? ExitCode.failed : ExitCode.ok;
}

/** Reads and parses CONFIG_DIR/hosts (required when --hosts is given). */
async function readHosts(configDir: string): Promise<{ file: string; entries: HostsEntry[]; problems: LineProblem[] }> {
  const file = join(configDir, "hosts");
  const text = await readOptionalText(file, "reading the hosts");
  if (text === undefined) throw new InputError("reading the hosts", file, "--hosts was given but the config folder has no hosts file");
  return { file, ...parseHostsFile(text, file) };
}
