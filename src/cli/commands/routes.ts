// `benito routes [CONFIG_DIR [HOSTNAME]]`: installs this host's static routes, convergently (drop-in for routes.py).
import { ExitCode, UsageError } from "../../errors";
import { loadSiteConf, readRouteFile, resolveConfigDir, resolveHostName } from "../../config/config-dir";
import { defaultRouteSetting } from "../../config/site-conf";
import { dropDuplicates, formatLineProblem, parseRouteFile, siteDefaultRoute, type LineProblem, type WantedRoute } from "../../model/route-file";
// Not through ../os (the CLI's door to src/system): loading that door loads every src/system module
// it re-exports, and a 0-route run is to stay under 40 MB peak RSS (bench/README.md, routes).
import { BENITO_RTPROT } from "../../model/kernel-state";
import { describeWanted, formatDestination, originText, renderRouteScript } from "../../plan/routes-render";
import { applyRoutePlan, planWithWait, plannedOutcomes, summarizeRoutes, systemClock, type BatchTimings, type PlanTimings, type RouteOutcome, type RouteSummary } from "../../apply/routes-apply";
import { openNetSystem } from "../../apply/rtnl-system";
import { parseCommandArgs } from "../args";
import type { Command, CommandContext } from "../command";

/** RT_TABLE_MAIN. */
const mainTable = 254;
/** How long to wait for an interface that is not up yet, when --wait is not given. */
const defaultWaitSeconds = 5;

const options = {
  "dry-run": { type: "boolean" },
  "remove-all": { type: "boolean" },
  netns: { type: "string" },
  json: { type: "boolean" },
  table: { type: "string" },
  wait: { type: "string" },
  timings: { type: "boolean" },
} as const;

const help = `Usage: benito routes [--dry-run] [--json] [--timings] [--table N] [--wait SECONDS] [--netns NAME] [CONFIG_DIR [HOSTNAME]]
       routes.py [CONFIG_DIR [HOSTNAME]]      (the same, under the original's name)

Installs this host's static routes from CONFIG_DIR/route/HOSTNAME (or routes/HOSTNAME) and
site.conf's default_router/default_dest, convergently: adds what is missing, changes what
differs, removes routes benito installed earlier that the file no longer lists, and never
touches routes it did not install (benito marks its own with routing protocol ${BENITO_RTPROT}:
\`ip route show proto ${BENITO_RTPROT}\`).

CONFIG_DIR defaults to /var/benito/config (then /var/containers/config); HOSTNAME to the
kernel hostname cut at the first dot.

Route file lines (syntax detected per line; blank lines and # comments ignored):
  ROUTE DEST=10.1.2.0 DESTTYPE=net DESTMASK=255.255.255.0 NEXTHOP=10.1.1.3 COST=0 [SRC=A]
  10.1.2.0/24 via 10.1.1.3 [dev IF] [metric N] [src A]   |   10.9.0.0/16 dev IF   |   default via G
  10.1.2.0 255.255.255.0 10.1.1.3

Options:
  --dry-run       print the equivalent ip route script; change nothing (no root needed)
  --timings       say on stderr where the time went (start-up, reading, parsing, the kernel's
                  tables, planning, encoding, the kernel applying the batch, its answers)
  --json          print every route's outcome as JSON
  --table N       install into routing table N (default ${mainTable}, main)
  --wait SECONDS  wait at most this long for an interface that is not up yet (default ${defaultWaitSeconds};
                  a dry run never waits)
  --netns NAME    act on the named network namespace from outside, without a helper process
                  (what status does for each process vnode)
  --remove-all    remove every route benito installed in the table (protocol ${BENITO_RTPROT}) and
                  install none (what benito down does); the route file is not read

Exit codes: 0 done, 1 a route was refused or could not be installed (or the route file is missing),
2 usage, 3 a bad line.`;

/** The routes command. */
export const routesCommand: Command = {
  name: "routes",
  help,
  run,
};

async function run(args: readonly string[], ctx: CommandContext): Promise<ExitCode> {
  // performance.now() counts from the process's start: what comes before this is start-up.
  const timings: Timings = { startMs: performance.now(), readMs: 0, parseMs: 0, dumpMs: 0, planMs: 0, encodeMs: 0, sendMs: 0, answersMs: 0 };
  const { values, positionals } = parseCommandArgs("routes", args, options, 2);
  const table = tableOption(values.table);
  const waitMs = waitOption(values.wait);
  const configDir = await resolveConfigDir(positionals[0]);
  const host = resolveHostName(positionals[1]);
  // --remove-all converges on an empty route list: every route benito marked goes, nothing else.
  const removeAll = values["remove-all"] === true;
  let clock = performance.now();
  const lap = () => {
    const now = performance.now();
    const ms = now - clock;
    clock = now;
    return ms;
  };
  const { file, text } = removeAll ? { file: "(--remove-all)", text: "" } : await readRouteFile(configDir, host);
  timings.readMs += lap();
  const parsed = parseRouteFile(text, file);
  timings.parseMs += lap();
  const site: ReturnType<typeof siteDefaultRoute> = removeAll ? {} : siteDefaultRoute(defaultRouteSetting(await loadSiteConf(configDir)));
  timings.readMs += lap();
  const unique = dropDuplicates(site.route === undefined ? parsed.routes : [...parsed.routes, site.route]);
  timings.parseMs += lap();
  const problems: LineProblem[] = [...parsed.problems, ...(site.problem === undefined ? [] : [site.problem]), ...unique.problems];
  // Bad lines are reported at once, before any wait: the good lines still go ahead.
  for (const problem of problems) ctx.io.err(`benito: while reading the routes on ${formatLineProblem(problem)}`);

  const system = openNetSystem(values.netns);
  try {
    const planOptions = { table, protocol: BENITO_RTPROT };
    const { plan, state } = await planWithWait(system, unique.routes, planOptions, values["dry-run"] ? 0 : waitMs, systemClock, timings);
    const linkNames = new Map(state.links.map((link) => [link.index, link.name]));
    const outcomes = values["dry-run"] ? plannedOutcomes(plan) : await applyRoutePlan(system, plan, timings);
    lap();
    const summary = summarizeRoutes(outcomes);
    for (const outcome of outcomes) {
      if (outcome.status === "failed") ctx.io.err(failureMessage(outcome, table));
    }
    const line = summaryLine(summary, problems.length, values["dry-run"] === true);
    if (values.json) {
      ctx.io.out(JSON.stringify(jsonReport(host, file, table, values["dry-run"] === true, outcomes, problems, summary, linkNames)));
      ctx.io.err(line);
    } else if (values["dry-run"]) {
      ctx.io.out(renderRouteScript(plan, { linkNames, title: `benito routes for ${host} from ${file}, table ${table}` }));
      ctx.io.out(`# ${line}`);
    } else {
      ctx.io.out(line);
    }
    if (values.timings === true) ctx.io.err(timingsLine(timings, lap()));
    if (problems.length > 0) return ExitCode.input;
    return summary.failed > 0 ? ExitCode.failed : ExitCode.ok;
  } finally {
    system.close();
  }
}

