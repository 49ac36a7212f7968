// Decides the datapath of the LANs some nodes are on, from the topology and site.conf (what every pnode reads alike).
import { datapathSettings } from "../config/datapath-conf";
import type { SiteConf } from "../config/site-conf";
import { lanNodesFromDocument } from "../model/lan-nodes";
import type { HostView, Node } from "../model/node";
import { decideDatapaths, type LanDatapath } from "../plan/datapath-plan";
import { experimentalInterfaces } from "../platforms/platform";
import { findPlatform } from "../platforms/registry";

/**
 * The datapath of every LAN the given nodes have an experimental interface on. Reads the other
 * members of those LANs (on any pnode) only when some LAN may be a kernel one. The caller passes
 * the site.conf it read (it needs it for its own settings too: one read per command).
 */
export function lanDatapaths(site: SiteConf, bytes: Uint8Array, file: string, view: HostView, nodes: readonly Node[], runDir: string): Map<string, LanDatapath> {
  const settings = datapathSettings(site);
  const names = new Set(nodes.flatMap((node) => experimentalInterfaces(node).map((nic) => nic.substrate)));
  const maybeKernel = [...names].some((name) => (view.lans.get(name)?.datapath ?? settings.datapath) === "kernel");
  // Hosts (pnodes, untyped computers) are not members a platform plugs in.
  const members = maybeKernel ? lanNodesFromDocument(bytes, file, names).nodes.filter((node) => node.nodeType !== "" && node.nodeType !== "pnode") : [];
  return decideDatapaths(names, view.lans, members, settings, (node) => findPlatform(node.nodeType)?.kernelDatapath === true, runDir);
}
