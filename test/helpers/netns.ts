// Throwaway network namespaces for tests: unique names, removed by name even when a test fails.
import { run } from "./binary";

let counter = 0;

/**
 * A unique prefix for everything one test file creates: "bt" + pid + counter, short enough that
 * prefix + suffix still fits the kernel's 15-byte interface names.
 */
export function uniquePrefix(): string {
  counter += 1;
  return `bt${(process.pid % 100000).toString(36)}${counter.toString(36)}`;
}

/** Runs `ip` with arguments and throws with its stderr when it fails. */
export async function ip(...args: string[]): Promise<string> {
  const result = await run(["ip", ...args]);
  if (result.code !== 0) throw new Error(`ip ${args.join(" ")}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** Runs a command inside a namespace (`ip netns exec NS ...`). */
export function inNamespace(namespace: string, argv: readonly string[], options: Parameters<typeof run>[1] = {}) {
  return run(["ip", "netns", "exec", namespace, ...argv], options);
}

/**
 * NamespaceSet class: the namespaces (and, through them, the links) a test made. Links created
 * inside a namespace die with it; `cleanup` deletes every namespace by its exact name.
 */
export class NamespaceSet {
  readonly prefix: string;
  readonly #names: string[] = [];

  constructor(prefix = uniquePrefix()) {
    this.prefix = prefix;
  }

  /** Creates namespace PREFIX-suffix with loopback up and returns its name. */
  async add(suffix: string): Promise<string> {
    const name = `${this.prefix}-${suffix}`;
    await ip("netns", "add", name);
    this.#names.push(name);
    await ip("-n", name, "link", "set", "lo", "up");
    return name;
  }

  /** Creates a veth pair between two namespaces (ends named as given, moved into each). */
  async veth(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
    await ip("-n", nsA, "link", "add", ifA, "type", "veth", "peer", "name", ifB, "netns", nsB);
  }

  /** Deletes every namespace this set made, by name; never by pattern. */
  async cleanup(): Promise<void> {
    for (const name of this.#names.splice(0).reverse()) {
      await run(["ip", "netns", "del", name]);
    }
  }
}

/**
 * Pings an address from inside a namespace (bounded: -W 2 per echo); the smallest RTT when answered.
 * The minimum, not the average: shaping adds a fixed delay to every echo, so the minimum still shows
 * it, while a loaded machine (CI shares two cores) inflates the average of an unshaped path past any bound.
 */
export async function ping(namespace: string, address: string, count = 1): Promise<{ ok: boolean; rtt: number }> {
  const result = await run(["ip", "netns", "exec", namespace, "ping", "-n", "-q", "-c", String(count), "-i", "0.2", "-W", "2", address]);
  return { ok: result.code === 0, rtt: Number(/= ([\d.]+)\/[\d.]+\//.exec(result.stdout)?.[1] ?? Number.NaN) };
}
