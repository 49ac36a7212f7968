// `benito install`'s plan: which files, links and edits an image root gets, as printable data (pure: no file system access).
import { templatePrefix, templates } from "./templates";
import type { InitKind } from "../system/image-root";

/** The role the image boots into: a pnode (or any host with a config folder) or a VM that reads its config disk. */
export type InstallRole = "pnode" | "vm";

/** InstallOptions interface: what the operator chose. */
export interface InstallOptions {
  /** Install prefix inside the image, e.g. /usr/local (binary in PREFIX/sbin). */
  readonly prefix: string;
  /** The routes.py drop-in path inside the image. */
  readonly routesLink: string;
  /** The init integration; "package": every init file, none enabled (a Debian package's staging tree). */
  readonly init: InitKind | "package";
  readonly role: InstallRole;
}

/**
 * InstallItem type: one thing install puts into the image; paths are the image's own (absolute).
 * An `edit` changes a file the image owns (rc.local): uninstall removes its block, not the file.
 */
export type InstallItem =
  | { readonly kind: "binary"; readonly path: string }
  | { readonly kind: "file"; readonly path: string; readonly content: string | Uint8Array; readonly mode: number }
  | { readonly kind: "link"; readonly path: string; readonly target: string }
  | { readonly kind: "dir"; readonly path: string; readonly mode: number }
  | { readonly kind: "edit"; readonly path: string; readonly content: string; readonly mode: number };

/** The block markers in rc.local (see dist/rc.local.snippet). */
export const rcLocalBegin = "# benito begin";
export const rcLocalEnd = "# benito end";

/** The binary's path inside the image. */
export const binaryPath = (prefix: string) => `${prefix}/sbin/benito`;
/** The floors script's path inside the image. */
export const preflightPath = (prefix: string) => `${prefix}/lib/benito/preflight`;
/** Where install records what it wrote (uninstall reads it). */
export const manifestPath = "/var/lib/benito/install.json";
/** Where benito writes its log (boot, down). */
export const logDir = "/var/log/benito";

/** systemd units go where the package manager's go for /usr, else where an administrator's go. */
const unitDir = (prefix: string) => (prefix === "/usr" ? "/lib/systemd/system" : "/etc/systemd/system");

/**
 * The two-line sh/Python polyglot at the original routes.py path: `routes.py …` runs it with sh
 * (line 1), `python routes.py …` (an old init script) with Python; both exec `benito routes`.
 * For sh, line 2 is `exec …` after an empty string ('''' is two empty strings), its tail a comment;
 * for Python it is a string literal, then os.execv.
 */
export function routesShim(benito: string): string {
  return `#!/bin/sh\n''''exec "${benito}" routes "$@" # '''; import os, sys; os.execv("${benito}", ["benito", "routes"] + sys.argv[1:])\n`;
}

/** The dist/ text with its paths moved to prefix and its role line set. */
function render(text: string, options: InstallOptions): string {
  const moved = options.prefix === templatePrefix ? text : text.replaceAll(`${templatePrefix}/`, `${options.prefix}/`);
  return moved.replace(/^(\s*)BENITO_ROLE=pnode$/m, `$1BENITO_ROLE=${options.role}`);
}

/** The systemd drop-in for a VM image: unpack the config disk first; the config folder does not exist before that. */
function vmDropIn(prefix: string): string {
  return [
    "# Written by benito install --role vm: in a VM the config folder comes from the config disk the",
    "# pnode attached, so the unit cannot wait for it to exist; guest-config unpacks it before boot.",
    "[Unit]",
    "ConditionPathExists=",
    "",
    "[Service]",
    `ExecStartPre=${binaryPath(prefix)} guest-config --set-hostname`,
    "",
  ].join("\n");
}

/**
 * rc.local with benito's block: replaces an earlier block, else goes before the final `exit 0`,
 * else at the end; a missing rc.local becomes a new one.
 */
export function rcLocalWithBlock(existing: string | undefined, block: string): string {
  const base = existing ?? "#!/bin/sh\n# rc.local: run at the end of each multi-user runlevel.\nexit 0\n";
  const without = rcLocalWithoutBlock(base);
  const lines = without.split("\n");
  let exitAt = -1;
  for (let index = lines.length - 1; index >= 0; index--) {
    const line = (lines[index] ?? "").trim();
    if (line === "") continue;
    if (/^exit\s+0$/.test(line)) exitAt = index;
    break;
  }
  const blockLines = block.replace(/\n$/, "").split("\n");
  if (exitAt < 0) return `${without.replace(/\n*$/, "\n")}${blockLines.join("\n")}\n`;
  return [...lines.slice(0, exitAt), ...blockLines, ...lines.slice(exitAt)].join("\n");
}

