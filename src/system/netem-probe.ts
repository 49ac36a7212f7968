// Whether this kernel has the netem qdisc: tried on the loopback of a throwaway namespace, never on a real link.
import { deleteNamespace, ensureNamespace } from "./netns";
import { runProgram } from "./processes";

/** True when `tc qdisc add … netem` works here (sch_netem built in or loadable). */
export async function netemAvailable(): Promise<boolean> {
  const name = `bk-netem-${process.pid}`;
  ensureNamespace(name);
  try {
    const result = await runProgram(["ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], 10_000);
    return result.code === 0;
  } finally {
    deleteNamespace(name);
  }
}
