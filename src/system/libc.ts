// libc through bun:ffi: the system calls Bun does not offer (netlink, ioctl on /dev/net/tun, AF_UNIX datagrams).
import { dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { SystemError } from "../errors";

const { i32, u32, u64, i64, ptr, usize, cstring } = {
  i32: FFIType.i32,
  u32: FFIType.u32,
  u64: FFIType.u64,
  // i64_fast: a number while it fits in 53 bits (byte counts always do), so no BigInt per call.
  i64: FFIType.i64_fast,
  ptr: FFIType.ptr,
  usize: FFIType.u64,
  cstring: FFIType.cstring,
} as const;

/**
 * The libc symbols benito calls. Add a symbol here (never dlopen libc elsewhere) so every
 * module shares one handle and one errno reader.
 */
const library = dlopen("libc.so.6", {
  __errno_location: { args: [], returns: ptr },
  strerror: { args: [i32], returns: cstring },
  socket: { args: [i32, i32, i32], returns: i32 },
  bind: { args: [i32, ptr, u32], returns: i32 },
  connect: { args: [i32, ptr, u32], returns: i32 },
  close: { args: [i32], returns: i32 },
  send: { args: [i32, ptr, usize, i32], returns: i64 },
  recv: { args: [i32, ptr, usize, i32], returns: i64 },
  sendto: { args: [i32, ptr, usize, i32, ptr, u32], returns: i64 },
  recvfrom: { args: [i32, ptr, usize, i32, ptr, ptr], returns: i64 },
  sendmsg: { args: [i32, ptr, i32], returns: i64 },
  recvmsg: { args: [i32, ptr, i32], returns: i64 },
  sendmmsg: { args: [i32, ptr, u32, i32], returns: i32 },
  recvmmsg: { args: [i32, ptr, u32, i32, ptr], returns: i32 },
  setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
  getsockopt: { args: [i32, i32, i32, ptr, ptr], returns: i32 },
  ioctl: { args: [i32, u64, ptr], returns: i32 },
  mmap: { args: [ptr, usize, i32, i32, i32, i64], returns: ptr },
  munmap: { args: [ptr, usize], returns: i32 },
  open: { args: [cstring, i32, i32], returns: i32 },
  read: { args: [i32, ptr, usize], returns: i64 },
  pread: { args: [i32, ptr, usize, i64], returns: i64 },
  write: { args: [i32, ptr, usize], returns: i64 },
  poll: { args: [ptr, u64, i32], returns: i32 },
  epoll_create1: { args: [i32], returns: i32 },
  epoll_ctl: { args: [i32, i32, i32, ptr], returns: i32 },
  epoll_wait: { args: [i32, ptr, i32, i32], returns: i32 },
  listen: { args: [i32, i32], returns: i32 },
  sched_setscheduler: { args: [i32, i32, ptr], returns: i32 },
  setrlimit: { args: [i32, ptr], returns: i32 },
  getrlimit: { args: [i32, ptr], returns: i32 },
  clock_gettime: { args: [i32, ptr], returns: i32 },
  accept4: { args: [i32, ptr, ptr, i32], returns: i32 },
  socketpair: { args: [i32, i32, i32, ptr], returns: i32 },
  fcntl: { args: [i32, i32, i32], returns: i32 },
  flock: { args: [i32, i32], returns: i32 },
  unlink: { args: [cstring], returns: i32 },
  getpid: { args: [], returns: i32 },
  dup2: { args: [i32, i32], returns: i32 },
  madvise: { args: [ptr, usize, i32], returns: i32 },
  if_nametoindex: { args: [cstring], returns: u32 },
  sethostname: { args: [ptr, usize], returns: i32 },
  unshare: { args: [i32], returns: i32 },
  setns: { args: [i32, i32], returns: i32 },
  mount: { args: [cstring, cstring, cstring, u64, ptr], returns: i32 },
  umount2: { args: [cstring, i32], returns: i32 },
  execvp: { args: [cstring, ptr], returns: i32 },
  signal: { args: [i32, ptr], returns: ptr },
});

/** The raw libc functions (see the symbol table above for their signatures). */
export const libc = library.symbols;

/** The calling thread's errno, read right after a failed call. */
export function errno(): number {
  return read.i32(libc.__errno_location() as Pointer, 0);
}

/** The C library's text for an errno value, e.g. "File exists". */
export function strerror(code: number): string {
  return String(libc.strerror(code));
}

/**
 * SystemCallError class: a failed libc call, with its errno.
 */
export class SystemCallError extends SystemError {
  /** The errno value. */
  readonly errno: number;
  /** The call that failed, e.g. "ioctl(TUNSETIFF)". */
  readonly call: string;
  constructor(call: string, code: number) {
    super(`calling ${call}`, "the kernel", `${strerror(code)} (errno ${code})`);
    // The short form: callers wrap it as the cause of what they were doing.
    this.message = `${call}: ${strerror(code)} (errno ${code})`;
    this.name = "SystemCallError";
    this.errno = code;
    this.call = call;
  }
}

/** Throws SystemCallError when a libc call returned a negative value; returns the value otherwise. */
export function check<T extends number | bigint>(call: string, result: T): T {
  if (result < 0) throw new SystemCallError(call, errno());
  return result;
}

/** A NUL-terminated C string in a buffer, for cstring arguments. */
export function cString(text: string): Buffer {
  return Buffer.from(`${text}\0`, "utf8");
}

