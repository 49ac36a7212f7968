// The contract every virtualization platform fulfils: names, attribute schema, host requirements, and pure launch/stop/status plans.
import * as v from "valibot";
import type { LanDatapath } from "../plan/datapath-plan";
import type { Node } from "../model/node";
import type { Plan } from "../plan/step";

/** PlatformContext interface: the facts a plan is computed from (the plan itself is pure). */
export interface PlatformContext {
  /** The run folder (default /run/benito): sockets, pidfiles, overlays, logs live under it. */
  readonly runDir: string;
  /** The experiment's config folder (CONFIG_DIR). */
  readonly configDir: string;
  /** The benito executable that helper steps run (the running binary itself). */
  readonly benito: string;
  /** True when KVM was probed and really works; false means TCG. */
  readonly kvm: boolean;
  /** The hosts that have a route file in CONFIG_DIR (route/NAME or routes/NAME): only they get a routes step. */
  readonly routeHosts: ReadonlySet<string>;
  /** Each of the node's LANs' datapath (absent, or a LAN missing: VDE). */
  readonly datapaths?: ReadonlyMap<string, LanDatapath>;
}

/** HostRequirement type: something the host must offer for a platform, as data (checked before applying). */
export type HostRequirement =
  | { readonly kind: "program"; readonly name: string; readonly why: string }
  | { readonly kind: "device"; readonly path: string; readonly why: string };

/** StatusCheck type: one thing `status` looks at (evaluated by src/apply, through src/system). */
export type StatusCheck =
  | { readonly kind: "process"; readonly label: string; readonly pidfile: string; readonly program: string; readonly netns?: string }
  | { readonly kind: "netns"; readonly label: string; readonly name: string }
  | { readonly kind: "qmp"; readonly label: string; readonly socket: string }
  /** A link in the pnode's namespace: healthy when it exists, is up, and (when given) is a port of that bridge. */
  | { readonly kind: "link"; readonly label: string; readonly name: string; readonly master?: string }
  /**
   * A port of the pnode's forwarder (RUN_DIR/forwarder) on switch folder switchDir: healthy when
   * the forwarder runs, the port is open, and it is on the pool member a boot would put it on.
   */
  | { readonly kind: "forwarder-port"; readonly label: string; readonly runDir: string; readonly port: string; readonly switchDir: string; readonly program: string }
  /**
   * A benito dry run (`ifaces`, `routes` with --json) looking into the node's namespace (--netns):
   * drift when its JSON summary counts a change under one of changeKeys (an address or route
   * deleted, a NIC set down).
   */
  | { readonly kind: "dry-run"; readonly label: string; readonly netns: string; readonly command: "ifaces" | "routes"; readonly args: readonly string[]; readonly changeKeys: readonly string[] };

/**
 * NicDevice type: where the pnode reaches the frames of one of a node's NICs (`benito capture`):
 * a device (inside a named network namespace when netns is given), the host's own NIC found as
 * `benito ifaces` finds it (by MAC, else benito:ifname), or none, with the reason.
 */
export type NicDevice =
  | { readonly kind: "device"; readonly device: string; readonly netns?: string }
  | { readonly kind: "host-nic" }
  | { readonly kind: "none"; readonly reason: string };

/** A node attribute problem: where (line, path into the document) and what. */
export interface AttributeProblem {
  readonly line: number;
  readonly path: string;
  readonly message: string;
}

/** The attribute record a platform schema sees: `benito:` keys (Containers-era `containers:` keys renamed). */
export type AttributeRecord = Readonly<Record<string, string>>;

/**
 * Platform interface: one virtualization platform. A platform is one folder under
 * src/platforms/ and one line in src/platforms/registry.ts; test/platforms/conformance.ts holds
 * every registered platform to the same rules.
 */
