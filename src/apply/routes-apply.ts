// Runs a route plan through the NetSystem (one batch), waiting a bounded time for interfaces that are not up yet.
import type { WantedRoute } from "../model/route-file";
import { planRoutes, type NetState, type RoutePlan, type RoutePlanOptions, type RouteStep } from "../plan/routes-plan";
import type { BatchTimings, Route } from "../system/netlink/types";

export type { BatchTimings } from "../system/netlink/types";
import type { NetSystem } from "./net-system";

/** RouteOutcome interface: what happened to one route. */
export interface RouteOutcome {
  readonly status: "added" | "changed" | "removed" | "unchanged" | "failed";
  /** The configured route, when it came from the configuration (removals have none). */
  readonly wanted?: WantedRoute;
  /** The kernel route sent (or, for removals and unchanged routes, found). */
  readonly route?: Route;
  /** Why it failed: the kernel's words, or why benito did not send it. */
  readonly error?: string;
}

/** RouteSummary interface: the counts of the summary line. */
export interface RouteSummary {
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
  readonly unchanged: number;
  readonly failed: number;
}

/** Reads what the plan needs from the kernel. */
export async function readNetState(system: NetSystem, table: number): Promise<NetState> {
  return { links: await system.links(), addresses: await system.addresses(), routes: await system.routes(table) };
}

/** Clock interface: how the wait loop tells time and sleeps (a test can make it instant). */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = { now: () => performance.now(), sleep: (ms) => Bun.sleep(ms) };

/** How often the kernel is re-read while waiting for an interface. */
const pollMs = 100;

/**
 * Plans the routes; while some are blocked for a reason that may resolve by itself (an
 * interface not up yet, an address not set yet), re-reads the kernel every 100 ms until they
 * resolve or waitMs has passed. Never waits longer than waitMs: boot must not hang.
 *
 * @returns The last plan and the state it was made from.
 */
export async function planWithWait(system: NetSystem, wanted: readonly WantedRoute[], options: RoutePlanOptions, waitMs: number, clock: Clock = systemClock, timings?: PlanTimings): Promise<{ plan: RoutePlan; state: NetState }> {
  const deadline = clock.now() + waitMs;
  for (;;) {
    const dumpStart = performance.now();
    const state = await readNetState(system, options.table);
    const planStart = performance.now();
    const plan = planRoutes(wanted, state, options);
    if (timings !== undefined) {
      timings.dumpMs += planStart - dumpStart;
      timings.planMs += performance.now() - planStart;
    }
    if (!plan.blocked.some((entry) => entry.waitable) || clock.now() >= deadline) return { plan, state };
    await clock.sleep(Math.min(pollMs, Math.max(0, deadline - clock.now())));
  }
}

/** PlanTimings interface: where planning's time went, in milliseconds (`routes --timings`); waits are not counted. */
export interface PlanTimings {
  /** Reading links, addresses and the table from the kernel. */
  dumpMs: number;
  /** Diffing and ordering. */
  planMs: number;
}

/** The outcomes a plan would have if every request succeeded (the dry run's report). */
export function plannedOutcomes(plan: RoutePlan): RouteOutcome[] {
  return outcomesOf(plan, undefined);
}

/** Sends every step of the plan as one batch and reports each route; with `timings`, adds where the batch's time went. */
export async function applyRoutePlan(system: NetSystem, plan: RoutePlan, timings?: BatchTimings): Promise<RouteOutcome[]> {
  const requests = plan.steps.map((step) => ({ action: step.action === "remove" ? ("delete" as const) : ("replace" as const), route: step.route }));
  const answers = requests.length === 0 ? [] : await system.applyRoutes(requests, timings);
  return outcomesOf(plan, answers);
}

function outcomesOf(plan: RoutePlan, answers: readonly { ok: boolean; message?: string }[] | undefined): RouteOutcome[] {
  const outcomes: RouteOutcome[] = [];
  const steps = plan.steps;
  for (let index = 0; index < steps.length; index++) {
    const step = steps[index] as RouteStep;
    const answer = answers === undefined ? undefined : answers[index];
    const wanted = step.action === "remove" ? undefined : step.wanted;
    if (answers !== undefined && answer?.ok !== true) outcomes.push({ status: "failed", wanted, route: step.route, error: answer?.message ?? (answer === undefined ? "the kernel sent no answer" : "refused") });
    else outcomes.push({ status: step.action === "add" ? "added" : step.action === "change" ? "changed" : "removed", wanted, route: step.route });
  }
  for (const { wanted, route } of plan.unchanged) outcomes.push({ status: "unchanged", wanted, route });
  for (const blocked of plan.blocked) outcomes.push({ status: "failed", wanted: blocked.wanted, error: blocked.reason });
  return outcomes;
}

/** Counts outcomes by status (one pass: batches have thousands). */
export function summarizeRoutes(outcomes: readonly RouteOutcome[]): RouteSummary {
  const counts = { added: 0, changed: 0, removed: 0, unchanged: 0, failed: 0 };
  for (const outcome of outcomes) counts[outcome.status] += 1;
  return counts;
}