/** Timings interface: where one run's time went, in milliseconds (`--timings`). */
interface Timings extends PlanTimings, BatchTimings {
  /** From the process's start to the command's (Bun's start-up and benito's modules). */
  readonly startMs: number;
  /** Reading the route file and site.conf. */
  readMs: number;
  /** Parsing both and dropping duplicates. */
  parseMs: number;
}

/** "benito routes: timings: start-up 11.8 ms, read 0.3 ms, …; total 90.1 ms" (the bench prints it). */
function timingsLine(timings: Timings, reportMs: number): string {
  const parts: [string, number][] = [
    ["start-up", timings.startMs],
    ["read", timings.readMs],
    ["parse", timings.parseMs],
    ["kernel dump", timings.dumpMs],
    ["plan", timings.planMs],
    ["encode", timings.encodeMs],
    ["send (the kernel applies)", timings.sendMs],
    ["answers", timings.answersMs],
    ["report", reportMs],
  ];
  const total = performance.now();
  // The rest: opening the socket, turning answers into outcomes, option parsing.
  parts.push(["other", total - parts.reduce((sum, [, ms]) => sum + ms, 0)]);
  return `benito routes: timings: ${parts.map(([name, ms]) => `${name} ${ms.toFixed(1)} ms`).join(", ")}; total ${total.toFixed(1)} ms`;
}

function tableOption(value: string | undefined): number {
  if (value === undefined || value === "main") return mainTable;
  if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > 0xffffffff) throw new UsageError("routes", `--table wants a table number from 1 to 4294967295 (or "main"), got "${value}"`);
  return Number(value);
}

function waitOption(value: string | undefined): number {
  if (value === undefined) return defaultWaitSeconds * 1000;
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) > 3600) throw new UsageError("routes", `--wait wants seconds from 0 to 3600, got "${value}"`);
  return Math.round(Number(value) * 1000);
}

function failureMessage(outcome: RouteOutcome, table: number): string {
  if (outcome.wanted !== undefined) return `benito: while installing ${describeWanted(outcome.wanted)} on ${originText(outcome.wanted)}: ${outcome.error}`;
  const route = outcome.route;
  return `benito: while removing ${route === undefined ? "a route" : `${formatDestination(route)}${route.gateway ? ` via ${route.gateway}` : ""}`} on table ${table}: ${outcome.error}`;
}

/** "benito routes: 3 added, 1 changed, 0 removed, 5 unchanged, 1 failed" (+ bad lines). */
function summaryLine(summary: RouteSummary, badLines: number, dryRun: boolean): string {
  const counts = `${summary.added} added, ${summary.changed} changed, ${summary.removed} removed, ${summary.unchanged} unchanged, ${summary.failed} failed`;
  return `benito routes${dryRun ? " (dry run)" : ""}: ${counts}${badLines > 0 ? `; ${badLines} bad line${badLines === 1 ? "" : "s"}` : ""}`;
}

function jsonReport(host: string, file: string, table: number, dryRun: boolean, outcomes: readonly RouteOutcome[], problems: readonly LineProblem[], summary: RouteSummary, linkNames: ReadonlyMap<number, string>) {
  return {
    host,
    file,
    table,
    dryRun,
    routes: outcomes.map((outcome) => routeJson(outcome, linkNames)),
    problems: problems.map(formatLineProblem),
    summary: { ...summary, badLines: problems.length },
  };
}

function routeJson(outcome: RouteOutcome, linkNames: ReadonlyMap<number, string>) {
  const source: WantedRoute | undefined = outcome.wanted;
  const route = outcome.route;
  const dst = route ?? source;
  const oif = route?.oif;
  return {
    status: outcome.status,
    destination: dst === undefined ? null : formatDestination(dst),
    gateway: route?.gateway ?? source?.gateway ?? null,
    dev: source?.dev ?? (oif === undefined ? null : (linkNames.get(oif) ?? null)),
    metric: route?.metric ?? source?.metric ?? 0,
    src: route?.src ?? source?.src ?? null,
    origin: source === undefined ? null : originText(source),
    error: outcome.error ?? null,
  };
}
