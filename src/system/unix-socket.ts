// Unix stream sockets: a connection (node:net loaded on first use), and whether something listens on a path.
import type { Socket } from "node:net";

/**
 * Connects to a unix stream socket. node:net is loaded here, on first use, not at start-up:
 * importing it costs every benito process about a millisecond (Node's stream machinery), and a
 * vnode's boot or `benito routes` never opens one.
 */
export function connectUnix(path: string): Socket {
  const net: typeof import("node:net") = require("node:net");
  return net.createConnection({ path });
}

/** True when something accepts connections on a unix socket path (within a second). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectUnix(path);
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("connect", () => done(true));
    socket.on("error", () => done(false));
  });
}
