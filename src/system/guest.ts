// What the guest side needs from its kernel: finding a virtio disk by serial, reading it whole, setting the hostname.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { BenitoError } from "../errors";
import { check, libc } from "./libc";

/** The /dev path of the block device whose /sys/block/NAME/serial is serial, or undefined. */
export function findDiskBySerial(serial: string): string | undefined {
  if (!existsSync("/sys/block")) return undefined;
  for (const name of readdirSync("/sys/block").sort()) {
    try {
      if (readFileSync(`/sys/block/${name}/serial`, "utf8").trim() === serial) return `/dev/${name}`;
    } catch {
      // Not every block device has a serial (loop, ram): skip it.
    }
  }
  return undefined;
}

/** Reads a disk (or any file) whole, up to maxBytes: a block device's size comes from reading to its end. */
export function readDisk(path: string, maxBytes = 256 * 1024 * 1024): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw new BenitoError("reading the config disk", path, (error as Error).message);
  }
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const chunk = new Uint8Array(1024 * 1024);
      const count = readSync(fd, chunk, 0, chunk.length, null);
      if (count === 0) break;
      chunks.push(chunk.subarray(0, count));
      total += count;
      if (total > maxBytes) throw new BenitoError("reading the config disk", path, `it is larger than ${maxBytes} bytes`);
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Sets the kernel's hostname (sethostname(2); needs CAP_SYS_ADMIN in the UTS namespace). */
export function setKernelHostName(name: string): void {
  const bytes = Buffer.from(name, "utf8");
  check("sethostname", libc.sethostname(bytes, bytes.length));
}
