// `benito netns add|del|exec`: named network namespaces without iproute2 (the process platform's namespaces).
import { ExitCode, UsageError } from "../../errors";
import { deleteNamespace, ensureNamespace, execInNamespace, namespaceExists } from "../os";
import type { Command } from "../command";

const help = `Usage: benito netns [--dry-run] add NAME
       benito netns [--dry-run] del NAME
       benito netns [--dry-run] exec NAME [--] PROGRAM [ARG...]

Named network namespaces, interchangeable with iproute2's (both keep them in /run/netns).
add creates NAME with its loopback up (an existing NAME is left as it is); del removes it
(an absent NAME is fine); exec replaces benito with PROGRAM run inside NAME, keeping the pid,
so a pidfile written for it stays right. Unlike \`ip netns exec\`, /sys is not remounted.
Everything from PROGRAM on is the program's own (benito reads no --help or --debug there).

  --dry-run   print what would be done; change nothing, run nothing`;

/** The `netns` command. */
export const netnsCommand: Command = {
  name: "netns",
  help,
  childArgvStart(args) {
    const exec = args.indexOf("exec");
    return exec < 0 ? undefined : exec + 2;
  },
  async run(args, ctx) {
    const dryRun = args[0] === "--dry-run";
    const [action, name, ...rest] = dryRun ? args.slice(1) : args;
    if (name === undefined) throw new UsageError("netns", "missing the namespace NAME");
    switch (action) {
      case "add":
        if (rest.length > 0) throw new UsageError("netns", `too many arguments: ${rest.join(" ")}`);
        if (dryRun) ctx.io.out(namespaceExists(name) ? `network namespace ${name} exists: left as it is` : `would create network namespace ${name} (loopback up)`);
        else ensureNamespace(name);
        return ExitCode.ok;
      case "del":
        if (rest.length > 0) throw new UsageError("netns", `too many arguments: ${rest.join(" ")}`);
        if (dryRun) ctx.io.out(namespaceExists(name) ? `would delete network namespace ${name}` : `network namespace ${name} is absent: nothing to do`);
        else deleteNamespace(name);
        return ExitCode.ok;
      case "exec": {
        const argv = rest[0] === "--" ? rest.slice(1) : rest;
        if (argv.length === 0) throw new UsageError("netns", "exec needs a PROGRAM");
        if (dryRun) {
          ctx.io.out(`would run in network namespace ${name}: ${argv.map((word) => JSON.stringify(word)).join(" ")}`);
          return ExitCode.ok;
        }
        // Never returns: benito becomes the program (or throws).
        return execInNamespace(name, argv);
      }
      default:
        throw new UsageError("netns", 'expected "add", "del" or "exec"');
    }
  },
};
