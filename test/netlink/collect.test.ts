// Collecting kernel answers from raw datagrams: multi-part dumps until NLMSG_DONE, and batch ACKs matched by sequence number.
import { describe, expect, test } from "bun:test";
import { AckCollector, DumpCollector } from "../../src/system/netlink/collect";
import { decodeRoute } from "../../src/system/netlink/decode";
import type { RequestOutcome } from "../../src/system/netlink/types";
import { bytesOf, receivedOf } from "./bytes";

/** An RTM_NEWROUTE dump entry for 10.1.N.0/24 with the given header flags and seq. */
function routeEntry(n: number, seq: number, flags = "0200"): string {
  const hexSeq = seq.toString(16).padStart(2, "0");
  const hexN = n.toString(16).padStart(2, "0");
  return `24000000 1800 ${flags} ${hexSeq}000000 00000000  02 18 00 00 fe b7 00 01 00000000  0800 0100 0a01${hexN}00`;
}
/** NLMSG_DONE with a status. */
function done(seq: number, status = "00000000", flags = "0200"): string {
  return `14000000 0300 ${flags} ${seq.toString(16).padStart(2, "0")}000000 00000000  ${status}`;
}

describe("DumpCollector", () => {
  test("a dump spread over several datagrams ends at NLMSG_DONE; other sequence numbers are ignored", () => {
    const collector = new DumpCollector(5, decodeRoute);
    expect(collector.take(receivedOf(bytesOf(`${routeEntry(1, 5)} ${routeEntry(2, 4)} ${routeEntry(3, 5)}`)))).toBe(false);
    expect(collector.take(receivedOf(bytesOf(`${routeEntry(4, 5)} ${done(5)}`)))).toBe(true);
    expect(collector.items.map((route) => route.dst)).toEqual(["10.1.1.0", "10.1.3.0", "10.1.4.0"]);
    expect(collector.interrupted).toBe(false);
    expect(collector.failure).toBeUndefined();
  });

  test("entries after NLMSG_DONE are not taken", () => {
    const collector = new DumpCollector(5, decodeRoute);
    expect(collector.take(receivedOf(bytesOf(`${routeEntry(1, 5)} ${done(5)} ${routeEntry(2, 5)}`)))).toBe(true);
    expect(collector.items.length).toBe(1);
  });

  test("NLM_F_DUMP_INTR on any part marks the dump interrupted", () => {
    const collector = new DumpCollector(5, decodeRoute);
    collector.take(receivedOf(bytesOf(`${routeEntry(1, 5)} ${routeEntry(2, 5, "1200")} ${done(5, "00000000", "1200")}`)));
    expect(collector.done).toBe(true);
    expect(collector.interrupted).toBe(true);
  });

  test("NLMSG_DONE with a negative status is a failure", () => {
    const collector = new DumpCollector(5, decodeRoute);
    expect(collector.take(receivedOf(bytesOf(done(5, "f0ffffff"))))).toBe(true);
    expect(collector.failure).toEqual({ errno: 16 });
  });

  test("an NLMSG_ERROR instead of entries ends the dump with the kernel's answer", () => {
    const collector = new DumpCollector(5, decodeRoute);
    const error = "24000000 0200 0001 05000000 00000000  eaffffff  1c000000 1a00 0103 05000000 00000000";
    expect(collector.take(receivedOf(bytesOf(error)))).toBe(true);
    expect(collector.failure).toEqual({ errno: 22 });
    expect(collector.items).toEqual([]);
  });
});

describe("AckCollector", () => {
  /** A capped NLMSG_ERROR datagram answering seq with errno (0 = ACK). */
  function ack(seq: number, errno = 0): ReturnType<typeof receivedOf> {
    const error = new DataView(new ArrayBuffer(4));
    error.setInt32(0, -errno, true);
    const errorHex = Buffer.from(error.buffer).toString("hex");
    return receivedOf(bytesOf(`24000000 0200 0001 ${seq.toString(16).padStart(2, "0")}000000 00000000  ${errorHex}  3c000000 1800 0505 00000000 00000000`));
  }

  test("refusals land at their requests' indexes in the batch; the last request's ACK completes the chunk and the silent ones succeeded; repeats and strangers are ignored", () => {
    const outcomes = new Array<RequestOutcome | undefined>(6).fill(undefined);
    // The chunk holds batch requests 1, 2, 4 and 5 (0 and 3 were refused before sending), numbered 40–43.
    const requestOf = Int32Array.from([1, 2, 4, 5]);
    const collector = new AckCollector(outcomes, requestOf);
    collector.expect(40, 4);
    collector.take(ack(41, 101));
    collector.take(ack(41, 3));
    collector.take(ack(39));
    collector.take(ack(44));
    expect(collector.complete).toBe(false);
    expect(outcomes).toEqual([undefined, undefined, { ok: false, errno: 101, message: "Network is unreachable" }, undefined, undefined, undefined]);
    collector.take(ack(43));
    expect(collector.complete).toBe(true);
    collector.take(ack(42, 17));
    expect(outcomes).toEqual([undefined, { ok: true }, { ok: false, errno: 101, message: "Network is unreachable" }, undefined, { ok: true }, { ok: true }]);
  });

  test("a refused last request completes the chunk too", () => {
    const outcomes = new Array<RequestOutcome | undefined>(2).fill(undefined);
    const collector = new AckCollector(outcomes, Int32Array.from([0, 1]));
    collector.expect(7, 2);
    collector.take(ack(8, 17));
    expect(collector.complete).toBe(true);
    expect(outcomes).toEqual([{ ok: true }, { ok: false, errno: 17, message: "File exists" }]);
  });

  test("datagrams that are not NLMSG_ERROR are ignored", () => {
    const outcomes = new Array<RequestOutcome | undefined>(1).fill(undefined);
    const collector = new AckCollector(outcomes, Int32Array.from([0]));
    collector.expect(5, 1);
    collector.take(receivedOf(bytesOf(routeEntry(1, 5))));
    expect(collector.complete).toBe(false);
    expect(outcomes).toEqual([undefined]);
  });
});
