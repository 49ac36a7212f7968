// Runs the compiled build/benito (what the integration tests exercise) and captures its output.
import { resolve } from "node:path";

/** Absolute path of the compiled binary (`make build` writes it; `make test` builds first); BENITO_BIN overrides it. */
export const benitoBinary = process.env.BENITO_BIN ?? resolve(import.meta.dir, "../../build/benito");

/** What a finished run printed and returned. */
export interface RunResult {
  /** Exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/**
 * Runs a program to completion with a hard timeout (a hung child fails the test instead of the suite).
 *
 * @param argv The program and its arguments (never a shell).
 * @param options cwd, extra env, standard input, timeout in ms (default 30 s).
 */
export async function run(argv: readonly string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const child = Bun.spawn([...argv], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs ?? 30_000,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/** Runs build/benito with the given arguments. */
export function benito(args: readonly string[], options: Parameters<typeof run>[1] = {}): Promise<RunResult> {
  return run([benitoBinary, ...args], options);
}
