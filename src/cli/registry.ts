// The one list of every `benito` command. Add a command: one file in src/cli/commands/, one line here.
import type { Command } from "./command";
import { bootCommand } from "./commands/boot";
import { captureCommand } from "./commands/capture";
import { downCommand } from "./commands/down";
import { execCommand } from "./commands/exec";
import { statusCommand } from "./commands/status";
import { controlBridgeCommand } from "./commands/control-bridge";
import { controlNetCommand } from "./commands/control-net";
import { guestConfigCommand } from "./commands/guest-config";
import { linkCommand } from "./commands/link";
import { installCommand } from "./commands/install";
import { uninstallCommand } from "./commands/uninstall";
import { ifacesCommand } from "./commands/ifaces";
import { netnsCommand } from "./commands/netns";
import { routesCommand } from "./commands/routes";
import { switchCommand } from "./commands/switch";
import { tapCommand } from "./commands/tap";
import { topdlCommand } from "./commands/topdl";
import { vdeCommand } from "./commands/vde";
import { vmCommand } from "./commands/vm";

/** Every command, in the order `benito --help` lists them. */
export const commands: readonly Command[] = [
  bootCommand,
  statusCommand,
  downCommand,
  // The experimenter's tools on a running experiment.
  linkCommand,
  captureCommand,
  execCommand,
  topdlCommand,
  routesCommand,
  ifacesCommand,
  switchCommand,
  tapCommand,
  vdeCommand,
  vmCommand,
  controlBridgeCommand,
  controlNetCommand,
  guestConfigCommand,
  netnsCommand,
  installCommand,
  uninstallCommand,
];

/** Looks a command up by name. */
export function findCommand(name: string): Command | undefined {
  return commands.find((command) => command.name === name);
}

/**
 * Executable names that select a command by themselves (multi-call): a copy or link of the
 * binary named `routes.py` is a drop-in for the original `routes.py CONFIG_DIR [HOSTNAME]`.
 */
export const multiCallNames: Readonly<Record<string, string>> = {
  "routes.py": "routes",
  routes: "routes",
};
