// Opens a port on a vde_switch the way libvdeplug does: request_v3 on SOCKDIR/ctl, frames on a datagram socket.
import { join } from "node:path";
import { ptr } from "bun:ffi";
import { BenitoError, ExitCode } from "../../errors";
import { check, cString, errno, libc, strerror } from "../libc";
import { AF_UNIX, decodeSockaddrUn, encodeSockaddrUn, maxSocketPathBytes, sockaddrUnSize } from "./sockaddr";
import { EADDRINUSE, EAGAIN, EINTR, MSG_DONTWAIT, POLLIN, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM } from "../libc-constants";

/** The switch's protocol constants (domain notes §5). */
const switchMagic = 0xfeedface;
const requestVersion = 3;
const requestNewControl = 0;
/** magic + version + type + sockaddr_un; the description follows without its NUL. */
const requestHeaderSize = 12 + sockaddrUnSize;
const maxDescriptionBytes = 127;
/** How long the switch may take to answer a port request. */
const answerTimeoutMs = 5000;

/** VdeConnection interface: an open switch port. */
export interface VdeConnection {
  /** The control stream: the port lives as long as it stays open. */
  readonly controlFd: number;
  /** The datagram socket, connected to the switch's data socket for this port (nonblocking). */
  readonly dataFd: number;
  /** The port the switch gave (parsed from its data socket name NNN.fd). */
  readonly port: number;
  /** The switch's data socket path for this port. */
  readonly switchDataPath: string;
}

/**
 * VdeConnectError class: the switch could not be reached or refused the port. `retryable` is
 * false when retrying cannot help (e.g. a path too long for a unix socket).
 */
export class VdeConnectError extends BenitoError {
  /** True when a later attempt may succeed (switch absent, restarting, port busy). */
  readonly retryable: boolean;
  constructor(switchDir: string, reason: string, retryable: boolean) {
    super("connecting to the VDE switch", switchDir, reason, ExitCode.failed);
    this.name = "VdeConnectError";
    this.retryable = retryable;
  }
}

function fail(switchDir: string, reason: string, retryable = true): never {
  throw new VdeConnectError(switchDir, reason, retryable);
}

/** Binds the datagram socket to SOCKDIR/.benito-PID-N (as libvdeplug does), trying the next N while the name is taken. */
function bindDataSocket(fd: number, switchDir: string): string {
  const pid = libc.getpid();
  for (let attempt = 0; attempt < 1000; attempt += 1) {
    const path = join(switchDir, `.benito-${pid}-${attempt}`);
    if (Buffer.byteLength(path) > maxSocketPathBytes) fail(switchDir, `the folder path is too long for a unix socket (${path} exceeds ${maxSocketPathBytes} bytes)`, false);
    const address = encodeSockaddrUn(path);
    if (libc.bind(fd, ptr(address), address.length) === 0) return path;
    const code = errno();
    if (code !== EADDRINUSE) fail(switchDir, `cannot bind the data socket ${path}: ${strerror(code)}`, code !== 13);
  }
  return fail(switchDir, "no free name for the data socket");
}

function buildRequest(port: number, ownPath: string, description: string): Uint8Array {
  const text = Buffer.from(description, "utf8").subarray(0, maxDescriptionBytes);
  const request = new Uint8Array(requestHeaderSize + text.length);
  const view = new DataView(request.buffer);
  view.setUint32(0, switchMagic, true);
  view.setUint32(4, requestVersion, true);
  view.setUint32(8, requestNewControl + (port << 8), true);
  request.set(encodeSockaddrUn(ownPath), 12);
  request.set(text, requestHeaderSize);
  return request;
}

/**
 * PendingPort interface: a port request sent to a switch whose answer has not been read yet
 * ({@link requestPort}, then {@link finishPort} whenever the control stream is readable).
 */
export interface PendingPort {
  readonly switchDir: string;
  readonly port: number;
  /** The control stream: watch it for input (the answer, or the switch closing it). */
  readonly controlFd: number;
  readonly dataFd: number;
  /** When the switch's answer is overdue (performance.now() time). */
  readonly deadline: number;
  /** The data socket's own path, unlinked once the switch has connected to it. */
  ownPath: string | undefined;
  readonly answer: Uint8Array;
  received: number;
}

/**
 * Asks the switch whose control socket is SWITCHDIR/ctl for a port, without waiting for its
 * answer: the forwarder opens many ports at once and keeps forwarding meanwhile.
 *
 * @param switchDir The switch's socket folder (`vde_switch -s`).
 * @param port The port to ask for; 0 = any free port.
 * @param description What the switch's `port/print` shows for this port.
 * @throws VdeConnectError when the switch cannot be reached.
 */
