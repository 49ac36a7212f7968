// Test driver: runs Rtnl operations in whatever network namespace it is started in (`ip netns exec NS bun driver.ts`).
//
// Reads {"bufferBytes"?: n, "ops": [[method, ...args], ...]} as JSON on standard input, runs each
// op on one Rtnl instance, and prints one JSON array with {"value": …} or {"error", "errno"} per op.
// Besides Rtnl's public methods it knows "fdCount" (open descriptors of this process) and
// "openClose" (open, fail one request, and close N fresh instances) for the descriptor-leak test.
import { readdirSync } from "node:fs";
import { BenitoError } from "../../src/errors";
import { NetlinkError } from "../../src/system/netlink/errors";
import { Rtnl } from "../../src/system/netlink/rtnl";

type Op = [string, ...unknown[]];
const input = JSON.parse(await Bun.stdin.text()) as { bufferBytes?: number; ops: Op[] };
const rtnl = Rtnl.open(input.bufferBytes === undefined ? {} : { bufferBytes: input.bufferBytes });

function run([name, ...args]: Op): unknown {
  switch (name) {
    case "fdCount":
      return readdirSync("/proc/self/fd").length;
    case "openClose":
      for (let i = 0; i < (args[0] as number); i++) {
        const extra = Rtnl.open();
        try {
          extra.deleteLink(0x7ffffff0);
        } catch (error) {
          if (!(error instanceof NetlinkError)) throw error;
        } finally {
          extra.close();
        }
      }
      return null;
    default: {
      const method = (rtnl as unknown as Record<string, unknown>)[name];
      if (typeof method !== "function") throw new Error(`driver: no operation "${name}"`);
      return (method as (...a: unknown[]) => unknown).apply(rtnl, args) ?? null;
    }
  }
}

const results = input.ops.map((op) => {
  try {
    return { value: run(op) };
  } catch (error) {
    if (!(error instanceof BenitoError)) throw error;
    return { error: error.message, ...(error instanceof NetlinkError ? { errno: error.errno } : {}) };
  }
});
rtnl.close();
process.stdout.write(JSON.stringify(results));
