// Asks whether something listens on a unix stream socket (a VDE switch's ctl), without sending it anything.
import { createConnection } from "node:net";

/** True when something accepts connections on a unix socket path (within a second). */
export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on("connect", () => done(true));
    socket.on("error", () => done(false));
  });
}
