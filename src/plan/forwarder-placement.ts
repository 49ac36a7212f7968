// Which forwarder of the pnode's pool moves a port (pure): a switch's ports on one member, and a recorded port on the wrong member moves — the apply step's decision and the dry run's.
import { quoteWord, removedWithNamespace, renderStep, type Step } from "./step";

/**
 * PoolCounts interface: recorded ports per pool member, and per switch (by its canonical socket
 * folder, symbolic links resolved) per member.
 */
export interface PoolCounts {
  readonly loads: number[];
  readonly bySwitch: Map<string, number[]>;
}

/** RecordedPort interface: where a port's record puts it. */
export interface RecordedPort {
  /** The pool member holding it. */
  readonly shard: number;
  /** Its switch's canonical socket folder. */
  readonly switchKey: string;
}

/** Counts of `members` pool members with no port. */
export function emptyCounts(members: number): PoolCounts {
  return { loads: Array.from({ length: members }, () => 0), bySwitch: new Map() };
}

/** Counts a port added (1) or removed (-1) in place. */
export function countPort(counts: PoolCounts, shard: number, switchKey: string, delta: 1 | -1): void {
  counts.loads[shard] = Math.max(0, (counts.loads[shard] ?? 0) + delta);
  const perShard = counts.bySwitch.get(switchKey) ?? Array.from({ length: counts.loads.length }, () => 0);
  perShard[shard] = Math.max(0, (perShard[shard] ?? 0) + delta);
  if (perShard.every((ports) => ports === 0)) counts.bySwitch.delete(switchKey);
  else counts.bySwitch.set(switchKey, perShard);
}

/** The pool member holding most of this switch's ports (the lowest on a tie), if any holds one. */
function holderOf(counts: PoolCounts, switchKey: string): number | undefined {
  const perShard = counts.bySwitch.get(switchKey);
  if (perShard === undefined) return undefined;
  return perShard.indexOf(Math.max(...perShard));
}

/**
 * The pool member for a port not recorded: the one already holding ports of the same switch, else
 * the one of the first `poolSize` members with the fewest ports (the lowest on a tie). A LAN's
 * ports share one loop because a frame crosses the switch from one of them to another: in one
 * loop, draining the switch's frames to the receiving TAP paces the reading of the sending TAP.
 * In two loops the sender outruns the receiver, and vde_switch drops what the receiver's socket
 * cannot queue (TCP through a LAN split over two forwarders lost ~10 % of its segments to that and
 * moved ~20 % less; bench/README.md, "Forwarder, 27 Nov evening").
 */
function memberFor(counts: PoolCounts, poolSize: number, switchKey: string): number {
  const held = holderOf(counts, switchKey);
  if (held !== undefined) return held;
  const loads = counts.loads.slice(0, Math.max(1, poolSize));
  return loads.indexOf(Math.min(...loads));
}

/** A copy of counts that can be counted in without changing them. */
function copyOf(counts: PoolCounts): PoolCounts {
  return { loads: [...counts.loads], bySwitch: new Map([...counts.bySwitch].map(([key, perShard]) => [key, [...perShard]])) };
}

/** The counts as they are once a recorded port is removed (a copy; counts is left alone). */
function without(counts: PoolCounts, port: RecordedPort): PoolCounts {
  const copy = copyOf(counts);
  countPort(copy, port.shard, port.switchKey, -1);
  return copy;
}

/**
 * PortPlacement type: what adding a port does. "keep": recorded there already; "add": not
 * recorded, opened on that member; "move": recorded on member `from`, closed there (its TAP is
 * unplugged meanwhile) and opened on member `to` — because it now names another switch ("switch":
 * a topology edit moved it to another LAN) or its switch's ports are held by another member
 * ("lan": an older benito split the LAN).
 */
export type PortPlacement =
  | { readonly kind: "keep"; readonly shard: number }
  | { readonly kind: "add"; readonly shard: number }
  | { readonly kind: "move"; readonly from: number; readonly to: number; readonly why: "switch" | "lan" };

/**
 * Where a port goes, from the recorded ports' counts (which include `recorded` itself). A recorded
 * port stays where it is unless it names another switch now or its switch's ports are held by
 * another member; then it moves to the member its switch's other ports are on (else the least
 * loaded), so a re-run of boot regroups every LAN. The counts are not changed.
 */
