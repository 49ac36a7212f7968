// The valibot schema of a plan step, so a plan stored in the ledger (a vnode's teardown) is read back checked, never cast.
import * as v from "valibot";
import type { Step } from "./step";

const text = v.string();
const placement = v.optional(v.object({ netns: v.optional(text) }));
const id = text;

/** Schema of one {@link Step} (every variant; unknown kinds are rejected). */
export const stepSchema: v.GenericSchema<Step> = v.variant("kind", [
  v.object({ kind: v.literal("netns.create"), id, name: text }),
  v.object({ kind: v.literal("netns.delete"), id, name: text }),
  v.object({ kind: v.literal("tap.create"), id, name: text, mac: v.optional(text), owner: v.optional(v.number()), placement }),
  v.object({ kind: v.literal("tap.delete"), id, name: text, placement }),
  v.object({ kind: v.literal("dir.create"), id, path: text }),
  v.object({ kind: v.literal("file.write"), id, path: text, content: text }),
  v.object({ kind: v.literal("file.delete"), id, path: text }),
  v.object({ kind: v.literal("dir.delete"), id, path: text }),
  v.object({ kind: v.literal("disk.overlay"), id, base: text, baseFormat: v.picklist(["qcow2", "raw"]), path: text }),
  v.object({ kind: v.literal("config.disk"), id, configDir: text, hostname: text, path: text }),
  v.object({ kind: v.literal("vm.powerdown"), id, qmp: text, pidfile: text, program: text, graceMs: v.number() }),
  v.object({ kind: v.literal("bridge.create"), id, name: text, members: v.array(text) }),
  v.object({ kind: v.literal("bridge.delete"), id, name: text }),
  v.object({
    kind: v.literal("process.start"),
    id,
    argv: v.array(text),
    pidfile: text,
    log: v.optional(text),
    placement,
    readyPath: v.optional(text),
    readyTimeoutMs: v.optional(v.number()),
    daemonizes: v.optional(v.boolean()),
    restartWhen: v.optional(v.array(text)),
  }),
  v.object({ kind: v.literal("process.stop"), id, pidfile: text, graceMs: v.number(), program: v.optional(text), netns: v.optional(text) }),
  v.object({ kind: v.literal("command.run"), id, argv: v.array(text), placement, log: v.optional(text) }),
  v.object({
    kind: v.literal("forwarder.port"),
    id,
    runDir: text,
    port: text,
    tap: text,
    placement,
    switchDir: text,
    switchPort: v.number(),
    owner: text,
    restartWhen: v.optional(v.array(text)),
  }),
  v.object({ kind: v.literal("forwarder.unport"), id, runDir: text, port: text }),
  v.object({ kind: v.literal("link.delete"), id, name: text }),
  v.object({ kind: v.literal("kernel.tap"), id, name: text, bridge: text, alias: text }),
  v.object({ kind: v.literal("kernel.veth"), id, name: text, peer: text, mac: v.optional(text), netns: text, bridge: text, alias: text }),
  v.object({ kind: v.literal("kernel.shape"), id, port: text, alias: text, egress: v.optional(v.array(text)), ifb: text, ingress: v.array(text) }),
]);