/** rc.local without benito's block (unchanged when it has none). */
export function rcLocalWithoutBlock(text: string): string {
  const lines = text.split("\n");
  const begin = lines.findIndex((line) => line.startsWith(rcLocalBegin));
  const end = lines.findIndex((line, index) => index >= begin && line.startsWith(rcLocalEnd));
  if (begin < 0 || end < 0) return text;
  return [...lines.slice(0, begin), ...lines.slice(end + 1)].join("\n");
}

/**
 * Everything install writes, in order (folders before their files).
 *
 * @param existingRcLocal The image's rc.local, for --init rc.local.
 */
export function planInstall(options: InstallOptions, existingRcLocal: string | undefined, manPage: Uint8Array): InstallItem[] {
  const { prefix } = options;
  const benito = binaryPath(prefix);
  const items: InstallItem[] = [
    { kind: "binary", path: benito },
    { kind: "file", path: `${prefix}/share/man/man8/benito.8.gz`, content: manPage, mode: 0o644 },
    { kind: "file", path: preflightPath(prefix), content: render(templates.preflight, options), mode: 0o755 },
    { kind: "file", path: options.routesLink, content: routesShim(benito), mode: 0o755 },
    { kind: "dir", path: logDir, mode: 0o755 },
  ];
  if (options.init === "package") {
    const dir = unitDir(prefix);
    items.push({ kind: "file", path: `${dir}/benito.service`, content: render(templates.unit, options), mode: 0o644 });
    items.push({ kind: "file", path: `${dir}/benito-status.service`, content: render(templates.statusUnit, options), mode: 0o644 });
    items.push({ kind: "file", path: "/etc/init.d/benito", content: render(templates.sysvScript, options), mode: 0o755 });
  } else if (options.init === "systemd") {
    const dir = unitDir(prefix);
    items.push({ kind: "file", path: `${dir}/benito.service`, content: render(templates.unit, options), mode: 0o644 });
    items.push({ kind: "file", path: `${dir}/benito-status.service`, content: render(templates.statusUnit, options), mode: 0o644 });
    if (options.role === "vm") items.push({ kind: "file", path: "/etc/systemd/system/benito.service.d/role-vm.conf", content: vmDropIn(prefix), mode: 0o644 });
    // What `systemctl enable benito` makes, from the unit's [Install] WantedBy=.
    for (const target of ["multi-user.target", "network-online.target"]) {
      items.push({ kind: "link", path: `/etc/systemd/system/${target}.wants/benito.service`, target: `${dir}/benito.service` });
    }
  } else if (options.init === "sysv") {
    items.push({ kind: "file", path: "/etc/init.d/benito", content: render(templates.sysvScript, options), mode: 0o755 });
    // What `update-rc.d benito defaults` makes, from the LSB header's Default-Start/Stop.
    for (const level of [2, 3, 4, 5]) items.push({ kind: "link", path: `/etc/rc${level}.d/S01benito`, target: "../init.d/benito" });
    for (const level of [0, 1, 6]) items.push({ kind: "link", path: `/etc/rc${level}.d/K01benito`, target: "../init.d/benito" });
  } else if (options.init === "rc.local") {
    items.push({ kind: "edit", path: "/etc/rc.local", content: rcLocalWithBlock(existingRcLocal, render(templates.rcLocalSnippet, options)), mode: 0o755 });
  }
  return items;
}

/** One dry-run line per item. */
export function describeItem(item: InstallItem): string {
  switch (item.kind) {
    case "binary":
      return `copy   ${item.path} (mode 0755, unstripped)`;
    case "file":
      return `write  ${item.path} (mode 0${item.mode.toString(8)})`;
    case "link":
      return `link   ${item.path} -> ${item.target}`;
    case "dir":
      return `mkdir  ${item.path} (mode 0${item.mode.toString(8)})`;
    case "edit":
      return `edit   ${item.path} (benito's block before its final exit 0)`;
  }
}
