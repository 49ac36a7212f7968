// `benito topdl validate|stats|show`: check, count and print TopDL documents.
import { BenitoError, ExitCode, UsageError } from "../../errors";
import { basename, dirname } from "node:path";
import { checkSiteConfFile } from "../../config/config-dir";
import { validateExperiment } from "../../plan/validate";
import { readFileBytes } from "../os";
import { checkNodes } from "../../model/resolve";
import { checkTopology, defaultMaxBytes, parseTopology, type ParseOptions } from "../../topdl/parse";
import { byLine, formatProblem, keptPerKind, kindOf, type Omitted } from "../../topdl/problems";
import { jsonText, printable } from "../../topdl/printable";
import type { Element, Problem, Substrate, Topology } from "../../topdl/types";
import { hostViewFromDocument } from "../../model/host-view";
import type { HostView, Node } from "../../model/node";
import { parseCommandArgs } from "../args";
import { byteSize } from "../byte-size";
import type { Command, CommandContext } from "../command";
import { graphHelp, topdlGraph } from "./topdl-graph";

const help = `Usage:
  benito topdl validate FILE... [--strict] [--json] [--top NAME] [--max-bytes N]
  benito topdl stats FILE [--json] [--top NAME] [--max-bytes N]
  benito topdl show FILE [--host NAME] [--json] [--top NAME] [--max-bytes N]
  benito topdl graph FILE [--format dot|mermaid|svg] [--top NAME] [--max-bytes N]

Reads DETER TopDL documents (v1 and v2). The topology is the first <experiment> element, at
the root or nested (e.g. inside a SOAP envelope). FILE "-" is standard input; anything other
than a regular file (a FIFO, device, directory or socket) is refused.

validate   Checks every FILE and prints every problem as
             FILE:LINE: PATH: MESSAGE          (an error)
             FILE:LINE: PATH: warning: MESSAGE (a warning)
           then one summary line per file; at most 20 problems of one kind are printed, then
           "… and N more like: KIND". Exit 0 when every file is valid, 1 when a file could
           not be read, 3 otherwise. Besides TopDL itself it runs the checks boot runs before
           any change (names, vnode placement, switch ports, MACs and addresses used twice,
           network/broadcast addresses), and for a FILE named topo.xml
           the site.conf next to it.
           With --json it prints one JSON object per file, one per line (JSON Lines):
             {"file":F,"valid":BOOL,"errors":[{"line","path","message"}…],"warnings":[…],
              "errorCount":N,"warningCount":N,"omitted":[{"kind","severity","total"}…]}
           holding the first 1,000 problems of each kind ("omitted" lists the kinds with more).
stats      Counts the top level (not inside fragments): version, substrates, elements,
           computers, interfaces, regions, fragments. --json prints them as one object.
show       Prints the normalized topology. With --host NAME, prints that element (found by
           name or localname; node.eid.pid also finds node): its interfaces with their
           substrates and attributes, and what benito makes of it (node type, host, vnodes it
           hosts). Only the parts of the document this host needs are read, as at boot.
${graphHelp}

Options:
  --strict       Warnings count as errors.
  --json         Machine-readable output.
  --top NAME     Read the first <NAME> element instead of <experiment> (e.g. topology).
  --max-bytes N  Refuse files larger than N bytes (default ${defaultMaxBytes}, 64 MiB); a unit
                 may follow: 512K, 64M, 1G (at most).
  --host NAME    (show) The one host to print.

Never fetched or expanded: external DTDs, entities (a DOCTYPE with an internal subset is
refused). Invalid UTF-8 is reported with its byte offset. Control characters from the
document are printed escaped (\\x1b).`;

const options = {
  strict: { type: "boolean" },
  json: { type: "boolean" },
  top: { type: "string" },
  "max-bytes": { type: "string" },
  host: { type: "string" },
} as const;

/** The `topdl` command. */
export const topdlCommand: Command = {
  name: "topdl",
  help,
  async run(args, ctx) {
    const [sub, ...rest] = args;
    if (sub === "graph") return topdlGraph(rest, ctx);
    const parsed = parseCommandArgs("topdl", joinNegativeValues(rest), options);
    const files = parsed.positionals;
    const values = parsed.values;
    const parseOptions: ParseOptions = {
      strict: values.strict === true,
      maxBytes: values["max-bytes"] === undefined ? defaultMaxBytes : byteSize(`topdl ${sub ?? ""}`.trim(), "max-bytes", values["max-bytes"]),
      ...(values.top !== undefined && { top: values.top }),
    };
    if (sub === undefined) throw new UsageError("topdl", "missing subcommand: validate, stats, show or graph");
    if (sub !== "show" && values.host !== undefined) throw new UsageError(`topdl ${sub}`, "--host is only for show");
    if (files.length === 0) throw new UsageError(`topdl ${sub}`, "missing FILE");
    if (sub === "validate") return validate(files, parseOptions, values.json === true, ctx);
    if (files.length > 1) throw new UsageError(`topdl ${sub}`, `one FILE only, got ${files.length}`);
    const file = files[0]!;
    if (sub === "stats") return stats(file, parseOptions, values.json === true, ctx);
    if (sub === "show") return show(file, parseOptions, values.host, values.json === true, ctx);
    throw new UsageError("topdl", `unknown subcommand "${sub}": validate, stats, show or graph`);
  },
};