export function requestPort(switchDir: string, port: number, description: string): PendingPort {
  const controlPath = join(switchDir, "ctl");
  if (Buffer.byteLength(controlPath) > maxSocketPathBytes) fail(switchDir, `${controlPath} is too long for a unix socket path`, false);
  const controlFd = check("socket(AF_UNIX, SOCK_STREAM)", libc.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  let dataFd = -1;
  let ownPath: string | undefined;
  try {
    const controlAddress = encodeSockaddrUn(controlPath);
    if (libc.connect(controlFd, ptr(controlAddress), controlAddress.length) < 0) {
      const code = errno();
      const why = code === 2 ? `no switch there (${controlPath} does not exist)` : code === 111 ? `no switch is listening on ${controlPath}` : strerror(code);
      fail(switchDir, why);
    }
    dataFd = check("socket(AF_UNIX, SOCK_DGRAM)", libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ownPath = bindDataSocket(dataFd, switchDir);
    const request = buildRequest(port, ownPath, description);
    if (Number(libc.send(controlFd, ptr(request), request.length, 0)) !== request.length) fail(switchDir, `sending the port request: ${strerror(errno())}`);
    return { switchDir, port, controlFd, dataFd, deadline: performance.now() + answerTimeoutMs, ownPath, answer: new Uint8Array(sockaddrUnSize), received: 0 };
  } catch (error) {
    if (ownPath !== undefined) libc.unlink(cString(ownPath));
    if (dataFd >= 0) libc.close(dataFd);
    libc.close(controlFd);
    throw error;
  }
}

/**
 * Reads what has come of the switch's answer without waiting: the open port once it is whole,
 * undefined while more is to come. On failure (refused, closed, overdue) the pending port is
 * abandoned (its sockets closed) and a VdeConnectError thrown.
 */
export function finishPort(pending: PendingPort): VdeConnection | undefined {
  try {
    while (pending.received < sockaddrUnSize) {
      const count = Number(libc.recv(pending.controlFd, ptr(pending.answer, pending.received), sockaddrUnSize - pending.received, MSG_DONTWAIT));
      if (count < 0) {
        const code = errno();
        if (code === EINTR) continue;
        if (code !== EAGAIN) fail(pending.switchDir, `reading the switch's answer: ${strerror(code)}`);
        if (performance.now() >= pending.deadline) fail(pending.switchDir, `the switch did not answer the port request within ${answerTimeoutMs} ms`);
        return undefined;
      }
      if (count === 0) {
        const which = pending.port === 0 ? "a free port (all ports in use?)" : `port ${pending.port} (in use or beyond the switch's port count?)`;
        fail(pending.switchDir, `the switch closed the control connection instead of granting ${which}`);
      }
      pending.received += count;
    }
    const switchDataPath = decodeSockaddrUn(pending.answer);
    if (switchDataPath === undefined || switchDataPath === "") fail(pending.switchDir, "the switch answered with something that is not a unix socket address");
    if (libc.connect(pending.dataFd, ptr(pending.answer), pending.answer.length) < 0) fail(pending.switchDir, `connecting to the switch's data socket ${switchDataPath}: ${strerror(errno())}`);
    if (pending.ownPath !== undefined) libc.unlink(cString(pending.ownPath));
    pending.ownPath = undefined;
    const granted = /\/(\d+)\.\d+$/.exec(switchDataPath);
    return { controlFd: pending.controlFd, dataFd: pending.dataFd, port: granted ? Number(granted[1]) : pending.port, switchDataPath };
  } catch (error) {
    abandonPort(pending);
    throw error;
  }
}

/** Gives up a pending port: its sockets are closed (the switch frees what it granted) and its socket file removed. */
export function abandonPort(pending: PendingPort): void {
  if (pending.ownPath !== undefined) libc.unlink(cString(pending.ownPath));
  pending.ownPath = undefined;
  libc.close(pending.dataFd);
  libc.close(pending.controlFd);
}

/**
 * Opens a port on the switch whose control socket is SWITCHDIR/ctl, waiting (up to 5 s) for its
 * answer: {@link requestPort} and {@link finishPort} in one call (the plug's way).
 *
 * The datagram socket's own path is unlinked as soon as the switch has connected to it (the
 * association survives the name), so no socket file is left behind even if the plug is killed.
 */
export function connectSwitch(switchDir: string, port: number, description: string): VdeConnection {
  const pending = requestPort(switchDir, port, description);
  const pollfd = new Int32Array([pending.controlFd, POLLIN]);
  for (;;) {
    const connection = finishPort(pending);
    if (connection !== undefined) return connection;
    libc.poll(ptr(pollfd), 1, Math.max(1, Math.ceil(pending.deadline - performance.now())));
  }
}

/** Closes a connection's sockets; the switch frees the port when the control stream closes. */
export function closeConnection(connection: VdeConnection): void {
  libc.close(connection.dataFd);
  libc.close(connection.controlFd);
}
