// The forwarder's latency governor: when it may spin (a CPU to spare) and when it holds real-time priority (latency-bound traffic, its own work light), and the /proc/stat parse.
import { describe, expect, test } from "bun:test";
import { decide, idleTicksOf } from "../../src/system/vde/latency-governor";

const window = 100_000;
const bytes = (text: string) => new TextEncoder().encode(text);

/** A window's traffic: a ping-like exchange (balanced), a one-way stream, TCP bulk, or none. */
const ping = { frames: 4000, balance: 1 };
const oneWay = { frames: 4000, balance: 0 };
const tcp = { frames: 9000, balance: 0.5 };
const none = { frames: 0, balance: 1 };
const sample = (ownUs: number, traffic: { frames: number; balance: number }, idleUs: number | undefined = 0, spinUs = 0) => ({ elapsedUs: window, idleUs, ownUs, spinUs, traffic });

describe("decide", () => {
  test("spins only with half a CPU idle, counting its own spinning as idle", () => {
    expect(decide(sample(30_000, ping, 120_000), true).spin).toBe(true);
    // Two CPU-bound processes beside it: nothing idle, so no spinning (it would take their CPU).
    expect(decide(sample(30_000, ping, 0), true).spin).toBe(false);
    // Its own spinning made the CPU look busy: that time was free for anyone, so spinning goes on.
    expect(decide(sample(70_000, ping, 10_000, 60_000), true).spin).toBe(true);
    // Busy with work (not spinning) and the other CPU busy too: no.
    expect(decide(sample(70_000, ping, 10_000), true).spin).toBe(false);
    // /proc/stat unreadable: never.
    expect(decide(sample(0, none, undefined), true).spin).toBe(false);
  });

  test("latency-bound traffic keeps real-time priority up to 75 % of a CPU of its own work, and takes it back below 70 %", () => {
    expect(decide(sample(70_000, ping), true).realTime).toBe(true);
    expect(decide(sample(80_000, ping), true).realTime).toBe(false);
    // Hysteresis: 72 % keeps it off once off.
    expect(decide(sample(72_000, ping), false).realTime).toBe(false);
    // A ping -f beside two CPU hogs (57 % of a CPU in the normal class) takes it back.
    expect(decide(sample(57_000, ping), false).realTime).toBe(true);
    // Spinning is not work: 95 % of a CPU of which 80 % spinning is light.
    expect(decide(sample(95_000, ping, 0, 80_000), true).realTime).toBe(true);
  });

  test("bulk traffic (a one-way stream, TCP with its ACKs) steps down however light the work, whatever the priority made of its wake-ups", () => {
    expect(decide(sample(20_000, oneWay), true).realTime).toBe(false);
    expect(decide(sample(20_000, tcp), true).realTime).toBe(false);
    expect(decide(sample(20_000, tcp), false).realTime).toBe(false);
    // Between the two thresholds (0.6-0.8) a window keeps the state it found.
    expect(decide(sample(20_000, { frames: 4000, balance: 0.7 }), true).realTime).toBe(true);
    expect(decide(sample(20_000, { frames: 4000, balance: 0.7 }), false).realTime).toBe(false);
  });

  test("a window with next to no traffic (idle, a few broadcasts) changes nothing but a heavy load", () => {
    expect(decide(sample(0, none), false).realTime).toBe(false);
    expect(decide(sample(0, none), true).realTime).toBe(true);
    // 20 frames of a broadcast fanned out to 20 ports: one way each, but too few to judge.
    expect(decide(sample(1_000, { frames: 20, balance: 0 }), true).realTime).toBe(true);
    expect(decide(sample(90_000, none), true).realTime).toBe(false);
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
