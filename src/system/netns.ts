// Named network namespaces without iproute2: create, delete and exec into them through libc (unshare, mount, setns, execvp).
import { closeSync, existsSync, mkdirSync, openSync, statfsSync } from "node:fs";
import { ptr } from "bun:ffi";
import { BenitoError, InputError } from "../errors";
import { check, cString, errno, libc, SystemCallError } from "./libc";
import { Rtnl } from "./netlink/rtnl";
import { failpoint } from "./failpoints";
import { CLONE_NEWNET, EINVAL, F_GETFL, F_SETFL, MNT_DETACH, MS_BIND, MS_REC, MS_SHARED, O_CLOEXEC, O_NONBLOCK, O_RDONLY, SIGPIPE } from "./libc-constants";
import { namespaceDir, namespacePath as validate, returnHome, threadNamespacePath, type NamespaceRef } from "./netns-open";

export { namespaceDir };

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
 * Creates the named network namespace (like `ip netns add`): runs setUp() with an rtnetlink
 * socket of the new namespace (e.g. to bring loopback up), then bind-mounts it at /run/netns/NAME,
 * so it appears only once set up. The calling thread is in the new namespace only for the
 * unshare and the open of its descriptor (libc calls only, see netns-open.ts: no thread may be
 * born there); setUp runs from the thread's own namespace.
 */
export function createNamespace(name: string, setUp?: (rtnl: Rtnl) => void): void {
  const path = validate(name);
  try {
    ensureSharedDir();
    closeSync(openSync(path, "wx", 0));
  } catch (error) {
    throw new BenitoError("creating the network namespace", name, error instanceof Error ? error.message : String(error));
  }
  const threadNamespace = cString(threadNamespacePath);
  const home = check(`open(${threadNamespacePath})`, libc.open(threadNamespace, O_RDONLY | O_CLOEXEC, 0));
  let namespaceFd = -1;
  // 0: unshare failed; 1: could not come back; 2: back home.
  let stage = 0;
  // ---- the window: libc calls only ----
  if (libc.unshare(CLONE_NEWNET) === 0) {
    namespaceFd = libc.open(threadNamespace, O_RDONLY | O_CLOEXEC, 0);
    stage = libc.setns(home, CLONE_NEWNET) === 0 ? 2 : 1;
  }
  // ---- home again ----
  const code = errno();
  if (stage === 1) returnHome(home, name);
  libc.close(home);
  let failure: unknown;
  try {
    if (stage === 0) throw new SystemCallError("unshare(CLONE_NEWNET)", code);
    if (namespaceFd < 0) throw new SystemCallError(`open(${threadNamespacePath})`, code);
    // Set up before it is mounted: killed in between, the namespace dies with this process's
    // descriptors and leaves only the empty file ensureNamespace clears, never a mounted one
    // without its loopback.
    if (setUp !== undefined) {
      const rtnl = Rtnl.open({ netns: { fd: namespaceFd, name } });
      try {
        setUp(rtnl);
      } finally {
        rtnl.close();
      }
    }
    check(`mount(${path}, MS_BIND)`, libc.mount(cString(`/proc/self/fd/${namespaceFd}`), cString(path), cString("none"), MS_BIND, null));
  } catch (error) {
    failure = error;
  } finally {
    if (namespaceFd >= 0) libc.close(namespaceFd);
  }
  if (failure !== undefined) {
    libc.umount2(cString(path), MNT_DETACH);
    libc.unlink(cString(path));
    throw new BenitoError("creating the network namespace", name, failure instanceof Error ? failure.message : String(failure));
  }
}

/** Sets the loopback of the socket's namespace up when it is down; says whether it was down. */
function loopbackUp(rtnl: Rtnl): boolean {
  const lo = rtnl.linkByName("lo");
  if (lo === undefined || lo.up) return false;
  rtnl.setLinkUp(lo.index, true);
  return true;
}

/** Runs work with an rtnetlink socket made in the named namespace, and closes it. */
function withRtnlIn<T>(netns: NamespaceRef, work: (rtnl: Rtnl) => T): T {
  const rtnl = Rtnl.open({ netns });
  try {
    return work(rtnl);
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
  if (namespaceExists(name)) return withRtnlIn(name, loopbackUp);
  // A file left by a create or delete cut short (not a mounted namespace) goes first.
  if (existsSync(validate(name))) check(`unlink(${validate(name)})`, libc.unlink(cString(validate(name))));
  createNamespace(name, (rtnl) => {
    failpoint(`netns:${name}:setup`);
    loopbackUp(rtnl);
  });
  return true;
}

/** True when the named namespace exists and its loopback is up (what benito's namespaces have). */
export function namespaceReady(name: string): boolean {
  return namespaceExists(name) && withRtnlIn(name, (rtnl) => rtnl.linkByName("lo")?.up === true);
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
