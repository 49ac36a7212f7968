// Collectors that turn received datagrams into results: a dump's entries until NLMSG_DONE, a batch's ACKs by sequence number.
import { NLM_F_DUMP_INTR, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN } from "./constants";
import { decodeError, forEachMessage, type KernelAnswer, type Received } from "./decode";
import { describeKernelError } from "./errors";
import type { RequestOutcome } from "./types";

/** The outcome every successful request shares (batches of thousands allocate none). */
export const SUCCESS: RequestOutcome = Object.freeze({ ok: true });

/** A request's outcome from the kernel's answer. */
export function outcomeOf(answer: KernelAnswer): RequestOutcome {
  if (answer.errno === 0) return SUCCESS;
  const message = describeKernelError(answer.errno, answer.message);
  return answer.message === undefined ? { ok: false, errno: answer.errno, message } : { ok: false, errno: answer.errno, message, kernelMessage: answer.message };
}

/**
 * DumpCollector class: gathers the answer to one dump request (sequence number `seq`): each
 * multi-part message is decoded (undefined results are skipped) until NLMSG_DONE or an
 * NLMSG_ERROR; messages of other sequence numbers are ignored.
 */
export class DumpCollector<T> {
  /** The decoded entries so far. */
  readonly items: T[] = [];
  /** True once NLMSG_DONE (or an error) arrived. */
  done = false;
  /** True when the kernel flagged a message NLM_F_DUMP_INTR: the table changed during the dump. */
  interrupted = false;
  /** The error that ended the dump (NLMSG_ERROR, or NLMSG_DONE with a negative status). */
  failure: KernelAnswer | undefined;
  readonly #seq: number;
  readonly #decode: (received: Received, offset: number, length: number) => T | undefined;

  constructor(seq: number, decode: (received: Received, offset: number, length: number) => T | undefined) {
    this.#seq = seq;
    this.#decode = decode;
  }

  /** Takes one received datagram; returns true once the dump is complete. */
  take(received: Received): boolean {
    forEachMessage(received, (type, flags, seq, offset, length) => {
      if (seq !== this.#seq || this.done) return;
      if ((flags & NLM_F_DUMP_INTR) !== 0) this.interrupted = true;
      if (type === NLMSG_DONE) {
        this.done = true;
        // NLMSG_DONE carries the dump's final status as an int (negative errno on failure).
        if (length >= NLMSG_HDRLEN + 4) {
          const status = received.view.getInt32(offset + NLMSG_HDRLEN, true);
          if (status < 0) this.failure = { errno: -status };
        }
      } else if (type === NLMSG_ERROR) {
        this.done = true;
        const answer = decodeError(received, offset, length, flags);
        if (answer.errno !== 0) this.failure = answer;
      } else {
        const item = this.#decode(received, offset, length);
        if (item !== undefined) this.items.push(item);
      }
    });
    return this.done;
  }
}

/**
 * AckCollector class: matches the answers to one chunk of a batch to its requests. The chunk's
 * requests carry sequence numbers base, base+1, …; `requestOf[seq - base]` is the request's index
 * in the batch and its outcome lands in `outcomes` at that index. Only the chunk's last request
 * asks for an ACK; the kernel answers every refused one anyway, in order, each answer its own
 * datagram holding one NLMSG_ERROR. So the chunk is complete when the last request's answer is
 * in, and a request with no answer by then succeeded. Answers outside the chunk and repeats are
 * ignored.
 */
export class AckCollector {
  /** True once the answer to the chunk's last request arrived (every outcome of the chunk is then set). */
  complete = true;
  #base = 0;
  #count = 0;
  readonly #outcomes: (RequestOutcome | undefined)[];
  readonly #requestOf: Int32Array;

  constructor(outcomes: (RequestOutcome | undefined)[], requestOf: Int32Array) {
    this.#outcomes = outcomes;
    this.#requestOf = requestOf;
  }

  /** Starts a chunk of `count` requests numbered from `base`. */
  expect(base: number, count: number): void {
    this.#base = base;
    this.#count = count;
    this.complete = count === 0;
  }

  /** Takes one received datagram (an arrow function, so it can be handed to the socket as is). */
  readonly take = (received: Received): void => {
    const { view, start, end } = received;
    if (this.complete || end - start < NLMSG_HDRLEN || view.getUint16(start + 4, true) !== NLMSG_ERROR) return;
    const slot = view.getUint32(start + 8, true) - this.#base;
    if (slot < 0 || slot >= this.#count) return;
    const index = this.#requestOf[slot] as number;
    if (this.#outcomes[index] === undefined) this.#outcomes[index] = outcomeOf(decodeError(received, start, view.getUint32(start, true), view.getUint16(start + 6, true)));
    if (slot !== this.#count - 1) return;
    // Answers come in request order: nothing more will come for this chunk, the silent ones succeeded.
    for (let other = 0; other < this.#count; other++) {
      const request = this.#requestOf[other] as number;
      if (this.#outcomes[request] === undefined) this.#outcomes[request] = SUCCESS;
    }
    this.complete = true;
  };
}
