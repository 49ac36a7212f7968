// The forwarder's latency governor: when it may spin (a CPU to spare) and when it holds real-time priority (its own load light), and the /proc/stat parse.
import { describe, expect, test } from "bun:test";
import { decide, idleTicksOf } from "../../src/system/vde/latency-governor";

const window = 100_000;
const bytes = (text: string) => new TextEncoder().encode(text);

describe("decide", () => {
  test("spins only with half a CPU idle, counting its own spinning as idle", () => {
    expect(decide({ elapsedUs: window, idleUs: 120_000, ownUs: 30_000, spinUs: 0, busyWakes: 0, frames: 0 }, true).spin).toBe(true);
    // Two CPU-bound processes beside it: nothing idle, so no spinning (it would take their CPU).
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 30_000, spinUs: 0, busyWakes: 0, frames: 0 }, true).spin).toBe(false);
    // Its own spinning made the CPU look busy: that time was free for anyone, so spinning goes on.
    expect(decide({ elapsedUs: window, idleUs: 10_000, ownUs: 70_000, spinUs: 60_000, busyWakes: 0, frames: 0 }, true).spin).toBe(true);
    // Busy with work (not spinning) and the other CPU busy too: no.
    expect(decide({ elapsedUs: window, idleUs: 10_000, ownUs: 70_000, spinUs: 0, busyWakes: 0, frames: 0 }, true).spin).toBe(false);
    // /proc/stat unreadable: never.
    expect(decide({ elapsedUs: window, idleUs: undefined, ownUs: 0, spinUs: 0, busyWakes: 0, frames: 0 }, true).spin).toBe(false);
  });

  test("gives up real-time priority above 75 % of a CPU of its own work, takes it back below 50 %", () => {
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 70_000, spinUs: 0, busyWakes: 0, frames: 0 }, true).realTime).toBe(true);
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 80_000, spinUs: 0, busyWakes: 0, frames: 0 }, true).realTime).toBe(false);
    // Hysteresis: 60 % keeps it off once off.
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 60_000, spinUs: 0, busyWakes: 0, frames: 0 }, false).realTime).toBe(false);
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 40_000, spinUs: 0, busyWakes: 0, frames: 0 }, false).realTime).toBe(true);
    // Spinning is not work: 95 % of a CPU of which 80 % spinning is light.
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 95_000, spinUs: 80_000, busyWakes: 3000, frames: 4000 }, true).realTime).toBe(true);
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 95_000, spinUs: 80_000, busyWakes: 0, frames: 0 }, true).realTime).toBe(true);
  });
});

describe("decide, by the traffic's batching", () => {
  test("bulk traffic (8 or more frames per busy wake-up) steps down however light; latency traffic (under 4) steps up", () => {
    // TCP: 40 wake-ups moving 120 frames each, only 30 % of a CPU: still bulk.
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 30_000, spinUs: 0, busyWakes: 40, frames: 4800 }, true).realTime).toBe(false);
    // ping -f: 3,000 wake-ups moving 1.33 frames each, 40 % of a CPU: latency-bound.
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 40_000, spinUs: 0, busyWakes: 3000, frames: 4000 }, false).realTime).toBe(true);
    // Hysteresis: 5 frames per wake-up keeps it where it is.
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 20_000, spinUs: 0, busyWakes: 100, frames: 500 }, true).realTime).toBe(true);
    expect(decide({ elapsedUs: window, idleUs: 0, ownUs: 20_000, spinUs: 0, busyWakes: 100, frames: 500 }, false).realTime).toBe(false);
  });
});

describe("idleTicksOf", () => {
  test("adds idle and iowait of the first line", () => {
    const text = bytes("cpu  2255 34 2290 22625563 6290 127 456 0 0 0\ncpu0 1132 34 1441 11311718 3675 127 438 0 0 0\n");
    expect(idleTicksOf(text, text.length)).toBe(22625563 + 6290);
  });

  test("a short, cut or foreign first line gives undefined", () => {
    const cut = bytes("cpu  2255 34 2290");
    expect(idleTicksOf(cut, cut.length)).toBeUndefined();
    const other = bytes("intr 1 2 3 4 5 6\n");
    expect(idleTicksOf(other, other.length)).toBeUndefined();
    expect(idleTicksOf(new Uint8Array(0), -1)).toBeUndefined();
  });
});
