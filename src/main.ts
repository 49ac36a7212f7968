// benito's entry point: the only place that prints and exits.
import { runCli } from "./cli/run";
import type { Io } from "./cli/command";

/**
 * A reader that went away (`benito boot --dry-run | head -1`) is not a failure of the work:
 * output to it is dropped from then on and the exit code stays the work's own.
 */
function isBrokenPipe(error: unknown): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === "EPIPE";
}

function writer(stream: NodeJS.WriteStream): (text: string) => void {
  let gone = false;
  stream.on("error", (error) => {
    if (isBrokenPipe(error)) gone = true;
    else throw error;
  });
  return (text) => {
    if (gone) return;
    try {
      stream.write(`${text}\n`);
    } catch (error) {
      if (!isBrokenPipe(error)) throw error;
      gone = true;
    }
  };
}

const io: Io = { out: writer(process.stdout), err: writer(process.stderr) };

// process.argv0 is the name the binary was invoked as (a link named routes.py stays routes.py);
// argv[0..1] are the runtime and the bundled script.
const code = await runCli(process.argv0, process.argv.slice(2), { io, env: process.env, debug: false });
process.exitCode = code;
