// Descriptors opened inside a named network namespace, with nothing but system calls while the thread is there (so no thread is born there).
import { writeSync } from "node:fs";
import { BenitoError, InputError } from "../errors";
import { cString, errno, libc, SystemCallError } from "./libc";
import { CLONE_NEWNET, O_CLOEXEC, O_RDONLY } from "./libc-constants";

/** Where named namespaces live: the same place `ip netns` uses, so both tools see the same namespaces. */
export const namespaceDir = "/run/netns";

/** The path of a named namespace; refuses a name that is not a plain file name under /run/netns. */
export function namespacePath(name: string): string {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0") || name.length > 255) {
    throw new InputError("naming the network namespace", JSON.stringify(name), "not a plain name (no /, not . or ..)");
  }
  return `${namespaceDir}/${name}`;
}

/** The calling thread's own network namespace (opened afresh each time: the thread's, not the process's). */
export const threadNamespacePath = "/proc/thread-self/ns/net";
const threadNamespace = cString(threadNamespacePath);

/**
 * Returns the calling thread to its own network namespace (the descriptor `home`), or aborts the
 * process: a thread left in another namespace must not go on (every later link, address, route
 * and socket would land there), so this is not an error to catch. The reason goes to stderr as
 * one line first.
 */
export function returnHome(home: number, name: string): void {
  if (libc.setns(home, CLONE_NEWNET) === 0) return;
  const cause = new SystemCallError("setns", errno()).message;
  try {
    writeSync(2, `benito: while returning from the network namespace on ${name}: ${cause}; stopping at once (the process must not go on in another namespace)\n`);
  } finally {
    process.abort();
  }
}

/**
 * A network namespace to make descriptors in: a name under /run/netns, or a descriptor of a
 * namespace not mounted yet (one being created), with a name for messages. The caller keeps
 * (and closes) such a descriptor.
 */
export type NamespaceRef = string | { readonly fd: number; readonly name: string };

function refName(netns: NamespaceRef): string {
  return typeof netns === "string" ? netns : netns.name;
}

/** Opens the namespace (unless given as a descriptor) and the thread's own one; `release` closes what this opened. */
function openBoth(netns: NamespaceRef): { readonly target: number; readonly home: number; readonly release: () => void } {
  const name = refName(netns);
  const target = typeof netns === "string" ? libc.open(cString(namespacePath(netns)), O_RDONLY | O_CLOEXEC, 0) : netns.fd;
  if (target < 0) throw new BenitoError("entering the network namespace", name, new SystemCallError("open", errno()).message);
  const home = libc.open(threadNamespace, O_RDONLY | O_CLOEXEC, 0);
  const release = () => {
    if (typeof netns === "string") libc.close(target);
    if (home >= 0) libc.close(home);
  };
  if (home < 0) {
    const code = errno();
    release();
    throw new BenitoError("entering the network namespace", name, new SystemCallError(`open(${threadNamespacePath})`, code).message);
  }
  return { target, home, release };
}

/**
 * Enters the namespace, makes one descriptor, and comes back. Why nothing else may run in between:
 * a new thread inherits the network namespace of the thread that creates it, and the engine
 * creates threads from the main thread whenever it needs one (a JIT worker for a function that
 * became hot, GC helpers, Bun's pool): one born there keeps the namespace alive after `ip netns
 * del` (test/vde/forwarder-threads.test.ts saw a JITWorker do so in the forwarder). So between the
 * two setns calls there are only calls to libc functions (bun:ffi symbols are native functions:
 * no JavaScript function is entered, so no tier-up check, no trap check, and nothing allocates),
 * which gives the engine no point at which to start a thread. errno is read after coming back
 * (a successful setns leaves it alone).
 */
function makeInside(netns: NamespaceRef, path: Buffer | null, flags: number, domain: number, type: number, protocol: number): { readonly fd: number; readonly code: number } {
  const name = refName(netns);
  const { target, home, release } = openBoth(netns);
  let fd = -1;
  // 0: not entered; 1: entered and could not come back; 2: entered and back home.
  let stage = 0;
  // ---- the window: from the first setns to the second, libc calls only ----
  if (libc.setns(target, CLONE_NEWNET) === 0) {
    fd = path === null ? libc.socket(domain, type, protocol) : libc.open(path, flags, 0);
    stage = libc.setns(home, CLONE_NEWNET) === 0 ? 2 : 1;
  }
  // ---- home again (stage 2): the engine may do as it likes ----
  const code = errno();
  try {
    if (stage === 1) returnHome(home, name);
    if (stage === 0) throw new BenitoError("entering the network namespace", name, new SystemCallError("setns", code).message);
    return { fd, code: fd < 0 ? code : 0 };
  } finally {
    release();
  }
}

/**
 * Opens `path` with the calling thread inside the named namespace (in its own namespace when
 * `netns` is undefined): for files bound to their opener's namespace, such as /dev/net/tun (a
 * TAP's file takes the namespace at open; TUNSETIFF then finds and makes TAPs there, whoever
 * calls it) and /proc/sys/net/... (the sysctl of the namespace that opened it).
 *
 * @throws SystemCallError (call `open(PATH)`) when the open fails; BenitoError when the namespace cannot be entered.
 */
export function openInNamespace(netns: NamespaceRef | undefined, path: string, flags: number): number {
  const file = cString(path);
  if (netns === undefined) {
    const fd = libc.open(file, flags, 0);
    if (fd < 0) throw new SystemCallError(`open(${path})`, errno());
    return fd;
  }
  const { fd, code } = makeInside(netns, file, flags, 0, 0, 0);
  if (fd < 0) throw new SystemCallError(`open(${path})`, code);
  return fd;
}

/**
 * Makes a socket with the calling thread inside the named namespace (in its own namespace when
 * `netns` is undefined): a socket belongs to the namespace it was made in for its whole life
 * (netlink requests, interface ioctls, packet capture), whichever thread uses it later.
 *
 * @param call How a failure names the call, e.g. "socket(AF_NETLINK)".
 * @throws SystemCallError when socket() fails; BenitoError when the namespace cannot be entered.
 */
export function socketInNamespace(netns: NamespaceRef | undefined, domain: number, type: number, protocol: number, call: string): number {
  if (netns === undefined) {
    const fd = libc.socket(domain, type, protocol);
    if (fd < 0) throw new SystemCallError(call, errno());
    return fd;
  }
  const { fd, code } = makeInside(netns, null, 0, domain, type, protocol);
  if (fd < 0) throw new SystemCallError(call, code);
  return fd;
}
