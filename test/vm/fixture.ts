// Test fixtures for live platform tests: a real vde_switch (stopped by pidfile) and a TopDL writer for vnodes on it.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../helpers/binary";
import { alive } from "../helpers/processes";

export { alive };

/** Waits (bounded) until a guest's serial log holds a line matching marker; returns the log as it was last read. */
export async function waitForSerial(path: string, marker: RegExp, timeoutMs: number): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  let log = "";
  while (performance.now() < deadline) {
    log = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (marker.test(log)) return log;
    await Bun.sleep(250);
  }
  return log;
}

/** A vde_switch the test started, with its socket folder and pidfile. */
export interface TestSwitch {
  readonly dir: string;
  readonly pidfile: string;
}

/** Starts `vde_switch -d` with its sockets under base; resolves once its pidfile names a process. */
export async function startSwitch(base: string): Promise<TestSwitch> {
  const dir = join(base, "switch");
  const pidfile = join(base, "switch.pid");
  const result = await run(["vde_switch", "-s", dir, "-M", join(base, "switch.mgmt"), "-d", "-p", pidfile], { timeoutMs: 10_000 });
  if (result.code !== 0) throw new Error(`vde_switch: ${result.stderr}`);
  for (let i = 0; i < 100 && !existsSync(pidfile); i++) await Bun.sleep(50);
  return { dir, pidfile };
}

/**
 * Stops the switch by the pid in its pidfile (never by name) and waits (bounded) until it is
 * gone: it removes its own sockets as it exits, and a folder removal racing with that stops
 * half-way.
 */
export async function stopSwitch(sw: TestSwitch | undefined): Promise<void> {
  if (sw === undefined || !existsSync(sw.pidfile)) return;
  const pid = Number(readFileSync(sw.pidfile, "utf8").trim());
  if (pid <= 1) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 100 && alive(pid); i++) await Bun.sleep(50);
  if (alive(pid)) process.kill(pid, "SIGKILL");
}


/** One vnode of a test topology: one interface on the test switch. */
export interface TestVnode {
  readonly name: string;
  readonly type: "qemu" | "process";
  readonly address: string;
  readonly mac: string;
  readonly port: number;
  readonly attributes?: Readonly<Record<string, string>>;
  readonly startup?: string;
}

const escapeXml = (text: string) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** A TopDL document: one pnode hosting the vnodes, all on LAN "lan0" served by switchDir. */
export function topology(switchDir: string, vnodes: readonly TestVnode[]): string {
  const attribute = (key: string, value: string) => `<attribute><attribute>${escapeXml(key)}</attribute><value>${escapeXml(value)}</value></attribute>`;
  const computers = vnodes.map(
    (vnode) => `  <elements><computer>
    <name>${vnode.name}</name>
    <interface><substrate>lan0</substrate><name>inf000</name>
      ${attribute("ip4_address", vnode.address)}${attribute("ip4_netmask", "255.255.255.0")}
      ${attribute("benito:mac_address", vnode.mac)}${attribute("benito:vde_switch", switchDir)}${attribute("benito:vde_port", String(vnode.port))}
    </interface>
    ${attribute("benito:node_type", vnode.type)}${attribute("benito:host", "pnode0")}
    ${Object.entries(vnode.attributes ?? {}).map(([key, value]) => attribute(key, value)).join("")}
    ${vnode.startup === undefined ? "" : attribute("startup", vnode.startup)}
  </computer></elements>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>
<experiment>
  <version>1.0</version>
  <substrates><name>lan0</name></substrates>
  <elements><computer><name>pnode0</name>${attribute("benito:node_type", "pnode")}</computer></elements>
${computers.join("\n")}
</experiment>
`;
}
