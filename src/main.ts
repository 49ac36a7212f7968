// benito's entry point: the only place that prints and exits.
import { runCli } from "./cli/run";
import type { Io } from "./cli/command";

const io: Io = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};

// process.argv0 is the name the binary was invoked as (a link named routes.py stays routes.py);
// argv[0..1] are the runtime and the bundled script.
const code = await runCli(process.argv0, process.argv.slice(2), { io, env: process.env, debug: false });
process.exitCode = code;
