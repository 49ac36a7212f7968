// The steps a plan is made of: plain data, printable as a dry run, run by src/apply through src/system.

/** Where a process runs: the host, or inside a named network namespace. */
export interface Placement {
  /** Network namespace name; absent = the namespace benito runs in. */
  readonly netns?: string;
}

/**
 * Step type: one thing to do. Every variant is plain data; `kind` is a dotted lower-case word so
 * the dry run reads naturally. Processes are argv arrays (never a shell command line).
 */
export type Step =
  | { readonly kind: "netns.create"; readonly id: string; readonly name: string }
  | { readonly kind: "netns.delete"; readonly id: string; readonly name: string }
  | { readonly kind: "tap.create"; readonly id: string; readonly name: string; readonly mac?: string; readonly owner?: number; readonly placement?: Placement }
  | { readonly kind: "tap.delete"; readonly id: string; readonly name: string; readonly placement?: Placement }
  | { readonly kind: "dir.create"; readonly id: string; readonly path: string }
  | { readonly kind: "file.write"; readonly id: string; readonly path: string; readonly content: string }
  | { readonly kind: "file.delete"; readonly id: string; readonly path: string }
  /** Removes a folder that must be empty by then (never recursive). */
  | { readonly kind: "dir.delete"; readonly id: string; readonly path: string }
  /** A copy-on-write qcow2 overlay over a base image (`qemu-img create -b`): the base is never written. */
  | { readonly kind: "disk.overlay"; readonly id: string; readonly base: string; readonly baseFormat: "qcow2" | "raw"; readonly path: string }
  /** A read-only guest config disk: a ustar archive of CONFIG_DIR plus the guest's hostname (see src/guest/config-disk.ts). */
  | { readonly kind: "config.disk"; readonly id: string; readonly configDir: string; readonly hostname: string; readonly path: string }
  /** Asks a VM to power off over QMP (`system_powerdown`), waits up to graceMs, then SIGKILLs the pid in the pidfile. */
  | { readonly kind: "vm.powerdown"; readonly id: string; readonly qmp: string; readonly pidfile: string; readonly program: string; readonly graceMs: number }
  /** A Linux bridge joining existing links (created when absent; members attached and set up). */
  | { readonly kind: "bridge.create"; readonly id: string; readonly name: string; readonly members: readonly string[] }
  | { readonly kind: "bridge.delete"; readonly id: string; readonly name: string }
  | {
      readonly kind: "process.start";
      readonly id: string;
      /** Program and arguments; argv[0] is a program path or name, never a shell. */
      readonly argv: readonly string[];
      /** The pidfile that identifies the process (stop and status go by it, never by name). */
      readonly pidfile: string;
      /** Where stdout/stderr go. */
      readonly log?: string;
      readonly placement?: Placement;
      /** A file that must exist before the process counts as started (e.g. a socket), with a bounded wait. */
      readonly readyPath?: string;
      readonly readyTimeoutMs?: number;
      /** True when the program forks itself and writes the pidfile (qemu -daemonize, benito vde plug --daemon). */
      readonly daemonizes?: boolean;
      /**
       * Steps of the same plan whose real work (not "already there") means this process must be
       * restarted when a convergent launch finds it running (its TAP or namespace was remade).
       */
      readonly restartWhen?: readonly string[];
    }
  | {
      readonly kind: "process.stop";
      readonly id: string;
      readonly pidfile: string;
      readonly graceMs: number;
      /** The program's base name: a pidfile whose pid now runs something else is not signalled. */
      readonly program?: string;
      /** Instead of the program: the pid must be in this network namespace (a vnode's startup). */
      readonly netns?: string;
    }
  | { readonly kind: "command.run"; readonly id: string; readonly argv: readonly string[]; readonly placement?: Placement; readonly log?: string }
  /**
   * A TAP ↔ switch port moved by the pnode's forwarder (`benito vde forwarder`, started when it
   * does not run): recorded under RUN_DIR/forwarder/ports/PORT.json, then opened live.
   */
  | {
      readonly kind: "forwarder.port";
      readonly id: string;
      readonly runDir: string;
      /** The record's id (file-name safe, unique on the pnode). */
      readonly port: string;
      readonly tap: string;
      readonly placement?: Placement;
      readonly switchDir: string;
      readonly switchPort: number;
      readonly owner: string;
      /** Steps whose real work in a convergent launch (a remade TAP or namespace) means the port is closed and opened again. */
      readonly restartWhen?: readonly string[];
    }
  /**
   * A TAP on a kernel LAN's bridge for a hypervisor to open by name: made persistent when absent,
   * marked with alias (benito's kernel datapath mark), a port of bridge and up. Convergent: one
   * that is there and marked is kept (re-enslaved, set up).
   */
  | { readonly kind: "kernel.tap"; readonly id: string; readonly name: string; readonly bridge: string; readonly alias: string }
  /**
   * A process NIC on a kernel LAN: a veth pair, peer (with mac) in namespace netns, the host end
   * name marked with alias, a port of bridge and up. Convergent: a host end that is there is kept
   * (re-enslaved, set up); one a crash left unmarked (a veth of this derived name) is marked.
   */
  | { readonly kind: "kernel.veth"; readonly id: string; readonly name: string; readonly peer: string; readonly mac?: string; readonly netns: string; readonly bridge: string; readonly alias: string }
  /**
   * A kernel LAN member's shaping, applied whole and idempotently (so a relaunch can run it again):
   * egress (tc qdisc args) as the port's root qdisc (LAN → member); the port's ingress qdisc made
   * afresh and redirected to the IFB (made and marked when absent), whose root qdisc is ingress
   * (member → LAN).
   */
  | { readonly kind: "kernel.shape"; readonly id: string; readonly port: string; readonly alias: string; readonly egress?: readonly string[]; readonly ifb: string; readonly ingress: readonly string[] }
  /** Deletes a link benito made (a veth pair's host end, an IFB) when it is there and carries benito's kernel datapath mark. */
  | { readonly kind: "link.delete"; readonly id: string; readonly name: string }
  /** Closes a forwarder port (when the forwarder runs) and removes its record. */
  | { readonly kind: "forwarder.unport"; readonly id: string; readonly runDir: string; readonly port: string };

