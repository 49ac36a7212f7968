// The vde_switch and wirefilter management sockets: one text command, its data lines; and the ports in use from port/print.
import { connectUnix } from "../unix-socket";

/** The prompt ends every greeting and answer: "vde$ " (vde_switch), "VDEwf$ " (wirefilter). */
const hasPrompt = (text: string) => text.endsWith("$ ");

/** How long a management exchange may take. */
const defaultTimeoutMs = 3000;

/**
 * Sends one command to a vde_switch or wirefilter management socket and returns the data lines of its
 * answer (between "0000 DATA END WITH '.'" and "."), or throws with the switch's error line.
 *
 * The daemon greets with a banner ending in its prompt, then answers each command with
 * optional data and a status line "NNNN text" (1000 = success).
 */
export function mgmtCommand(socketPath: string, command: string, timeoutMs = defaultTimeoutMs): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connectUnix(socketPath);
    let text = "";
    let sent = false;
    const timer = setTimeout(() => finish(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    function finish(error: Error | undefined, lines: string[] = []): void {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(lines);
    }
    socket.setEncoding("utf8");
    socket.on("error", (error) => finish(error));
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (!sent) {
        if (!hasPrompt(text)) return;
        sent = true;
        text = "";
        socket.write(`${command}\n`);
        return;
      }
      const status = /^(\d{4}) (.*)$/m.exec(text.replace(/^0000 DATA END WITH '\.'$/m, ""));
      if (status === null || !hasPrompt(text)) return;
      const code = Number(status[1]);
      if (code !== 1000) return finish(new Error(`${command}: ${status[2]}`));
      const lines = text.split("\n");
      const start = lines.findIndex((line) => line.startsWith("0000 DATA"));
      const end = lines.indexOf(".", start + 1);
      finish(undefined, start < 0 || end < 0 ? [] : lines.slice(start + 1, end));
    });
    socket.on("end", () => finish(new Error(`${socketPath} closed the connection`)));
  });
}

/** PortInUse interface: one active switch port and who is on it. */
export interface PortInUse {
  readonly port: number;
  readonly vlan: number;
  /** The endpoints' descriptions (e.g. "benito vde plug tap=t0 pid=42", "vde_crosscable …"). */
  readonly endpoints: readonly string[];
}

/** Parses `port/print` output into the active ports. */
export function parsePortPrint(lines: readonly string[]): PortInUse[] {
  const ports: { port: number; vlan: number; endpoints: string[] }[] = [];
  let current: { port: number; vlan: number; endpoints: string[] } | undefined;
  for (const line of lines) {
    const header = /^Port (\d+) untagged_vlan=(\d+) (ACTIVE|INACTIVE)/.exec(line);
    if (header) {
      current = header[3] === "ACTIVE" ? { port: Number(header[1]), vlan: Number(header[2]), endpoints: [] } : undefined;
      if (current) ports.push(current);
      continue;
    }
    const endpoint = /^\s+-- endpoint ID \d+ module \S+\s+prog\s*: (.*)$/.exec(line);
    if (endpoint && current) current.endpoints.push(endpoint[1] ?? "");
  }
  return ports;
}
