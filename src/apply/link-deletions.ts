// Deletes the host's links for teardowns running at once (down's parallel vnode stops) in shared kernel batches.
import { Rtnl } from "../system/netlink/rtnl";

interface Pending {
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Deletions asked for since the last batch went out. */
let pending: Pending[] = [];
let scheduled = false;

/**
 * Deletes a link of this process's namespace (by index, already checked to be benito's) and
 * resolves once it is gone. Deletions asked for in the same turn of the event loop — the
 * consecutive link steps of one teardown, and those of other teardowns running in parallel —
 * go to the kernel as one batch (`Rtnl.deleteLinks`): one RCU grace period for all of them
 * instead of one each. Each caller still learns its own link's outcome.
 */
export function deleteLinkBatched(index: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    pending.push({ index, resolve, reject });
    if (scheduled) return;
    scheduled = true;
    // After the work already queued: the other teardowns reach their own deletions first.
    setImmediate(flush);
  });
}

function flush(): void {
  scheduled = false;
  const batch = pending;
  pending = [];
  // Every request is settled, whatever fails: a teardown never waits for ever.
  try {
    const rtnl = Rtnl.open();
    try {
      const outcomes = rtnl.deleteLinks(batch.map((request) => request.index));
      batch.forEach((request, position) => {
        const failure = outcomes[position];
        if (failure === undefined) request.resolve();
        else request.reject(failure);
      });
    } finally {
      rtnl.close();
    }
  } catch (error) {
    for (const request of batch) request.reject(error);
  }
}
