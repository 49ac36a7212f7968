// How TopDL problems read as text: "file:line: path: message", the form every command prints.
import { printable } from "./printable";
import type { Problem } from "./types";

/**
 * Formats one problem as `file:line: path: message` (line and path left out when unknown), one
 * line with any control character from the input escaped.
 */
export function formatProblem(problem: Problem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}` : problem.file;
  return printable(problem.path === "" ? `${where}: ${problem.message}` : `${where}: ${problem.path}: ${problem.message}`);
}

/** Orders problems by line (stable), so a report reads top to bottom. */
export function byLine(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line);
}

/** How many problems of one kind a result keeps; the rest are only counted (a hostile file can hold millions). */
export const keptPerKind = 1000;

/** Omitted interface: how many problems of one kind were found beyond those kept. */
export interface Omitted {
  /** The message with its particulars (quoted text, tags, numbers) replaced by "…". */
  readonly kind: string;
  readonly severity: "error" | "warning";
  /** How many were found in all (kept ones included). */
  readonly total: number;
}

/**
 * The kind of a problem: its message without the particulars, so `unknown child <a1> of <x>`
 * and `unknown child <a2> of <x>` are one kind.
 */
export function kindOf(message: string): string {
  return message.replace(/"(?:[^"\\]|\\.)*"|<[^<>]*>|&[^;\s]*;|[0-9]+(?:\.[0-9]+)?/g, "…");
}

/** ProblemList class: collects problems, keeping the first `keptPerKind` of each kind and counting the rest. */
export class ProblemList {
  readonly kept: Problem[] = [];
  readonly #counts = new Map<string, number>();
  readonly #severity: "error" | "warning";

  constructor(severity: "error" | "warning") {
    this.#severity = severity;
  }

  /** Adds one problem (kept, or only counted when its kind already has keptPerKind). */
  push(problem: Problem): void {
    const kind = kindOf(problem.message);
    const count = (this.#counts.get(kind) ?? 0) + 1;
    this.#counts.set(kind, count);
    if (count <= keptPerKind) this.kept.push(problem);
  }

  /** When `kind` already has keptPerKind problems: counts one more and returns true (the caller need not build it). */
  countIfFull(kind: string): boolean {
    const count = this.#counts.get(kind) ?? 0;
    if (count < keptPerKind) return false;
    this.#counts.set(kind, count + 1);
    return true;
  }

  /** Whether any problem was added. */
  get empty(): boolean {
    return this.kept.length === 0;
  }

  /** The kinds with more problems than were kept. */
  omitted(): Omitted[] {
    const omitted: Omitted[] = [];
    for (const [kind, total] of this.#counts) if (total > keptPerKind) omitted.push({ kind, severity: this.#severity, total });
    return omitted;
  }
}
