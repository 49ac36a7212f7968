// The kernel datapath's shaping qdiscs read (tc -j qdisc show) and changed (tc qdisc change), for `benito link`.
import * as v from "valibot";
import { BenitoError } from "../errors";
import type { KernelShaper, LinkParams } from "../plan/link-plan";
import { runProgram } from "./processes";

/** What `tc -j qdisc show dev X` says of a root qdisc: tbf's rate is bytes/s; netem's delay/jitter are seconds, loss a fraction. */
const qdiscList = v.array(
  v.looseObject({
    kind: v.string(),
    root: v.optional(v.boolean()),
    options: v.optional(
      v.looseObject({
        rate: v.optional(v.union([v.number(), v.looseObject({ rate: v.number() })])),
        delay: v.optional(v.looseObject({ delay: v.number(), jitter: v.optional(v.number()) })),
        "loss-random": v.optional(v.looseObject({ loss: v.number() })),
      }),
    ),
  }),
);

async function rootQdisc(device: string): Promise<v.InferOutput<typeof qdiscList>[number]> {
  const result = await runProgram(["tc", "-j", "qdisc", "show", "dev", device]);
  if (result.code !== 0) throw new BenitoError("reading the shaping", device, result.stderr.trim() || `tc exited ${result.code}`);
  let data: unknown;
  try {
    data = JSON.parse(result.stdout);
  } catch {
    throw new BenitoError("reading the shaping", device, "tc -j printed no JSON");
  }
  const parsed = v.safeParse(qdiscList, data);
  const root = parsed.success ? parsed.output.find((qdisc) => qdisc.root === true) : undefined;
  if (root === undefined) throw new BenitoError("reading the shaping", device, "no root qdisc benito can read");
  return root;
}

function rateKbps(rate: number | { rate: number } | undefined): number {
  if (rate === undefined) return 0;
  return (typeof rate === "number" ? rate : rate.rate) / 125;
}

/** What a kernel member's qdiscs apply now: capacity from the host end's tbf; latency, jitter and loss from the IFB's netem. */
export async function kernelParams(shaper: KernelShaper): Promise<LinkParams> {
  const host = await rootQdisc(shaper.hostEnd);
  const capacityKbps = host.kind === "tbf" ? rateKbps(host.options?.rate) : 0;
  if (!shaper.netem) return { latencyMs: 0, jitterMs: 0, lossPercent: 0, capacityKbps };
  const ifb = await rootQdisc(shaper.ifb);
  const delay = ifb.options?.delay;
  return {
    latencyMs: Number(((delay?.delay ?? 0) * 1000).toFixed(6)),
    jitterMs: Number(((delay?.jitter ?? 0) * 1000).toFixed(6)),
    lossPercent: Number(((ifb.options?.["loss-random"]?.loss ?? 0) * 100).toFixed(6)),
    capacityKbps,
  };
}

/** Runs tc commands in order (argv, never a shell); the first refusal stops them, with tc's message. */
export async function runTc(commands: readonly (readonly string[])[]): Promise<void> {
  for (const argv of commands) {
    const result = await runProgram(argv);
    if (result.code !== 0) throw new BenitoError("changing the shaping", argv.slice(0, 6).join(" "), result.stderr.trim() || `tc exited ${result.code}`);
  }
}
