// A minimal QMP client over QEMU's unix monitor socket: greeting, capabilities negotiation, one command, bounded in time.
import { BenitoError, messageOf } from "../errors";

/**
 * Runs one QMP command and returns its "return" value. Events QEMU sends meanwhile are
 * skipped; an "error" reply, a closed socket or the timeout is a BenitoError.
 *
 * @param socket The monitor socket (`-chardev socket,server=on` + `-mon mode=control`).
 * @param command E.g. "system_powerdown", "query-status".
 */
export async function qmpCommand(socket: string, command: string, args?: Record<string, unknown>, timeoutMs = 5_000): Promise<unknown> {
  const what = `${socket} (${command})`;
  let buffer = "";
  let stage: "greeting" | "capabilities" | "command" = "greeting";
  let settle: { resolve: (value: unknown) => void; reject: (error: Error) => void } | undefined;
  const done = new Promise<unknown>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const fail = (reason: string) => settle?.reject(new BenitoError("talking to the QEMU monitor", what, reason));
  let connection: Awaited<ReturnType<typeof Bun.connect>> | undefined;
  const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
  try {
    connection = await Bun.connect({
      unix: socket,
      socket: {
        data(sock, chunk) {
          buffer += chunk.toString();
          for (let newline = buffer.indexOf("\n"); newline >= 0; newline = buffer.indexOf("\n")) {
            const line = buffer.slice(0, newline).trim();
            buffer = buffer.slice(newline + 1);
            if (line === "") continue;
            let message: Record<string, unknown>;
            try {
              message = JSON.parse(line) as Record<string, unknown>;
            } catch {
              fail(`not JSON: ${line.slice(0, 80)}`);
              return;
            }
            if ("event" in message) continue;
            if ("error" in message) {
              const error = message.error as { desc?: string };
              fail(error.desc ?? JSON.stringify(message.error));
              return;
            }
            if (stage === "greeting" && "QMP" in message) {
              stage = "capabilities";
              sock.write(`${JSON.stringify({ execute: "qmp_capabilities" })}\n`);
            } else if (stage === "capabilities" && "return" in message) {
              stage = "command";
              sock.write(`${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`);
            } else if (stage === "command" && "return" in message) {
              settle?.resolve(message.return);
            }
          }
        },
        close() {
          fail("QEMU closed the monitor connection");
        },
        error(_sock, error) {
          fail(messageOf(error));
        },
      },
    });
    return await done;
  } catch (error) {
    if (error instanceof BenitoError) throw error;
    throw new BenitoError("talking to the QEMU monitor", what, messageOf(error));
  } finally {
    clearTimeout(timer);
    connection?.end();
  }
}
