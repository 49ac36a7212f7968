// Image roots that really boot: the host's /usr under a private overlay (so `benito install` can write /usr/local), a minimal /etc, and a one-pnode experiment; for systemd-nspawn and chroot tests.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./binary";

/** ContainerRoot interface: a bootable root and the names in its experiment. */
export interface ContainerRoot {
  readonly dir: string;
  /** The image's root folder. */
  readonly root: string;
  /** The pnode's name (the container's hostname) and its vnode's. */
  readonly host: string;
  readonly vnode: string;
  /** Adds route/HOST with a route whose gateway is on no link: the routes stage fails, nothing else does. */
  addFailingRoute(): void;
  /** Unmounts the overlay (by its path) and removes everything. */
  cleanup(): Promise<void>;
}

const attribute = (key: string, value: string) => `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;

/** The pnode's own experiment NIC: MAC and address (a dummy link with this MAC stands in for it). */
export const pnodeNic = { mac: "02:be:55:00:00:10", address: "10.55.0.10" } as const;

/**
 * One pnode with an experiment NIC on lan0, a switch for lan0, and one process vnode on it. The
 * switch folder is under /run (the image's own run folder).
 */
export function experiment(host: string, vnode: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<experiment>
  <version>2.0</version>
  <substrates><name>lan0</name></substrates>
  <elements><computer><name>${host}</name>
    <interface><substrate>lan0</substrate><name>eth0</name>${attribute("ip4_address", pnodeNic.address)}${attribute("ip4_netmask", "255.255.255.0")}${attribute("benito:mac_address", pnodeNic.mac)}</interface>
    ${attribute("benito:node_type", "pnode")}
  </computer></elements>
  <elements><computer><name>${vnode}</name>
    <interface><substrate>lan0</substrate><name>inf000</name>${attribute("ip4_address", "10.55.0.1")}${attribute("ip4_netmask", "255.255.255.0")}${attribute("benito:mac_address", "02:be:55:00:00:01")}${attribute("benito:vde_switch", "/run/benito/sw/lan0")}${attribute("benito:vde_port", "1")}</interface>
    ${attribute("benito:node_type", "process")}${attribute("benito:host", host)}
  </computer></elements>
</experiment>
`;
}

/**
 * Makes the root: merged-/usr links, the host's /usr as the lower layer of an overlay (writes go
 * to the test's folder), /etc with accounts, hostname and fstab, and /var/benito/config.
 */
export async function makeContainerRoot(prefix: string): Promise<ContainerRoot> {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-root-`));
  const root = join(dir, "root");
  for (const sub of ["root/usr", "root/etc", "root/var/benito/config", "root/proc", "root/run", "root/tmp", "root/root", "root/sys", "root/dev", "upper", "work"]) mkdirSync(join(dir, sub), { recursive: true });
  for (const link of ["bin", "sbin", "lib", "lib64"]) symlinkSync(`usr/${link}`, join(root, link));
  const mounted = await run(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=/usr,upperdir=${join(dir, "upper")},workdir=${join(dir, "work")}`, join(root, "usr")]);
  if (mounted.code !== 0) throw new Error(`mounting the /usr overlay: ${mounted.stderr}`);
  for (const file of ["passwd", "group", "shadow", "os-release"]) copyFileSync(join("/etc", file), join(root, "etc", file));
  const host = `${prefix}p`;
  const vnode = `${prefix}a`;
  writeFileSync(join(root, "etc/machine-id"), "");
  writeFileSync(join(root, "etc/hostname"), `${host}\n`);
  writeFileSync(join(root, "etc/fstab"), "proc /proc proc defaults 0 0\ntmpfs /run tmpfs defaults 0 0\n");
  writeFileSync(join(root, "var/benito/config/topo.xml"), experiment(host, vnode));
  return {
    dir,
    root,
    host,
    vnode,
    addFailingRoute() {
      mkdirSync(join(root, "var/benito/config/route"), { recursive: true });
      writeFileSync(join(root, "var/benito/config/route", host), "10.77.0.0/24 via 10.66.0.1\n");
    },
    async cleanup() {
      const usr = join(root, "usr");
      await run(["umount", usr]);
      // Never remove through a mount that is still there (it would be the overlay, but be sure).
      if (readFileSync("/proc/self/mounts", "utf8").split("\n").some((line) => line.split(" ")[1] === usr)) throw new Error(`${usr} is still mounted; not removing ${dir}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
