// The ledger: benito's one record of what it made under a run dir — intent written before each change, confirmed after — read through versioned valibot schemas.
import { type Dir, existsSync, mkdirSync, opendirSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { BenitoError, ExitCode, messageOf } from "../errors";
import { stepSchema } from "../plan/step-schema";
import { failpoint } from "./failpoints";
import { writeFileAtomic } from "./state-files";

/** The record format this benito writes and reads. A record of another format is reported, never guessed at. */
const ledgerFormat = 1;
/** The ledger's folder inside the run dir. */
const ledgerFolder = "ledger";

const strings = v.array(v.string());
/** The identity of a running process: its pid and its start time (clock ticks since boot, /proc/PID/stat field 22), so a reused pid is never taken for it. */
const identity = { pid: v.optional(v.number()), startTime: v.optional(v.number()) };

/**
 * The record kinds and their data schemas. A new kind (e.g. a per-pnode forwarder with many
 * ports: one record for the process, pid and start time, and its ports) is one more entry here,
 * a schema, then `ledger.intend("forwarder", id, data)` before the change and `confirm` after.
 */
const kinds = {
  /** A daemon `switch up` runs: vde_switch (role switch/core) or wirefilter. */
  daemon: v.object({
    role: v.picklist(["switch", "core", "wirefilter"]),
    program: v.string(),
    summary: v.string(),
    fingerprint: v.string(),
    argv: strings,
    pidfile: v.string(),
    mgmt: v.string(),
    log: v.string(),
    sockDir: v.optional(v.string()),
    rcPath: v.optional(v.string()),
    joins: strings,
    ...identity,
  }),
  /** A tunnel joining a LAN across pnodes: its links (VXLAN/bridge/TAP) and its plug, or on a kernel LAN its VXLAN link and the bridge it joins. */
  tunnel: v.object({
    substrate: v.string(),
    summary: v.string(),
    fingerprint: v.string(),
    links: strings,
    nic: v.optional(v.string()),
    /** The VXLAN link whose forwarding entries (one per remote pnode) status checks. */
    vxlan: v.optional(v.string()),
    remotes: v.optional(strings),
    /** With `tunnel_group`: the multicast group its flood entry points to (instead of remotes). */
    group: v.optional(v.string()),
    /** A VDE LAN's tunnel: the plug joining its TAP to the switch (a kernel LAN's has none). */
    plugPidfile: v.optional(v.string()),
    plugProgram: v.optional(v.string()),
    plugLog: v.optional(v.string()),
    /** A kernel LAN's tunnel: the LAN's bridge its VXLAN link (or NIC) is a port of. */
    bridge: v.optional(v.string()),
    ...identity,
  }),
  /** A forwarder of the pnode's pool (`benito vde forwarder --shard N`); its ports are its own records (RUN_DIR/forwarder/ports). */
  forwarder: v.object({ shard: v.number(), pidfile: v.string(), socket: v.string(), log: v.string(), ...identity }),
  /** A kernel LAN's Linux bridge (kernel datapath), marked as benito's. */
  bridge: v.object({ lan: v.string() }),
  /** A child node launched through its platform: how to take it down again (its stop plan, as made) and how its last helpers went. */
  vnode: v.object({
    node: v.string(),
    platform: v.string(),
    /** The namespace it lives in (process platform). */
    netns: v.optional(v.string()),
    teardown: v.array(stepSchema),
    /** The exit of each helper command of its last launch (ifaces, routes), by step id. */
    results: v.optional(v.record(v.string(), v.object({ code: v.number(), detail: v.string() }))),
  }),
  /**
   * The control bridge (id `control`): the control NIC as it was before `control-bridge up` moved
   * it under the bridge (its addresses and routes) and the control TAPs benito makes. The intent
   * is written before the move, so `down` after a crash in the middle restores the NIC.
   */
  "control-bridge": v.object({
    bridge: v.string(),
    nic: v.object({ name: v.string(), mac: v.string(), up: v.boolean() }),
    addresses: v.array(v.object({ index: v.number(), address: v.string(), prefixLength: v.number(), label: v.string(), broadcast: v.optional(v.string()) })),
    routes: v.array(
      v.object({
        dst: v.string(),
        prefixLength: v.number(),
        gateway: v.optional(v.string()),
        oif: v.optional(v.number()),
        metric: v.optional(v.number()),
        src: v.optional(v.string()),
        protocol: v.number(),
        table: v.number(),
        scope: v.number(),
        multipath: v.optional(v.boolean()),
      }),
    ),
    taps: strings,
    /**
     * True when benito found the NIC bridged already and no record of its own: only the control
     * TAPs it made are its own (`down` deletes those and leaves the NIC and the bridge alone).
     */
    adopted: v.optional(v.boolean()),
  }),
  /** The addresses `benito ifaces` set on one host (a re-run replaces its own and leaves others alone). */
  addresses: v.object({
    addresses: v.array(v.object({ mac: v.string(), address: v.string(), prefixLength: v.number() })),
  }),
} as const;

/** Kind type: a ledger record kind. */
export type LedgerKind = keyof typeof kinds;
/** The data of a record of kind K. */
export type LedgerData<K extends LedgerKind> = v.InferOutput<(typeof kinds)[K]>;

/** LedgerRecord interface: one record as read back. */
export interface LedgerRecord<K extends LedgerKind> {
  readonly kind: K;
  readonly id: string;
  /** "intent": written before the change (it may be half made); "done": confirmed after it. */
  readonly phase: "intent" | "done";
  readonly updatedAt: string;
  readonly data: LedgerData<K>;
  /** The file it was read from. */
  readonly file: string;
}

const envelope = v.object({
  format: v.number(),
  kind: v.string(),
  id: v.string(),
  phase: v.picklist(["intent", "done"]),
  updatedAt: v.string(),
  data: v.unknown(),
});

/** A record's file name: `KIND.ID.json`, the id percent-encoded so it never leaves the folder. */
function fileName(kind: LedgerKind, id: string): string {
  return `${kind}.${encodeURIComponent(id).replaceAll(".", "%2E")}.json`;
}

/**
 * Ledger class: the records under RUN_DIR/ledger. Every change benito makes to the machine is
 * written here as an intent first (so a crash leaves a record of what may be half made) and
 * confirmed after; teardown, repair and status read it back.
 */
export class Ledger {
  /** The run dir. */
  readonly runDir: string;
  /** The ledger folder. */
  readonly dir: string;

  private constructor(runDir: string) {
    this.runDir = runDir;
    this.dir = join(runDir, ledgerFolder);
  }

  /** The ledger of a run dir (nothing is read or made until used). */
  static at(runDir: string): Ledger {
    return new Ledger(runDir);
  }

  /** Records an intent: the change is about to be made. Failpoint `KIND:ID:intent` follows the write. */
  intend<K extends LedgerKind>(kind: K, id: string, data: LedgerData<K>): void {
    this.write(kind, id, "intent", data);
    failpoint(`${kind}:${id}:intent`);
  }

  /** Confirms a change: it is made. Failpoint `KIND:ID:made` precedes the write (made, not yet confirmed). */
  confirm<K extends LedgerKind>(kind: K, id: string, data: LedgerData<K>): void {
    failpoint(`${kind}:${id}:made`);
    this.write(kind, id, "done", data);
  }

  /** Writes a record in the given phase (atomically, durably). */
  write<K extends LedgerKind>(kind: K, id: string, phase: "intent" | "done", data: LedgerData<K>): void {
    const path = join(this.dir, fileName(kind, id));
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o755 });
      // Temp file, fsync, rename, fsync of the folder: a record survives a crash of the machine too.
      writeFileAtomic(path, `${JSON.stringify({ format: ledgerFormat, kind, id, phase, updatedAt: new Date().toISOString(), data })}\n`, { durable: true, makeFolder: false });
    } catch (error) {
      throw new BenitoError("writing benito's ledger", path, messageOf(error));
    }
  }

  /** Forgets a record (after what it names is gone); absent is fine. Failpoint `KIND:ID:removed` precedes it. */
  remove(kind: LedgerKind, id: string): void {
    failpoint(`${kind}:${id}:removed`);
    try {
      unlinkSync(join(this.dir, fileName(kind, id)));
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw new BenitoError("removing a ledger record", join(this.dir, fileName(kind, id)), messageOf(error));
    }
  }

  /** One record, or undefined when there is none. */
  get<K extends LedgerKind>(kind: K, id: string): LedgerRecord<K> | undefined {
    return this.read(kind, join(this.dir, fileName(kind, id)));
  }

  /** Every record of a kind, in id order. A record that cannot be read is an error naming its file. */
  list<K extends LedgerKind>(kind: K): LedgerRecord<K>[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const records: LedgerRecord<K>[] = [];
    for (const name of names.sort()) {
      if (!name.startsWith(`${kind}.`) || !name.endsWith(".json")) continue;
      const record = this.read(kind, join(this.dir, name));
      if (record !== undefined) records.push(record);
    }
    return records.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** True when the ledger holds no record (a half-written temporary file is none). */
  isEmpty(): boolean {
    let dir: Dir;
    try {
      dir = opendirSync(this.dir);
    } catch {
      return true;
    }
    try {
      // Up to the first record only: each vnode's stop asks, with hundreds of records still there.
      for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) if (!entry.name.endsWith(".tmp")) return false;
      return true;
    } catch {
      return true;
    } finally {
      dir.closeSync();
    }
  }

  /**
   * Removes half-written temporary files a killed writer left. Call it holding the run dir's
   * lock, when no helper of this run writes (at the lock's start, at the end of down).
   */
  sweepTemporaryFiles(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names.filter((entry) => entry.endsWith(".tmp"))) {
      // NAME.json.PID.tmp: a writer still alive (a helper of a boot killed a moment ago) finishes its own.
      const writer = /\.(\d+)\.tmp$/.exec(name)?.[1];
      if (writer !== undefined && existsSync(`/proc/${writer}`)) continue;
      try {
        unlinkSync(join(this.dir, name));
      } catch {
        // Gone meanwhile.
      }
    }
  }

  /** Removes the ledger folder once it holds no record. */
  removeIfEmpty(): void {
    if (!this.isEmpty()) return;
    try {
      rmdirSync(this.dir);
    } catch {
      // Absent already, or something was written meanwhile: it stays.
    }
  }

  private read<K extends LedgerKind>(kind: K, path: string): LedgerRecord<K> | undefined {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return undefined;
      throw new BenitoError("reading benito's ledger", path, messageOf(error));
    }
    const fail = (reason: string): never => {
      throw new BenitoError("reading benito's ledger", path, `${reason}; move it away to start afresh (benito down stops what it can still find)`, ExitCode.failed);
    };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return fail(`not a ledger record: ${messageOf(error)}`);
    }
    const outer = v.safeParse(envelope, json);
    if (!outer.success) return fail(`not a ledger record: ${issueText(outer.issues)}`);
    const record = outer.output;
    if (record.format > ledgerFormat) return fail(`written by a newer benito (format ${record.format}; this one reads format ${ledgerFormat})`);
    if (record.format < ledgerFormat) return fail(`written by an older benito (format ${record.format}; this one reads format ${ledgerFormat})`);
    if (record.kind !== kind) return fail(`a "${record.kind}" record where a "${kind}" one was expected`);
    const data = v.safeParse(kinds[kind], record.data);
    if (!data.success) return fail(`a "${kind}" record that does not fit its schema: ${issueText(data.issues)}`);
    return { kind, id: record.id, phase: record.phase, updatedAt: record.updatedAt, data: data.output as LedgerData<K>, file: path };
  }
}

function issueText(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .slice(0, 3)
    .map((issue) => `${v.getDotPath(issue) ?? "(top)"}: ${issue.message}`)
    .join("; ");
}