export function placePort(counts: PoolCounts, poolSize: number, recorded: RecordedPort | undefined, switchKey: string): PortPlacement {
  if (recorded === undefined) return { kind: "add", shard: memberFor(counts, poolSize, switchKey) };
  const holder = holderOf(counts, switchKey);
  const why = recorded.switchKey !== switchKey ? "switch" : holder !== undefined && holder !== recorded.shard ? "lan" : undefined;
  if (why === undefined) return { kind: "keep", shard: recorded.shard };
  return { kind: "move", from: recorded.shard, to: memberFor(without(counts, recorded), poolSize, switchKey), why };
}

/** PoolView interface: the pool as its records and pidfiles show it now (read, never changed), for the dry run. */
export interface PoolView {
  /** How many members this machine's pool has. */
  readonly size: number;
  /** Every recorded port, counted. */
  readonly counts: PoolCounts;
  /** Where the plan's recorded ports are, by id (a port not recorded is absent). */
  readonly ports: ReadonlyMap<string, RecordedPort>;
  /** Whether each member (by index) runs. */
  readonly running: readonly boolean[];
  /** The canonical folder of each switch folder the plan names (as spelled in it). */
  readonly switchKeys: ReadonlyMap<string, string>;
}

/** PortMove interface: a port a run would move from one pool member to another (or to another switch on the same one). */
export interface PortMove {
  readonly port: string;
  readonly from: number;
  readonly to: number;
  readonly why: "switch" | "lan";
  /** Whether member `from` runs now (when it does not, the port is not plugged and nothing is unplugged). */
  readonly running: boolean;
}

/**
 * The forwarder ports of `steps` that applying them would move, by step id: each step decided by
 * {@link placePort} as the apply step decides it, in plan order, each decision counted before the
 * next (a port added or moved first changes where a later one of its switch goes).
 */
export function forwarderMoves(steps: readonly Step[], pool: PoolView): Map<string, PortMove> {
  const counts = copyOf(pool.counts);
  const ports = new Map(pool.ports);
  const moves = new Map<string, PortMove>();
  for (const step of steps) {
    if (step.kind !== "forwarder.port") continue;
    const switchKey = pool.switchKeys.get(step.switchDir) ?? step.switchDir;
    const recorded = ports.get(step.port);
    const placement = placePort(counts, pool.size, recorded, switchKey);
    if (placement.kind === "keep") continue;
    if (placement.kind === "move" && recorded !== undefined) {
      moves.set(step.id, { port: step.port, from: placement.from, to: placement.to, why: placement.why, running: pool.running[placement.from] === true });
      countPort(counts, recorded.shard, recorded.switchKey, -1);
    }
    const shard = placement.kind === "move" ? placement.to : placement.shard;
    countPort(counts, shard, switchKey, 1);
    ports.set(step.port, { shard, switchKey });
  }
  return moves;
}

/**
 * Where a move takes a port and what it costs, in words after "moves" (the dry run's line under
 * its step, and status's drift line).
 */
export function describeMove(move: PortMove): string {
  const where =
    move.from === move.to
      ? `to its new switch on forwarder ${move.to} of the pool`
      : `from forwarder ${move.from} to forwarder ${move.to} of the pool, ${move.why === "switch" ? "to its new switch's ports" : "to join its switch's other ports"}`;
  return `${where}: ${move.running ? "unplugged while it moves" : `nothing to unplug (forwarder ${move.from} is not running)`}`;
}

/**
 * The dry run's lines for steps, as a run prints them: each step's line; under a forwarder port a
 * run would move, where it moves; in a teardown, under a TAP its namespace's deletion takes with
 * it, the note that says so (the run deletes no such TAP on its own).
 */
export function renderSteps(steps: readonly Step[], moves: ReadonlyMap<string, PortMove>, teardown = false): string[] {
  return steps.flatMap((step, index) => {
    const move = moves.get(step.id);
    const taken = teardown ? removedWithNamespace(steps, index) : undefined;
    return [renderStep(step), ...(move === undefined ? [] : [`  # port ${quoteWord(move.port)} moves ${describeMove(move)}`]), ...(taken === undefined ? [] : [taken])];
  });
}
