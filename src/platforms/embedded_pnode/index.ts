// The `embedded_pnode` platform: the physical host is itself an experiment node, so its plan is its interfaces and routes.
import * as v from "valibot";
import type { Platform } from "../platform";

/** The `embedded_pnode` platform: nothing to launch or stop; `benito ifaces` and `benito routes` on the host itself. */
export const embeddedPnodePlatform: Platform = {
  names: ["embedded_pnode"],
  summary: "a physical host that is itself an experiment node: its interfaces and routes, nothing to launch",
  attributes: v.looseObject({}),
  requirements: [],
  checkNode: () => [],
  plan(node, ctx) {
    return {
      title: `configure ${node.name} (embedded pnode): interfaces and routes`,
      steps: [
        { kind: "command.run", id: "ifaces", argv: [ctx.benito, "ifaces", "--state-dir", ctx.runDir, ctx.configDir, node.name] },
        ...(ctx.routeHosts.has(node.name) ? [{ kind: "command.run" as const, id: "routes", argv: [ctx.benito, "routes", ctx.configDir, node.name] }] : []),
      ],
    };
  },
  // Addresses and routes stay: the host keeps its network when benito is asked to stop it.
  stop: (node) => ({ title: `stop ${node.name} (embedded pnode): nothing runs`, steps: [] }),
  status: () => [],
  // Its NICs are the host's own.
  nicDevice: () => ({ kind: "host-nic" }),
};