/**
 * `--max-bytes -1` would be refused by the option parser as "ambiguous" (is -1 an option?):
 * joined as `--max-bytes=-1`, it reaches byteSize, which says what it wants instead.
 */
function joinNegativeValues(args: readonly string[]): string[] {
  const joined: string[] = [];
  for (let k = 0; k < args.length; k += 1) {
    const next = args[k + 1];
    if (args[k] === "--max-bytes" && next !== undefined && /^-\d/.test(next)) {
      joined.push(`--max-bytes=${next}`);
      k += 1;
    } else joined.push(args[k]!);
  }
  return joined;
}

async function load(file: string, parseOptions: ParseOptions): Promise<Uint8Array> {
  return readFileBytes(file, "reading the topology", parseOptions.maxBytes);
}

/** How many problems of one kind `validate` prints before "… and N more" (JSON keeps problems.ts keptPerKind). */
const printedPerKind = 20;

async function validate(files: readonly string[], parseOptions: ParseOptions, json: boolean, ctx: CommandContext): Promise<ExitCode> {
  let allValid = true;
  let unreadable = false;
  for (const file of files) {
    let errors: readonly Problem[];
    let warnings: readonly Problem[];
    let omitted: readonly Omitted[] = [];
    try {
      const result = checkTopology(await load(file, parseOptions), file, parseOptions);
      errors = result.errors;
      warnings = result.warnings;
      omitted = result.omitted ?? [];
      // A well-formed document is also checked for the values benito reads (addresses, MACs,
      // ports, loss) and by the validator boot uses (names, placement, ports, MACs and addresses
      // taken twice; a topo.xml's sibling site.conf too), so one run lists every problem boot would meet.
      if (result.topology !== undefined && errors.length === 0) {
        const { nodes, problems } = checkNodes(result.topology);
        const site = basename(file) === "topo.xml" ? await checkSiteConfFile(dirname(file)) : undefined;
        const validation = validateExperiment({ topology: result.topology, nodes, ...(site !== undefined && { site }) });
        errors = byLine([...problems, ...validation.errors, ...(parseOptions.strict === true ? validation.warnings : [])]);
        if (parseOptions.strict !== true) warnings = [...warnings, ...validation.warnings];
      }
    } catch (error) {
      // A file that cannot be read is reported like an invalid one; the other files are still checked.
      if (!(error instanceof BenitoError)) throw error;
      if (error.exitCode !== ExitCode.input) unreadable = true;
      errors = [{ file, line: 0, path: "", message: error.reason }];
      warnings = [];
    }
    const valid = errors.length === 0 && omitted.every((kind) => kind.severity !== "error");
    allValid &&= valid;
    const total = (severity: "error" | "warning", kept: readonly Problem[]): number =>
      kept.length + omitted.filter((kind) => kind.severity === severity).reduce((sum, kind) => sum + kind.total - keptPerKind, 0);
    if (json) {
      const strip = ({ line, path, message }: Problem) => ({ line, path, message });
      const counts = { errorCount: total("error", errors), warningCount: total("warning", warnings) };
      const more = omitted.length > 0 ? { omitted } : {};
      ctx.io.out(jsonText({ file, valid, errors: errors.map(strip), warnings: warnings.map(strip), ...counts, ...more }));
      continue;
    }
    printCapped(errors, omitted, "", ctx);
    printCapped(warnings, omitted, "warning: ", ctx);
    const counts = [plural(total("error", errors), "error"), plural(total("warning", warnings), "warning")].join(", ");
    ctx.io.out(`${printable(file)}: ${valid ? "valid" : "INVALID"} (${counts})`);
  }
  if (unreadable) return ExitCode.failed;
  return allValid ? ExitCode.ok : ExitCode.input;
}

/**
 * Prints problems in line order, at most printedPerKind of each kind, then one line per capped
 * kind: "FILE: warning: … and N more like: KIND" (N counts those the result did not keep too).
 */
function printCapped(problems: readonly Problem[], omitted: readonly Omitted[], prefix: string, ctx: CommandContext): void {
  const severity = prefix === "" ? "error" : "warning";
  const totals = new Map(omitted.filter((kind) => kind.severity === severity).map((kind) => [kind.kind, kind.total]));
  const printed = new Map<string, number>();
  for (const problem of problems) {
    const kind = kindOf(problem.message);
    const count = (printed.get(kind) ?? 0) + 1;
    printed.set(kind, count);
    if (count <= printedPerKind) ctx.io.out(formatProblem({ ...problem, message: `${prefix}${problem.message}` }));
  }
  const file = problems[0]?.file ?? "";
  for (const [kind, count] of printed) {
    const all = totals.get(kind) ?? count;
    if (all > printedPerKind) ctx.io.out(printable(`${file}: ${prefix}… and ${all - printedPerKind} more like: ${kind}`));
  }
}