/** Plan interface: ordered steps (dependency order already resolved) with a title. */
export interface Plan {
  /** What the plan is for, e.g. "launch vnode a on qemu". */
  readonly title: string;
  readonly steps: readonly Step[];
}

/** Quotes one word for the printed dry run (the output is for reading; nothing executes it through a shell). */
export function quoteWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Renders one step as a shell-like line for the dry run. */
export function renderStep(step: Step): string {
  const inNs = (placement?: Placement) => (placement?.netns ? `benito netns exec ${quoteWord(placement.netns)} -- ` : "");
  switch (step.kind) {
    case "netns.create":
      return `benito netns add ${quoteWord(step.name)}`;
    case "netns.delete":
      return `benito netns del ${quoteWord(step.name)}`;
    case "tap.create":
      return `${inNs(step.placement)}benito tap create ${quoteWord(step.name)}${step.mac ? ` --mac ${step.mac}` : ""}${step.owner !== undefined ? ` --owner ${step.owner}` : ""}`;
    case "tap.delete":
      return `${inNs(step.placement)}benito tap delete ${quoteWord(step.name)}`;
    case "dir.create":
      return `mkdir -p ${quoteWord(step.path)}`;
    case "file.write":
      return `write ${quoteWord(step.path)} (${step.content.length} bytes)`;
    case "file.delete":
      return `rm -f ${quoteWord(step.path)}`;
    case "dir.delete":
      return `rmdir ${quoteWord(step.path)}`;
    case "disk.overlay":
      return `qemu-img create -q -f qcow2 -F ${step.baseFormat} -b ${quoteWord(step.base)} ${quoteWord(step.path)}`;
    case "config.disk":
      return `benito guest-config --build ${quoteWord(step.configDir)} --hostname ${quoteWord(step.hostname)} --out ${quoteWord(step.path)}`;
    case "vm.powerdown":
      return `qmp ${quoteWord(step.qmp)} system_powerdown  # SIGKILL $(cat ${quoteWord(step.pidfile)}) after ${step.graceMs} ms`;
    case "bridge.create":
      return [`ip link add ${quoteWord(step.name)} type bridge`, ...step.members.map((member) => `ip link set ${quoteWord(member)} master ${quoteWord(step.name)} up`), `ip link set ${quoteWord(step.name)} up`].join("; ");
    case "bridge.delete":
      return `ip link del ${quoteWord(step.name)}`;
    case "process.start":
      return `${inNs(step.placement)}${step.argv.map(quoteWord).join(" ")}  # pidfile ${step.pidfile}`;
    case "process.stop":
      return `kill $(cat ${quoteWord(step.pidfile)})  # SIGTERM, SIGKILL after ${step.graceMs} ms`;
    case "command.run":
      return `${inNs(step.placement)}${step.argv.map(quoteWord).join(" ")}`;
    case "forwarder.port":
      return `forwarder port ${quoteWord(step.port)}: ${step.placement?.netns ? `${quoteWord(step.placement.netns)}/` : ""}${quoteWord(step.tap)} <-> ${quoteWord(step.switchDir)} port ${step.switchPort} --reconnect  # ${quoteWord(step.runDir)}/forwarder`;
    case "kernel.veth":
      return `ip link add ${quoteWord(step.name)} type veth peer name ${quoteWord(step.peer)}${step.mac === undefined ? "" : ` address ${step.mac}`} netns ${quoteWord(step.netns)}; ip link set ${quoteWord(step.name)} alias ${quoteWord(step.alias)} master ${quoteWord(step.bridge)} up`;
    case "kernel.tap":
      return `benito tap create ${quoteWord(step.name)}; ip link set ${quoteWord(step.name)} alias ${quoteWord(step.alias)} master ${quoteWord(step.bridge)} up`;
    case "kernel.shape":
      return [
        ...(step.egress === undefined ? [] : [`tc qdisc replace dev ${quoteWord(step.port)} root ${step.egress.map(quoteWord).join(" ")}`]),
        `ip link add ${quoteWord(step.ifb)} type ifb`,
        `ip link set ${quoteWord(step.ifb)} alias ${quoteWord(step.alias)} up`,
        `tc qdisc del dev ${quoteWord(step.port)} ingress`,
        `tc qdisc add dev ${quoteWord(step.port)} handle ffff: ingress`,
        `tc filter add dev ${quoteWord(step.port)} parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev ${quoteWord(step.ifb)}`,
        `tc qdisc replace dev ${quoteWord(step.ifb)} root ${step.ingress.map(quoteWord).join(" ")}`,
      ].join("; ");
    case "link.delete":
      return `ip link del ${quoteWord(step.name)}  # when it carries benito's mark`;
    case "forwarder.unport":
      return `forwarder unport ${quoteWord(step.port)}  # ${quoteWord(step.runDir)}/forwarder`;
  }
}

/**
 * In a teardown, a TAP a later step's namespace deletion takes with it (the kernel's own batched
 * cleanup) is not deleted on its own — each deletion would cost an RCU grace period (~20 ms):
 * the note a run prints instead, or undefined when step `index` is deleted as planned.
 */
export function removedWithNamespace(steps: readonly Step[], index: number): string | undefined {
  const step = steps[index];
  const netns = step?.kind === "tap.delete" ? step.placement?.netns : undefined;
  if (netns === undefined || netns === "") return undefined;
  const later = steps.some((other, position) => position > index && other.kind === "netns.delete" && other.name === netns);
  return later ? `# removed with its namespace ${netns} (netns.delete below)` : undefined;
}
