// The one semantic validator `boot`, `status` and `topdl validate` share: every problem the config folder shows, before anything changes (pure).
import { BenitoError } from "../errors";
import { checkTunnelSettings } from "../config/tunnel-conf";
import { checkDatapathSettings } from "../config/datapath-conf";
import { checkQemuSettings } from "../config/qemu-conf";
import type { SiteConfCheck } from "../config/site-conf";
import type { HostView, Node } from "../model/node";
import type { LanDatapath } from "./datapath-plan";
import { findingsFor, semanticProblems } from "../model/validate";
import { platformProblems } from "../platforms/planning";
import type { Problem, Topology } from "../topdl/types";
import { switchLayout } from "./switch-plan";

/** ValidationInput interface: what one validation looks at. */
export interface ValidationInput {
  /** The topology (for boot possibly only this host's part of the document). */
  readonly topology: Topology;
  /** Its computers resolved, in document order. */
  readonly nodes: readonly Node[];
  /** site.conf checked, when the config folder has one. */
  readonly site?: SiteConfCheck;
  /** This host's view: only problems that concern it and its vnodes are reported; its switches are laid out. */
  readonly view?: HostView;
  /** The run folder the switches' sockets go under (with view). */
  readonly runDir?: string;
  /** The datapath of the view's LANs, when decided (with view): checks of the vnodes' NICs that depend on it. */
  readonly datapaths?: ReadonlyMap<string, LanDatapath>;
}

/** Validation interface: errors stop boot (exit 3); warnings are printed (errors with --strict). */
export interface Validation {
  readonly errors: readonly Problem[];
  readonly warnings: readonly Problem[];
}

/**
 * Every problem that can be known from the config folder: the semantic checks of the topology
 * (names, placement, switch ports, MACs and addresses taken twice, network/broadcast addresses),
 * this host's vnodes' platform attributes and switch layout, and site.conf (syntax,
 * disagreeing duplicates, unknown keys as warnings, tunnel settings).
 */
export function validateExperiment(input: ValidationInput): Validation {
  const { topology, view } = input;
  const file = topology.file;
  const findings = semanticProblems(topology, input.nodes);
  const concerning = view === undefined ? findings : findingsFor(findings, [view.self, ...view.children]);
  const errors: Problem[] = concerning.map(({ file: where, line, path, message }) => ({ file: where, line, path, message }));
  // A vnode's platform attributes matter to the pnode that launches it (a document using a
  // platform benito refuses is still valid TopDL for `topdl validate`).
  if (view !== undefined) errors.push(...platformProblems(view.children, file, input.datapaths));
  if (view !== undefined && input.runDir !== undefined && errors.length === 0) {
    // The switch layout's own checks (socket path lengths, shaped substrates sharing a switch),
    // once the checks above pass (it repeats some of them, e.g. a port used twice).
    try {
      switchLayout(view, input.runDir);
    } catch (error) {
      if (!(error instanceof BenitoError)) throw error;
      for (const message of error.details) errors.push({ file, line: view.self.line, path: view.self.path, message });
    }
  }
  const warnings: Problem[] = [];
  if (input.site !== undefined) {
    errors.push(...input.site.errors);
    warnings.push(...input.site.warnings);
    if (input.site.errors.length === 0) {
      errors.push(...checkTunnelSettings(input.site.conf).problems, ...checkQemuSettings(input.site.conf), ...checkDatapathSettings(input.site.conf).problems);
    }
  }
  return { errors: sortProblems(errors), warnings: sortProblems(warnings) };
}

function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file.localeCompare(b.file)));
}
