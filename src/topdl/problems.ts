// How TopDL problems read as text: "file:line: path: message", the form every command prints.
import type { Problem } from "./types";

/** Formats one problem as `file:line: path: message` (line and path left out when unknown). */
export function formatProblem(problem: Problem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}` : problem.file;
  return problem.path === "" ? `${where}: ${problem.message}` : `${where}: ${problem.path}: ${problem.message}`;
}

/** Orders problems by line (stable), so a report reads top to bottom. */
export function byLine(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line);
}
