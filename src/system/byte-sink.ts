// Where binary output goes: a file, or standard output written directly (blocking), noticing a reader that went away.
import { closeSync, openSync, writeSync } from "node:fs";
import { BenitoError, messageOf } from "../errors";
import { libc } from "./libc";
import { F_GETFL, F_SETFL, O_NONBLOCK } from "./libc-constants";

/** ByteSink class: writes whole buffers to a file or to standard output. */
export class ByteSink {
  readonly #fd: number;
  readonly #owned: boolean;
  readonly #what: string;

  private constructor(fd: number, owned: boolean, what: string) {
    this.#fd = fd;
    this.#owned = owned;
    this.#what = what;
  }

  /**
   * Opens `path` for writing (created or truncated, mode 0644), or standard output for "-".
   *
   * @throws BenitoError naming the file when it cannot be created.
   */
  static open(path: string): ByteSink {
    if (path === "-") {
      // Bun may leave standard output non-blocking; a pipe to a slow reader must block, not fail.
      const flags = libc.fcntl(1, F_GETFL, 0);
      if (flags >= 0 && (flags & O_NONBLOCK) !== 0) libc.fcntl(1, F_SETFL, flags & ~O_NONBLOCK);
      return new ByteSink(1, false, "standard output");
    }
    try {
      return new ByteSink(openSync(path, "w", 0o644), true, path);
    } catch (error) {
      throw new BenitoError("creating the capture file", path, messageOf(error));
    }
  }

  /**
   * Writes all of bytes. Returns false when the reader has gone (a closed pipe): the caller stops
   * quietly, as tcpdump does.
   *
   * @throws BenitoError for any other failure (disk full …).
   */
  write(bytes: Uint8Array): boolean {
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(this.#fd, bytes, offset, bytes.length - offset);
    } catch (error) {
      if (error instanceof Error && "code" in error && error.code === "EPIPE") return false;
      throw new BenitoError("writing the capture", this.#what, messageOf(error));
    }
    return true;
  }

  /** Closes a file (standard output stays open). */
  close(): void {
    if (this.#owned) closeSync(this.#fd);
  }
}
