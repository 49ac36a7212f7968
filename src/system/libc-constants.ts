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

/** errno values (asm-generic/errno-base.h, errno.h). */
export const EINTR = 4;
/** Would block. */
export const EAGAIN = 11;

/** IP protocol numbers (netinet/in.h). */
export const IPPROTO_ICMP = 1;
