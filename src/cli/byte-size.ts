// Byte-count option values ("64M"), shared by the commands that take --max-bytes.
import { UsageError } from "../errors";

/** The largest --max-bytes: a document is held whole in memory, several times over while it is read. */
const largestLimit = 1024 ** 3;

const units: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A byte count: a positive whole number, optionally with a binary unit suffix (64M = 64 MiB; K, M, G, optional "iB" or "B"). */
export function byteSize(command: string, name: string, value: string): number {
  const match = /^([0-9]+)(?:([kmg])(?:i?b)?|b)?$/i.exec(value.trim());
  const bytes = match === null ? NaN : Number(match[1]) * units[(match[2] ?? "").toLowerCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UsageError(command, `--${name} wants a positive whole number of bytes, optionally with a unit (K, M, G: 64M is 64 MiB), got ${JSON.stringify(value)}`);
  }
  // A document is held in memory as one buffer and one string, whose length JavaScript caps near 2^31.
  if (bytes > largestLimit) throw new UsageError(command, `--${name} is at most ${largestLimit} (1 GiB), got ${JSON.stringify(value)}`);
  return bytes;
}
