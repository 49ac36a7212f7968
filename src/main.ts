// benito's entry point: the only place that prints and exits.
import { writeSync } from "node:fs";
import { runCli } from "./cli/run";
import type { Io } from "./cli/command";

/** An error's code, when it has one (EPIPE, EAGAIN). */
function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
}

/**
 * Writes lines straight to a file descriptor. Not `process.stdout`: building Node's stream
 * machinery costs about 8 ms of every start, a third of a vnode's whole boot. A reader that went
 * away (`benito boot --dry-run | head -1`) is not a failure of the work: output to it is dropped
 * from then on and the exit code stays the work's own. A descriptor some parent left
 * non-blocking (EAGAIN) hands the rest over to the stream, which waits for it.
 */
function writer(fd: 1 | 2, stream: () => NodeJS.WriteStream): (text: string) => void {
  let gone = false;
  let fallback: NodeJS.WriteStream | undefined;
  return (text) => {
    if (gone) return;
    if (fallback !== undefined) {
      fallback.write(`${text}\n`);
      return;
    }
    let bytes = Buffer.from(`${text}\n`);
    try {
      while (bytes.length > 0) bytes = bytes.subarray(writeSync(fd, bytes));
    } catch (error) {
      if (errorCode(error) === "EPIPE") gone = true;
      else if (errorCode(error) === "EAGAIN") {
        fallback = stream();
        fallback.on("error", (streamError) => {
          if (errorCode(streamError) === "EPIPE") gone = true;
          else throw streamError;
        });
        fallback.write(bytes);
      } else throw error;
    }
  };
}

const io: Io = { out: writer(1, () => process.stdout), err: writer(2, () => process.stderr) };

// process.argv0 is the name the binary was invoked as (a link named routes.py stays routes.py);
// argv[0..1] are the runtime and the bundled script.
const code = await runCli(process.argv0, process.argv.slice(2), { io, env: process.env, debug: false });
process.exitCode = code;
