// Named network namespaces without iproute2: create, delete and exec into them through libc (unshare, mount, setns, execvp).
import { closeSync, existsSync, mkdirSync, openSync, statfsSync, writeSync } from "node:fs";
import { ptr } from "bun:ffi";
import { BenitoError, InputError } from "../errors";
import { check, cString, errno, libc, SystemCallError } from "./libc";
import { Rtnl } from "./netlink/rtnl";
import { failpoint } from "./failpoints";
import { CLONE_NEWNET, EINVAL, F_GETFL, F_SETFL, MNT_DETACH, MS_BIND, MS_REC, MS_SHARED, O_CLOEXEC, O_NONBLOCK, O_RDONLY, SIGPIPE } from "./libc-constants";

/** Where named namespaces live: the same place `ip netns` uses, so both tools see the same namespaces. */
export const namespaceDir = "/run/netns";


/** Refuses a namespace name that is not a plain file name under /run/netns. */
function validate(name: string): string {
  if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0") || name.length > 255) {
    throw new InputError("naming the network namespace", JSON.stringify(name), "not a plain name (no /, not . or ..)");
  }
  return `${namespaceDir}/${name}`;
}

/** Makes /run/netns a shared mount point (as iproute2 does), so namespace mounts show in every mount namespace. */
function ensureSharedDir(): void {
  mkdirSync(namespaceDir, { recursive: true, mode: 0o755 });
  const dir = cString(namespaceDir);
  if (libc.mount(cString(""), dir, cString("none"), MS_SHARED | MS_REC, null) === 0) return;
  if (errno() !== EINVAL) throw new SystemCallError(`mount(${namespaceDir}, MS_SHARED)`, errno());
  // Not a mount point yet: bind it onto itself, then make it shared.
  check(`mount(${namespaceDir}, MS_BIND)`, libc.mount(dir, dir, cString("none"), MS_BIND | MS_REC, null));
  check(`mount(${namespaceDir}, MS_SHARED)`, libc.mount(cString(""), dir, cString("none"), MS_SHARED | MS_REC, null));
}

/**
 * Returns the calling thread to its own network namespace (the descriptor `home`), or aborts the
 * process: a thread left in another namespace must not go on (every later link, address, route
 * and socket would land there), so this is not an error to catch. The reason goes to stderr as
 * one line first.
 */
function returnHome(home: number, name: string): void {
  if (libc.setns(home, CLONE_NEWNET) === 0) return;
  const cause = new SystemCallError("setns", errno()).message;
  try {
    writeSync(2, `benito: while returning from the network namespace on ${name}: ${cause}; stopping at once (the process must not go on in another namespace)\n`);
  } finally {
    process.abort();
  }
}

/**
 * Creates the named network namespace (like `ip netns add`): the calling thread unshares into
 * a new namespace, runs inside() there (e.g. to bring loopback up over netlink), bind-mounts it
 * at /run/netns/NAME (so it appears only once set up), and returns to its own namespace.
 */
export function createNamespace(name: string, inside?: () => void): void {
  const path = validate(name);
  try {
    ensureSharedDir();
    closeSync(openSync(path, "wx", 0));
  } catch (error) {
    throw new BenitoError("creating the network namespace", name, error instanceof Error ? error.message : String(error));
  }
  const home = check("open(/proc/thread-self/ns/net)", libc.open(cString("/proc/thread-self/ns/net"), O_RDONLY, 0));
  let failure: unknown;
  try {
    check("unshare(CLONE_NEWNET)", libc.unshare(CLONE_NEWNET));
    // Set up before it is mounted: killed in between, the namespace dies with this thread and
    // leaves only the empty file ensureNamespace clears, never a mounted one without its loopback.
    inside?.();
    check(`mount(${path}, MS_BIND)`, libc.mount(cString("/proc/thread-self/ns/net"), cString(path), cString("none"), MS_BIND, null));
  } catch (error) {
    failure = error;
  } finally {
    // Back home before anything else runs: the rest of benito must never act in the new namespace.
    returnHome(home, name);
    libc.close(home);
  }
  if (failure !== undefined) {
    libc.umount2(cString(path), MNT_DETACH);
    libc.unlink(cString(path));
    throw new BenitoError("creating the network namespace", name, failure instanceof Error ? failure.message : String(failure));
  }
}

/** Sets the loopback of the current namespace up when it is down; says whether it was down. */
function loopbackUpHere(): boolean {
  const rtnl = Rtnl.open();
  try {
    const lo = rtnl.linkByName("lo");
    if (lo === undefined || lo.up) return false;
    rtnl.setLinkUp(lo.index, true);
    return true;
  } finally {
    rtnl.close();
  }
}

/**
 * Creates the named namespace (when absent) with its loopback up, as `ip netns add` + `ip link
 * set lo up`. An existing one gets its loopback up when it is down (a create cut short between
 * mounting the namespace and that step leaves it so). Returns whether anything changed.
 */
