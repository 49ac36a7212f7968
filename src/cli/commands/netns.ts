// `benito netns add|del|exec`: named network namespaces without iproute2 (the process platform's namespaces).
import { ExitCode, UsageError } from "../../errors";
import { deleteNamespace, ensureNamespace, execInNamespace } from "../../system/netns";
import type { Command } from "../command";

const help = `Usage: benito netns add NAME
       benito netns del NAME
       benito netns exec NAME [--] PROGRAM [ARG...]

Named network namespaces, interchangeable with iproute2's (both keep them in /run/netns).
add creates NAME with its loopback up (an existing NAME is left as it is); del removes it
(an absent NAME is fine); exec replaces benito with PROGRAM run inside NAME, keeping the pid,
so a pidfile written for it stays right. Unlike \`ip netns exec\`, /sys is not remounted.`;

/** The `netns` command. */
export const netnsCommand: Command = {
  name: "netns",
  summary: "create, delete or run a program in a named network namespace (no iproute2 needed)",
  help,
  async run(args, ctx) {
    const [action, name, ...rest] = args;
    if (action === "--help" || action === "-h") {
      ctx.io.out(help);
      return ExitCode.ok;
    }
    if (name === undefined) throw new UsageError("netns", "missing the namespace NAME");
    switch (action) {
      case "add":
        if (rest.length > 0) throw new UsageError("netns", `too many arguments: ${rest.join(" ")}`);
        ensureNamespace(name);
        return ExitCode.ok;
      case "del":
        if (rest.length > 0) throw new UsageError("netns", `too many arguments: ${rest.join(" ")}`);
        deleteNamespace(name);
        return ExitCode.ok;
      case "exec": {
        const argv = rest[0] === "--" ? rest.slice(1) : rest;
        if (argv.length === 0) throw new UsageError("netns", "exec needs a PROGRAM");
        // Never returns: benito becomes the program (or throws).
        return execInNamespace(name, argv);
      }
      default:
        throw new UsageError("netns", 'expected "add", "del" or "exec"');
    }
  },
};
