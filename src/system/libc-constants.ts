// The Linux ABI numbers benito's system calls use (x86-64 and arm64 agree on all of them), in one place.

/** Address families (linux/socket.h). */
export const AF_UNIX = 1;
/** IPv4. */
export const AF_INET = 2;

/** Socket types and type flags (linux/net.h, asm-generic/fcntl.h). */
export const SOCK_STREAM = 1;
/** Datagram sockets. */
export const SOCK_DGRAM = 2;
/** Raw sockets. */
export const SOCK_RAW = 3;
/** Non-blocking from creation. */
export const SOCK_NONBLOCK = 0o4000;
/** Closed on exec: no fd leaks into the programs benito starts. */
export const SOCK_CLOEXEC = 0o2000000;

/** open(2) flags (asm-generic/fcntl.h). */
export const O_RDONLY = 0;
/** Write only. */
export const O_WRONLY = 0o1;
/** Read and write. */
export const O_RDWR = 0o2;
/** Non-blocking I/O. */
export const O_NONBLOCK = 0o4000;
/** Closed on exec. */
export const O_CLOEXEC = 0o2000000;

/** poll(2) events (asm-generic/poll.h). */
export const POLLIN = 0x1;
/** Writable. */
export const POLLOUT = 0x4;
/** An error is pending. */
export const POLLERR = 0x8;
/** The peer hung up. */
export const POLLHUP = 0x10;

/** fcntl(2) commands: get and set the file status flags. */
export const F_GETFL = 3;
/** Set the file status flags. */
export const F_SETFL = 4;

/** errno values (asm-generic/errno-base.h, errno.h). */
export const ENOENT = 2;
/** Interrupted system call. */
export const EINTR = 4;
/** Would block. */
export const EAGAIN = 11;
/** No such device. */
export const ENODEV = 19;
/** Invalid argument. */
export const EINVAL = 22;
/** Address already in use (a VDE data socket's name is taken). */
export const EADDRINUSE = 98;
/** No buffer space (a netlink socket's receive queue overflowed). */
export const ENOBUFS = 105;

/** epoll_event flags (linux/eventpoll.h); EPOLLIN/OUT/ERR/HUP equal the poll(2) bits. */
export const EPOLLIN = 0x1;
/** Writable. */
export const EPOLLOUT = 0x4;
/** Error (always reported). */
export const EPOLLERR = 0x8;
/** Hang-up (always reported). */
export const EPOLLHUP = 0x10;
/** epoll_create1: closed on exec. */
export const EPOLL_CLOEXEC = 0o2000000;
/** epoll_ctl operations: add, remove, change an fd's events. */
export const EPOLL_CTL_ADD = 1;
/** Remove an fd. */
export const EPOLL_CTL_DEL = 2;
/** Change an fd's events. */
export const EPOLL_CTL_MOD = 3;

/** send/recv flags (linux/socket.h): don't block. */
export const MSG_DONTWAIT = 0x40;
/** send flag: a closed peer gives EPIPE, not SIGPIPE. */
export const MSG_NOSIGNAL = 0x4000;
/** recv flag: report the real length of a truncated message. */
export const MSG_TRUNC = 0x20;

/** sched_setscheduler(2) policies: the normal time-sharing class, and real-time round robin. */
export const SCHED_OTHER = 0;
export const SCHED_RR = 2;
/** Or'ed into a policy: threads and processes the caller creates start in the normal class at nice >= 0. */
export const SCHED_RESET_ON_FORK = 0x40000000;
/** setrlimit(2) resource: CPU time a real-time thread may use without blocking (µs). */
export const RLIMIT_RTTIME = 15;
/** clock_gettime(2) clock: the calling thread's CPU time. */
export const CLOCK_THREAD_CPUTIME_ID = 3;
/** madvise(2) advice: drop these pages from this process's page tables. */
export const MADV_DONTNEED = 4;

/** Namespaces and mounts (linux/sched.h, linux/mount.h): a new network namespace, bind and shared mounts, lazy unmount. */
export const CLONE_NEWNET = 0x40000000;
/** Bind mount. */
export const MS_BIND = 0x1000;
/** Recursive. */
export const MS_REC = 0x4000;
/** Shared propagation. */
export const MS_SHARED = 0x100000;
/** umount2: detach lazily. */
export const MNT_DETACH = 2;

/** Signals (asm-generic/signal.h). */
export const SIGPIPE = 13;

/** IP protocol numbers (netinet/in.h). */
export const IPPROTO_ICMP = 1;
