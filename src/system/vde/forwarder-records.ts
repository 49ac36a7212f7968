// The forwarder's run-dir folder: where its pidfile, log and control socket live, and its port records (read through a schema).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { removeFile, writeFileAtomic } from "../state-files";

/** The folder under the run dir that holds the forwarder's pidfile, log, control socket and port records. */
const forwarderFolder = "forwarder";

/** ForwarderPaths interface: the forwarder's files under one run dir. */
export interface ForwarderPaths {
  readonly dir: string;
  readonly pidfile: string;
  readonly log: string;
  readonly socket: string;
  readonly ports: string;
}

/** How many forwarder processes a pnode runs: one per core, at most {@link maxShards} (each is a Bun runtime, ~45 MB). */
export const maxShards = 2;

/** The pool size on this machine. */
export function shardCount(): number {
  return Math.max(1, Math.min(maxShards, navigator.hardwareConcurrency || 1));
}

/** The files of forwarder `shard` (0, 1 …) under runDir; the ports folder is shared (each record names its shard). */
export function forwarderPaths(runDir: string, shard = 0): ForwarderPaths {
  const dir = join(runDir, forwarderFolder);
  const suffix = shard === 0 ? "" : `-${shard}`;
  return { dir, pidfile: join(dir, `forwarder${suffix}.pid`), log: join(dir, `forwarder${suffix}.log`), socket: join(dir, `control${suffix}.sock`), ports: join(dir, "ports") };
}

/** A port id: a file-name-safe word (it names the record file). */
const portId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "a port id is letters, digits, _ . - (at most 128)"));
const interfaceName = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,15}$/, "an interface name of at most 15 bytes"));

/** The schema of one port record (version 1). */
const PortRecordSchema = v.object({
  version: v.literal(1),
  kind: v.literal("forwarder-port"),
  id: portId,
  /** The network namespace the TAP lives in (absent: the forwarder's own, the host's). */
  netns: v.optional(v.pipe(v.string(), v.regex(/^[^/\0]{1,255}$/))),
  tap: interfaceName,
  /** The switch's socket folder (vde_switch -s). */
  switchDir: v.pipe(v.string(), v.startsWith("/")),
  /** The switch port to ask for (0 = any). */
  port: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffff)),
  /** Reconnect (100 ms doubling to 5 s) when the switch closes the port. */
  reconnect: v.boolean(),
  /** Who asked for it, for reports (e.g. "node a"). */
  owner: v.optional(v.string()),
  /** Which forwarder of the pool moves it (absent: 0). */
  shard: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(maxShards - 1))),
});

/** PortRecord type: one port the forwarder keeps open. */
export type PortRecord = v.InferOutput<typeof PortRecordSchema>;

/** Parses a record read from disk (or a request); undefined when it is not a valid version-1 port record. */
function parsePortRecord(value: unknown): PortRecord | undefined {
  const parsed = v.safeParse(PortRecordSchema, value);
  return parsed.success ? parsed.output : undefined;
}

/** True when the text is a usable port id. */
export function isPortId(id: string): boolean {
  return v.safeParse(portId, id).success;
}

/** Reads one port record; undefined when absent or not a valid record. */
export function readPortRecord(runDir: string, id: string): PortRecord | undefined {
  if (!isPortId(id)) return undefined;
  const path = join(forwarderPaths(runDir).ports, `${id}.json`);
  try {
    const record = parsePortRecord(JSON.parse(readFileSync(path, "utf8")));
    return record?.id === id ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Every valid port record in the run dir, in id order (files that do not parse are not benito's and are skipped). */
export function readPortRecords(runDir: string): PortRecord[] {
  const dir = forwarderPaths(runDir).ports;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .flatMap((name) => {
      const record = readPortRecord(runDir, name.slice(0, -".json".length));
      return record === undefined ? [] : [record];
    });
}

/** Writes a port record atomically (before the port is opened: state is recorded, not inferred). */
export function writePortRecord(runDir: string, record: PortRecord): void {
  writeFileAtomic(join(forwarderPaths(runDir).ports, `${record.id}.json`), `${JSON.stringify(record, null, 2)}\n`);
}

/** Removes a port record (absent is fine). */
export function removePortRecord(runDir: string, id: string): void {
  if (!isPortId(id)) return;
  removeFile(join(forwarderPaths(runDir).ports, `${id}.json`));
}
