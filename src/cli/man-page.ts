// The man page benito(8), rendered from the same help texts `benito --help` and `benito CMD --help` print (so they cannot drift), plus the site.conf keys of docs/config.md; `make build` and `benito install` write it.
import configDoc from "../../docs/config.md" with { type: "text" };
import { knownSiteKeys } from "../config/site-conf";
import { mainHelp } from "./help";
import { commands } from "./registry";
import { version } from "../version";

/**
 * Escapes text for roff: backslashes, hyphens (so options copy as ASCII), a leading . or ',
 * non-ASCII characters as \[uXXXX] and control characters as visible \xHH text.
 */
const roff = (text: string) =>
  text
    .replaceAll("\\", "\\e")
    .replaceAll("-", "\\-")
    .replace(/^([.'])/gm, "\\&$1")
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (char) => `\\ex${char.charCodeAt(0).toString(16).padStart(2, "0")}`)
    .replace(/[^\u0000-\u007f]/gu, (char) => `\\[u${(char.codePointAt(0) ?? 0x3f).toString(16).toUpperCase().padStart(4, "0")}]`);
/** Markdown inline code and links to plain text. */
const plain = (text: string) => text.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").replaceAll("`", "");

/** A preformatted block (help texts are laid out for an 80-column terminal). */
const block = (text: string) => [".PP", ".nf", ".RS 4", roff(text), ".RE", ".fi"];

/** The lines of mainHelp() between a heading line and the next blank line. */
function helpSection(heading: string): string[] {
  const lines = mainHelp().split("\n");
  const start = lines.findIndex((line) => line.startsWith(heading));
  const end = lines.findIndex((line, index) => index > start && line.trim() === "");
  return start < 0 ? [] : lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The site.conf table of docs/config.md: key(s), meaning, default; every key benito reads must be in it. */
function siteKeys(): string[] {
  const rows = configDoc
    .split("\n")
    .filter((line) => /^\| `[a-z_]+`/.test(line))
    .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()))
    .filter((cells) => cells.length === 3 && knownSiteKeys.some((key) => (cells[0] ?? "").includes(`\`${key}\``)));
  const missing = knownSiteKeys.filter((key) => !rows.some((cells) => (cells[0] ?? "").includes(`\`${key}\``)));
  if (missing.length > 0) throw new Error(`docs/config.md's site.conf table lacks ${missing.join(", ")}`);
  return rows.flatMap(([keys = "", meaning = "", fallback = ""]) => [".TP", `.B ${roff(plain(keys))}`, roff(`${plain(meaning)} (default: ${plain(fallback)})`)]);
}

/** The whole page, as roff text (every command is loaded for its help text). */
export async function manPage(): Promise<string> {
  const loaded = await Promise.all(commands.map(async (entry) => ({ entry, command: await entry.load() })));
  const exitLine = mainHelp().split("\n").find((line) => line.startsWith("Exit codes:")) ?? "";
  return [
    `.TH BENITO 8 "" "benito ${version}" "System Administration"`,
    ".SH NAME",
    "benito \\- testbed node plumbing from a TopDL experiment",
    ".SH SYNOPSIS",
    ".B benito",
    "[\\-\\-debug] COMMAND [ARGS...]",
    ".br",
    ".B benito",
    "help COMMAND | COMMAND \\-\\-help | \\-\\-version",
    ".SH DESCRIPTION",
    roff(
      "benito plumbs the nodes of a network testbed experiment. Run at boot from an init integration (benito install), it reads the experiment's config folder (a TopDL topology topo.xml, per-host route files, site.conf) and gives this node's NICs their addresses, installs its static routes, starts a pnode's VDE switches and link shaping, bridges the control network and launches its child nodes. benito boot does all of it; benito status compares it with what runs; benito down undoes it.",
    ),
    ".SH COMMANDS",
    ...loaded.flatMap(({ entry, command }) => [`.SS ${roff(`benito ${entry.name}`)}`, roff(`${entry.summary}.`), ...block(command.help)]),
    ".SH GLOBAL OPTIONS",
    ...block(helpSection("Global options:").join("\n")),
    ".SH EXIT STATUS",
    ...[
      ["0", "done"],
      ["1", "the operation failed (the kernel, a process or the file system refused); boot: a stage failed, the others ran"],
      ["2", "usage error (unknown command or option, wrong arguments)"],
      ["3", "invalid input (TopDL, route file, site.conf, hosts file): nothing was changed"],
    ].flatMap(([code = "", meaning = ""]) => [".TP", `.B ${code}`, roff(meaning)]),
    roff(`(${exitLine.replace(/\.$/, "")}.) Errors read "benito: while DOING on WHAT: CAUSE", one line each, with every problem of invalid input listed with file, line and path.`),
    ".SH CONFIG FOLDER",
    roff("CONFIG_DIR defaults to /var/benito/config, else /var/containers/config: topo.xml (the experiment's TopDL), route/HOSTNAME (this host's static routes), site.conf (INI; keys before any section, in [DEFAULT], [benito] or [containers]), optionally hosts and pid_eid. The host benito acts as is the HOSTNAME argument, else the kernel hostname, cut at the first dot."),
    ".SH SITE.CONF KEYS",
    ...siteKeys(),
    ".SH FILES",
    ...[
      ["/usr/local/sbin/benito", "the executable (/usr/sbin/benito from the Debian package); never strip it"],
      ["/var/benito/launch/routes.py", "the routes.py drop-in: sh and Python both run benito routes"],
      ["/run/benito/status.json", "the last boot's record (boot --run-dir)"],
      ["/var/log/benito/benito.log", "one line per boot and down stage (rotated at 1 MiB)"],
      ["/etc/systemd/system/benito.service, benito-status.service", "the systemd unit and its drift check; systemctl stop benito runs benito down"],
      ["/etc/init.d/benito, /etc/rc.local", "the sysvinit script and the rc.local block"],
      ["/var/lib/benito/install.json", "what benito install wrote, for benito uninstall"],
    ].flatMap(([path = "", what = ""]) => [".TP", `.I ${roff(path)}`, roff(what)]),
    ".SH SEE ALSO",
    ".BR systemctl (1),",
    ".BR systemd-nspawn (1),",
    ".BR vde_switch (1),",
    ".BR wirefilter (1),",
    ".BR qemu (1)",
    "",
  ].join("\n");
}

