// The one list of every `benito` command. Add a command: one file in src/cli/commands/, one line here.
import type { Command } from "./command";

/**
 * CommandEntry interface: what `benito --help` lists, and how to load the command. A command's
 * modules are read and evaluated only when that command runs (the binary is built with code
 * splitting, scripts/compile.ts): a 0-route `routes` run peaks at about 37 MB RSS, not 40.5
 * (bench/README.md).
 */
export interface CommandEntry {
  /** The word after `benito`, e.g. "topdl" (the command's own name). */
  readonly name: string;
  /** One line for `benito --help`. */
  readonly summary: string;
  /** Loads the command's module; the same Command every time. */
  readonly load: () => Promise<Command>;
}

/** Every command, in the order `benito --help` lists them. */
export const commands: readonly CommandEntry[] = [
  { name: "boot", summary: "bring up everything this host's role needs (init-script entry point)", load: async () => (await import("./commands/boot")).bootCommand },
  { name: "status", summary: "show desired vs actual state for this host; exit 1 on drift", load: async () => (await import("./commands/status")).statusCommand },
  { name: "down", summary: "undo boot: children, control bridge, switches, then own routes and addresses", load: async () => (await import("./commands/down")).downCommand },
  // The experimenter's tools on a running experiment.
  { name: "link", summary: "show or change a running experiment's link shaping live (wirefilter), or reset it", load: async () => (await import("./commands/link")).linkCommand },
  { name: "capture", summary: "capture a vnode interface's frames as pcap (for tcpdump -r or Wireshark)", load: async () => (await import("./commands/capture")).captureCommand },
  { name: "exec", summary: "run a program inside a vnode (its network namespace), with its exit code", load: async () => (await import("./commands/exec")).execCommand },
  { name: "topdl", summary: "validate, count, show or draw TopDL documents", load: async () => (await import("./commands/topdl")).topdlCommand },
  { name: "routes", summary: "install this host's static routes (drop-in for routes.py)", load: async () => (await import("./commands/routes")).routesCommand },
  { name: "ifaces", summary: "give this host's experimental NICs their addresses and bring them up", load: async () => (await import("./commands/ifaces")).ifacesCommand },
  { name: "switch", summary: "start, stop or list this pnode's VDE switches and wirefilter shaping", load: async () => (await import("./commands/switch")).switchCommand },
  { name: "tap", summary: "create or delete a persistent TAP device (vde_tunctl replacement)", load: async () => (await import("./commands/tap")).tapCommand },
  { name: "vde", summary: "plug TAPs into vde_switch ports natively: one plug, or the pnode's forwarder", load: async () => (await import("./commands/vde")).vdeCommand },
  { name: "vm", summary: "launch, stop or query a vnode (qemu, process, embedded_pnode) from the topology", load: async () => (await import("./commands/vm")).vmCommand },
  { name: "control-bridge", summary: "bridge the pnode's control NIC with its VMs' control TAPs, transactionally", load: async () => (await import("./commands/control-bridge")).controlBridgeCommand },
  { name: "control-net", summary: "allocate the control IPv4 addresses and MACs of the VMs hosted here", load: async () => (await import("./commands/control-net")).controlNetCommand },
  { name: "guest-config", summary: "read the config disk inside a VM (or build it on the pnode)", load: async () => (await import("./commands/guest-config")).guestConfigCommand },
  { name: "netns", summary: "create, delete or run a program in a named network namespace (no iproute2 needed)", load: async () => (await import("./commands/netns")).netnsCommand },
  { name: "install", summary: "put benito into an image root: binary, routes.py drop-in, init integration", load: async () => (await import("./commands/install")).installCommand },
  { name: "uninstall", summary: "remove what benito install put into an image root", load: async () => (await import("./commands/uninstall")).uninstallCommand },
];

/** Looks a command's entry up by name. */
function findCommand(name: string): CommandEntry | undefined {
  return commands.find((command) => command.name === name);
}

/** Loads the command of that name (undefined when there is none). */
export async function loadCommand(name: string): Promise<Command | undefined> {
  return findCommand(name)?.load();
}

/**
 * Executable names that select a command by themselves (multi-call): a copy or link of the
 * binary named `routes.py` is a drop-in for the original `routes.py CONFIG_DIR [HOSTNAME]`.
 */
export const multiCallNames: Readonly<Record<string, string>> = {
  "routes.py": "routes",
  routes: "routes",
};
