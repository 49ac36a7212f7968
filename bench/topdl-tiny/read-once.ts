// One cold TopDL read in a fresh process (bench/topdl-tiny.ts compiles it as benito is built): the whole read or one host's fast path.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { readFileSync } from "node:fs";
import { extractHostTopology } from "../../src/topdl/extract";
import { checkTopology } from "../../src/topdl/parse";

// The main thread's own CPU time (CLOCK_THREAD_CPUTIME_ID): the rest of the process's is the JIT's and the collector's threads.
const libc = dlopen("libc.so.6", { clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 } });
const clock = new BigInt64Array(2);
function threadNs(): number {
  libc.symbols.clock_gettime(3, ptr(clock));
  return Number(clock[0]) * 1e9 + Number(clock[1]);
}

const [mode, file, host = ""] = process.argv.slice(2);
if ((mode !== "whole" && mode !== "fast") || file === undefined) throw new Error("usage: read-once whole|fast FILE [HOST]");
const bytes = new Uint8Array(readFileSync(file));
threadNs();
const cpu = process.cpuUsage();
const main = threadNs();
const partial = mode === "whole" ? false : extractHostTopology(bytes, file, host).partial;
if (mode === "whole") checkTopology(bytes, file);
const mainMs = (threadNs() - main) / 1e6;
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({ cpuMs: (used.user + used.system) / 1000, mainMs, partial }));
