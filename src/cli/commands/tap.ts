// `benito tap create|delete NAME`: persistent TAP devices, the native replacement for vde_tunctl.
import { ExitCode, UsageError } from "../../errors";
import { createTap, deleteTap, interfaceExists, parseMac, validateInterfaceName } from "../os";
import type { TapOptions } from "../os";
import { parseCommandArgs } from "../args";
import type { Command } from "../command";

const help = `Usage: benito tap create NAME [--dry-run] [--owner UID] [--group GID] [--mac MAC]
       benito tap delete NAME [--dry-run]

Creates or deletes a persistent TAP device (IFF_TAP, no packet-info header) in the current
network namespace, like vde_tunctl. create on an existing TAP applies the settings again.

Options:
  --dry-run     print what would be done; change nothing
Options (create):
  --owner UID   numeric user allowed to attach to the TAP without privileges
  --group GID   numeric group allowed to attach
  --mac MAC     MAC address (six hex bytes, e.g. 02:00:0a:01:01:02)

NAME is an interface name: at most 15 bytes, no "/", ":", "%", whitespace, "." or "..";
anything else is an input error (exit 3).`;

const options = {
  "dry-run": { type: "boolean" },
  owner: { type: "string" },
  group: { type: "string" },
  mac: { type: "string" },
} as const;

function numericId(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > 0xfffffffe) throw new UsageError("tap", `--${name} wants a numeric id, got "${value}"`);
  return Number(value);
}

/** The `tap` command. */
export const tapCommand: Command = {
  name: "tap",
  help,
  async run(args, ctx) {
    const { values, positionals } = parseCommandArgs("tap", args, options, 2);
    const [action, name] = positionals;
    if (action !== "create" && action !== "delete") throw new UsageError("tap", 'expected "create" or "delete"');
    if (name === undefined) throw new UsageError("tap", "missing the TAP name");
    validateInterfaceName(name);
    if (action === "delete") {
      if (values.owner !== undefined || values.group !== undefined || values.mac !== undefined) {
        throw new UsageError("tap", "--owner, --group and --mac apply to create only");
      }
      if (values["dry-run"] === true) {
        ctx.io.out(interfaceExists(name) ? `would delete TAP ${name}` : `TAP ${name} is absent: nothing to do`);
        return ExitCode.ok;
      }
      deleteTap(name);
      ctx.io.out(`deleted TAP ${name}`);
      return ExitCode.ok;
    }
    const tapOptions: TapOptions = {
      owner: numericId("owner", values.owner),
      group: numericId("group", values.group),
      mac: values.mac === undefined ? undefined : parseMac(values.mac),
    };
    if (values["dry-run"] === true) {
      const settings = [tapOptions.owner !== undefined && `owner ${tapOptions.owner}`, tapOptions.group !== undefined && `group ${tapOptions.group}`, values.mac !== undefined && `mac ${values.mac}`].filter(Boolean).join(", ");
      ctx.io.out(`would ${interfaceExists(name) ? "update" : "create"} TAP ${name}${settings ? ` (${settings})` : ""}`);
      return ExitCode.ok;
    }
    const outcome = createTap(name, tapOptions);
    ctx.io.out(`${outcome} TAP ${name}`);
    return ExitCode.ok;
  },
};