export function ensureNamespace(name: string): boolean {
  if (namespaceExists(name)) return withinNamespace(name, loopbackUpHere);
  // A file left by a create or delete cut short (not a mounted namespace) goes first.
  if (existsSync(validate(name))) check(`unlink(${validate(name)})`, libc.unlink(cString(validate(name))));
  createNamespace(name, () => {
    failpoint(`netns:${name}:setup`);
    loopbackUpHere();
  });
  return true;
}

/** True when the named namespace exists and its loopback is up (what benito's namespaces have). */
export function namespaceReady(name: string): boolean {
  return namespaceExists(name) && withinNamespace(name, () => {
    const rtnl = Rtnl.open();
    try {
      return rtnl.linkByName("lo")?.up === true;
    } finally {
      rtnl.close();
    }
  });
}

/** nsfs's magic number (statfs f_type): a file under /run/netns that is a mounted namespace. */
const NSFS_MAGIC = 0x6e736673;

/**
 * True when the named namespace exists: its file is a mounted namespace (an empty file left by
 * a create or delete cut short does not count).
 */
export function namespaceExists(name: string): boolean {
  try {
    return statfsSync(validate(name)).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** Deletes the named namespace (like `ip netns del`): detaches its mount and removes the file; absent is fine. */
export function deleteNamespace(name: string): void {
  const path = validate(name);
  if (!existsSync(path)) return;
  // EINVAL: not mounted (a half-made namespace); the file still goes.
  if (libc.umount2(cString(path), MNT_DETACH) !== 0 && errno() !== EINVAL) throw new BenitoError("deleting the network namespace", name, new SystemCallError("umount2", errno()).message);
  check(`unlink(${path})`, libc.unlink(cString(path)));
}

/**
 * Replaces this process with argv run inside the named namespace (like `ip netns exec`, same
 * pid). Only the network namespace changes: /sys is not remounted, so programs that read
 * /sys/class/net still see the host's links (netlink users, benito included, see the right ones).
 * Returns only by throwing.
 */
export function execInNamespace(name: string, argv: readonly string[]): never {
  const path = validate(name);
  if (argv.length === 0) throw new InputError("running in the network namespace", name, "no program given");
  const fd = libc.open(cString(path), O_RDONLY, 0);
  if (fd < 0) throw new BenitoError("entering the network namespace", name, new SystemCallError("open", errno()).message);
  check("setns(CLONE_NEWNET)", libc.setns(fd, CLONE_NEWNET));
  libc.close(fd);
  return execProgram(argv, "running in the network namespace", name);
}

/**
 * Replaces this process with argv (same pid, same namespaces): what `exec` does for the
 * embedded pnode, and {@link execInNamespace} after it has entered the namespace. Returns only
 * by throwing (the program could not be started), naming `doing` and `what`.
 */
export function execProgram(argv: readonly string[], doing: string, what: string): never {
  if (argv.length === 0) throw new InputError(doing, what, "no program given");
  // What Bun set up for itself must not leak into the program: blocking stdio, default SIGPIPE.
  for (const stdio of [0, 1, 2]) {
    const flags = libc.fcntl(stdio, F_GETFL, 0);
    if (flags >= 0 && (flags & O_NONBLOCK) !== 0) libc.fcntl(stdio, F_SETFL, flags & ~O_NONBLOCK);
  }
  libc.signal(SIGPIPE, null);
  const words = argv.map(cString);
  const pointers = new BigUint64Array(words.length + 1);
  words.forEach((word, index) => {
    pointers[index] = BigInt(ptr(word));
  });
  libc.execvp(words[0]!, ptr(pointers));
  throw new BenitoError(doing, what, `${argv[0]}: ${new SystemCallError("execvp", errno()).message}`);
}

/**
 * Runs fn with the calling thread inside the named namespace and brings it back before
 * returning (fn must be synchronous: nothing else may run in between). File descriptors opened
 * there (a TAP's /dev/net/tun fd, a socket) keep working from any namespace.
 */
export function withinNamespace<T>(name: string, fn: () => T): T {
  const path = validate(name);
  const target = libc.open(cString(path), O_RDONLY | O_CLOEXEC, 0);
  if (target < 0) throw new BenitoError("entering the network namespace", name, new SystemCallError("open", errno()).message);
  const home = libc.open(cString("/proc/thread-self/ns/net"), O_RDONLY | O_CLOEXEC, 0);
  if (home < 0) {
    libc.close(target);
    throw new BenitoError("entering the network namespace", name, new SystemCallError("open(/proc/thread-self/ns/net)", errno()).message);
  }
  try {
    if (libc.setns(target, CLONE_NEWNET) !== 0) throw new BenitoError("entering the network namespace", name, new SystemCallError("setns", errno()).message);
    try {
      return fn();
    } finally {
      // Back home before anything else runs: the rest of benito must never act in that namespace.
      returnHome(home, name);
    }
  } finally {
    libc.close(target);
    libc.close(home);
  }
}
