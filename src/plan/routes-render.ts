// Prints a route plan as the equivalent `ip route` script: the dry run of `benito routes`.
import type { Route } from "../model/kernel-state";
import { formatLineProblem, type WantedRoute } from "../model/route-file";
import type { RoutePlan } from "./routes-plan";
import { quoteWord } from "./step";

/** RenderContext interface: what the script's header and device names need. */
export interface RenderContext {
  /** Link index → name, to print `dev NAME`. */
  readonly linkNames: ReadonlyMap<number, string>;
  /** A header comment, e.g. "benito routes for h1 from /cfg/route/h1". */
  readonly title: string;
}

/** "10.1.2.0/24", or "default" for 0.0.0.0/0. */
export function formatDestination(route: { readonly dst: string; readonly prefixLength: number }): string {
  return route.prefixLength === 0 && route.dst === "0.0.0.0" ? "default" : `${route.dst}/${route.prefixLength}`;
}

/** The arguments after `ip route replace|del` that select and describe a route. */
export function routeWords(route: Route, linkNames: ReadonlyMap<number, string>): string {
  const words = [formatDestination(route)];
  if (route.gateway !== undefined) words.push("via", route.gateway);
  if (route.oif !== undefined) words.push("dev", quoteWord(linkNames.get(route.oif) ?? `if${route.oif}`));
  words.push("metric", String(route.metric ?? 0));
  if (route.src !== undefined) words.push("src", route.src);
  words.push("proto", String(route.protocol), "table", String(route.table));
  return words.join(" ");
}

/** "route/h1:3" for a wanted route. */
export function originText(wanted: WantedRoute): string {
  return `${wanted.origin.file}:${wanted.origin.line}`;
}

/**
 * Renders the plan as a shell script that would make the same changes with iproute2 (in the
 * same order), with comments for what stays, what cannot be installed, and why.
 */
export function renderRouteScript(plan: RoutePlan, context: RenderContext): string {
  const lines = ["#!/bin/sh", `# ${context.title}`];
  for (const step of plan.steps) {
    if (step.action === "remove") lines.push(`ip route del ${routeWords(step.route, context.linkNames)}  # no longer configured`);
    else lines.push(`ip route replace ${routeWords(step.route, context.linkNames)}  # ${step.action}, ${originText(step.wanted)}`);
  }
  for (const { wanted } of plan.unchanged) lines.push(`# unchanged: ${describeWanted(wanted)} (${originText(wanted)})`);
  for (const blocked of plan.blocked) lines.push(`# not installed: ${formatLineProblem({ ...blocked.wanted.origin, message: `${describeWanted(blocked.wanted)}: ${blocked.reason}` })}`);
  return lines.join("\n");
}

/** A wanted route in iproute words, for messages: "10.1.2.0/24 via 10.1.1.3 dev eth1 metric 5". */
export function describeWanted(wanted: WantedRoute): string {
  const words = [formatDestination(wanted)];
  if (wanted.gateway !== undefined) words.push("via", wanted.gateway);
  if (wanted.dev !== undefined) words.push("dev", wanted.dev);
  if (wanted.metric !== 0) words.push("metric", String(wanted.metric));
  if (wanted.src !== undefined) words.push("src", wanted.src);
  return words.join(" ");
}
