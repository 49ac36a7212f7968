// Prints an interface plan as the equivalent `ip addr`/`ip link` script: the dry run of `benito ifaces`.
import type { IfacePlan } from "./ifaces-plan";
import { quoteWord } from "./step";

/** Renders the plan as the equivalent iproute2 script (the dry run). */
export function renderIfaceScript(plan: IfacePlan, title: string): string {
  const lines = ["#!/bin/sh", `# ${title}`];
  for (const step of plan.steps) {
    const dev = quoteWord(step.ifname);
    if (step.kind === "address.delete") lines.push(`ip addr del ${step.address}/${step.prefixLength} dev ${dev}${step.iface === "" ? "  # no longer configured" : `  # ${step.iface}: replaced`}`);
    else if (step.kind === "address.add") lines.push(`ip addr add ${step.address}/${step.prefixLength} brd + dev ${dev}  # ${step.iface}`);
    else if (step.kind === "link.promote-secondaries") lines.push(`echo 1 > /proc/sys/net/ipv4/conf/${dev}/promote_secondaries  # keep others' addresses in the subnet`);
    else lines.push(`ip link set dev ${dev} up  # ${step.iface}`);
  }
  if (plan.forwarding === "enable") lines.push("echo 1 > /proc/sys/net/ipv4/ip_forward  # a router: two or more experimental interfaces");
  for (const entry of plan.entries) {
    if (entry.status === "unchanged") lines.push(`# unchanged: ${entry.iface} ${entry.address ?? ""} on ${entry.ifname}`);
    if (entry.status === "missing" || entry.status === "skipped") lines.push(`# ${entry.status}: ${entry.iface}: ${entry.note}`);
  }
  return lines.join("\n");
}