async function stats(file: string, parseOptions: ParseOptions, json: boolean, ctx: CommandContext): Promise<ExitCode> {
  const topology = parseTopology(await load(file, parseOptions), file, parseOptions);
  const counts = countTopology(topology);
  if (json) ctx.io.out(jsonText(counts));
  else for (const [key, value] of Object.entries(counts)) ctx.io.out(`${key}: ${value}`);
  return ExitCode.ok;
}

/** The `stats` figures: the top level only. */
export function countTopology(topology: Topology) {
  return {
    version: topology.version,
    substrates: topology.substrates.length,
    elements: topology.elements.length,
    computers: topology.elements.filter((element) => element.kind === "computer").length,
    interfaces: topology.elements.reduce((sum, element) => sum + element.interfaces.length, 0),
    regions: topology.counts.regions,
    fragments: topology.counts.fragments,
  };
}

async function show(file: string, parseOptions: ParseOptions, host: string | undefined, json: boolean, ctx: CommandContext): Promise<ExitCode> {
  const bytes = await load(file, parseOptions);
  if (host === undefined) {
    const topology = parseTopology(bytes, file, parseOptions);
    if (json) ctx.io.out(jsonText(topology, 2));
    else ctx.io.out(describeTopology(topology));
    return ExitCode.ok;
  }
  const { view, topology } = hostViewFromDocument(bytes, file, host, parseOptions);
  const element = topology.elements.find((candidate) => candidate.name === view.self.name)!;
  const used = new Set(element.interfaces.flatMap((iface) => iface.substrates));
  const substrates = topology.substrates.filter((substrate) => used.has(substrate.name));
  if (json) {
    ctx.io.out(jsonText({ element, substrates, node: nodeJson(view.self), children: view.children.map((child) => child.name) }, 2));
  } else {
    ctx.io.out(describeElement(element, substrates, view));
  }
  return ExitCode.ok;
}

function nodeJson(node: Node) {
  return { ...node, attributes: Object.fromEntries(node.attributes) };
}

function describeTopology(topology: Topology): string {
  const lines = [`${topology.file}: TopDL ${topology.version || "(no version)"}`];
  for (const [key, value] of Object.entries(countTopology(topology))) if (key !== "version") lines.push(`  ${key}: ${value}`);
  lines.push("substrates:");
  for (const substrate of topology.substrates) lines.push(`  ${substrate.name}${shapingText(substrate)}`);
  lines.push("elements:");
  for (const element of topology.elements) {
    lines.push(`  ${element.kind} ${element.name || "(unnamed)"}`);
    for (const iface of element.interfaces) lines.push(`    ${iface.name} → ${iface.substrates.join(", ")}`);
  }
  for (const warning of topology.warnings) lines.push(formatProblem({ ...warning, message: `warning: ${warning.message}` }));
  // Names and values come from the document: control characters in them are escaped.
  return lines.map(printable).join("\n");
}

function describeElement(element: Element, substrates: readonly Substrate[], view: HostView): string {
  const self = view.self;
  const lines = [`${element.kind} ${element.name} (${element.path}, line ${element.line})`];
  if (element.localnames.length > 0) lines.push(`  localnames: ${element.localnames.join(", ")}`);
  lines.push(`  node type: ${self.nodeType || "(none)"}${self.host !== undefined ? `, hosted by ${self.host}` : ""}`);
  if (view.children.length > 0) lines.push(`  hosts: ${view.children.map((child) => child.name).join(", ")}`);
  for (const attribute of element.attributes) lines.push(`  ${attribute.key} = ${JSON.stringify(attribute.value)}`);
  for (const iface of element.interfaces) {
    const resolved = self.interfaces.find((candidate) => candidate.name === iface.name);
    const address = resolved?.ip4 ? ` ${resolved.ip4.address}/${resolved.ip4.prefixLength}` : "";
    lines.push(`  interface ${iface.name} → ${iface.substrates.join(", ")}${address}${resolved?.control ? " (control)" : ""}`);
    for (const attribute of iface.attributes) lines.push(`    ${attribute.key} = ${JSON.stringify(attribute.value)}`);
  }
  for (const substrate of substrates) lines.push(`  substrate ${substrate.name}${shapingText(substrate)}`);
  // Names and values come from the document: control characters in them are escaped.
  return lines.map(printable).join("\n");
}

function shapingText(substrate: Substrate): string {
  const parts: string[] = [];
  if (substrate.capacity) parts.push(`${substrate.capacity.rate} kb/s ${substrate.capacity.kind}`);
  if (substrate.latency) parts.push(`${substrate.latency.time} ms ${substrate.latency.kind}`);
  const loss = substrate.attributes.find((attribute) => attribute.key === "loss");
  if (loss) parts.push(`loss ${loss.value}`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}