export interface Platform {
  /** The `benito:node_type` values it serves (the first is its own name). */
  readonly names: readonly string[];
  /** One line for listings. */
  readonly summary: string;
  /** Valibot schema over the node's attribute record (its own `benito:` keys; other keys pass through). */
  readonly attributes: v.GenericSchema;
  /** What the host must have for {@link plan} to be applied. */
  readonly requirements: readonly HostRequirement[];
  /**
   * True when its NICs can be ports of a kernel LAN's bridge (datapath = kernel). A platform
   * without it needs a VDE socket (e.g. QEMU's own `-netdev vde`), and every LAN it is on stays
   * on VDE on every pnode (src/plan/datapath-plan.ts).
   */
  readonly kernelDatapath?: boolean;
  /** What one node needs besides {@link requirements} (e.g. the emulator its attributes choose). */
  readonly nodeRequirements?: (node: Node) => readonly HostRequirement[];
  /**
   * Problems the schema cannot see (e.g. per-interface values); empty when the node is fine.
   * `datapaths` (each LAN's decided datapath, when the caller knows them: boot's validation, a
   * launch) lets it check what depends on them, such as a VDE switch for a NIC on a VDE LAN.
   */
  checkNode(node: Node, datapaths?: ReadonlyMap<string, LanDatapath>): readonly AttributeProblem[];
  /** The steps that bring the node up. Pure: same node and context, same plan. Call only on a node with no problems. */
  plan(node: Node, ctx: PlatformContext): Plan;
  /** The steps that take it down again (the inverse of {@link plan}, reverse order). */
  stop(node: Node, ctx: PlatformContext): Plan;
  /** What to look at to tell whether it runs. */
  status(node: Node, ctx: PlatformContext): readonly StatusCheck[];
  /** Where the pnode reaches the frames of the node's NIC (an experimental interface of it), given its LAN's datapath. */
  nicDevice(node: Node, nic: Node["interfaces"][number], datapath?: LanDatapath): NicDevice;
}

/** Reads a `benito:KEY` attribute of a node, falling back to the Containers-era `containers:KEY`. */
export function attribute(node: Node, key: string): string | undefined {
  return node.attributes.get(`benito:${key}`) ?? node.attributes.get(`containers:${key}`);
}

/** The node's attributes as the platform schema sees them: `containers:K` renamed `benito:K` (a `benito:K` wins). */
export function attributeRecord(node: Node): AttributeRecord {
  const record: Record<string, string> = {};
  for (const [key, value] of node.attributes) {
    const name = key.startsWith("containers:") ? `benito:${key.slice("containers:".length)}` : key;
    if (key.startsWith("containers:") && node.attributes.has(name)) continue;
    record[name] = value;
  }
  return record;
}

/** Every problem of a node for a platform: schema issues (one per attribute) and the platform's own checks. */
export function nodeProblems(platform: Platform, node: Node, datapaths?: ReadonlyMap<string, LanDatapath>): AttributeProblem[] {
  const problems: AttributeProblem[] = [];
  const result = v.safeParse(platform.attributes, attributeRecord(node));
  if (!result.success) {
    for (const issue of result.issues) {
      const key = v.getDotPath(issue) ?? "attributes";
      problems.push({ line: node.line, path: `${node.path}.attribute[${key}]`, message: `${key}: ${issue.message}` });
    }
  }
  problems.push(...platform.checkNode(node, datapaths));
  return problems;
}

/** The experimental interfaces of a node (control-net interfaces left out), in TopDL order. */
export function experimentalInterfaces(node: Node): Node["interfaces"] {
  return node.interfaces.filter((nic) => !nic.control);
}

/** A positive whole number given as text, checked by a valibot pipe (used by platform schemas). */
export function wholeNumberText(min: number, max: number, what: string) {
  return v.pipe(
    v.string(),
    v.regex(/^\d+$/, `${what} must be a whole number`),
    // Text that is no number was reported by the regex already: one problem per value.
    v.check((text) => !/^\d+$/.test(text) || (Number(text) >= min && Number(text) <= max), `${what} must be between ${min} and ${max}`),
  );
}
