// Reads the config folder's `hosts` file and merges it into /etc/hosts as one marked block (pure).
import type { LineProblem } from "./route-file";

/** HostsEntry interface: one "ADDRESS NAME [NAME…]" line. */
export interface HostsEntry {
  readonly address: string;
  readonly names: readonly string[];
  readonly line: number;
}

/** The first line of benito's block in /etc/hosts. */
export const hostsBeginMarker = "# BEGIN benito: experiment hosts (written by `benito ifaces --hosts`; edits inside this block are overwritten)";
/** The last line of benito's block. */
export const hostsEndMarker = "# END benito";

/**
 * Parses a hosts file: blank lines and `#` comments ignored; every other line is an IPv4 or IPv6
 * address followed by one or more host names. Bad lines become problems; good lines still count.
 */
export function parseHostsFile(text: string, file: string): { entries: HostsEntry[]; problems: LineProblem[] } {
  const entries: HostsEntry[] = [];
  const problems: LineProblem[] = [];
  text.split("\n").forEach((raw, index) => {
    const hash = raw.indexOf("#");
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (content === "") return;
    const [address = "", ...names] = content.split(/\s+/);
    const line = index + 1;
    if (!isAddress(address)) problems.push({ file, line, message: `"${address}" is not an IPv4 or IPv6 address` });
    else if (names.length === 0) problems.push({ file, line, message: `address ${address} has no host name` });
    else {
      const badName = names.find((name) => !/^[A-Za-z0-9]([A-Za-z0-9._-]{0,252})$/.test(name));
      if (badName !== undefined) problems.push({ file, line, message: `"${badName}" is not a host name` });
      else entries.push({ address, names, line });
    }
  });
  return { entries, problems };
}

function isAddress(text: string): boolean {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(text)) return text.split(".").every((octet) => Number(octet) <= 255 && !/^0\d/.test(octet));
  return text.includes(":") && /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/.test(text);
}

/**
 * Returns /etc/hosts with benito's block replaced by (or, the first time, appended with) the given
 * entries; everything outside the block is kept byte for byte, so running it again changes
 * nothing.
 *
 * @param current The file's present content ("" when absent).
 * @param entries The entries to write.
 * @param source The config file they come from, named in the block.
 * @returns The new content, or a reason when the file has a broken block (begin without end).
 */
export function mergeHostsBlock(current: string, entries: readonly HostsEntry[], source: string): { content: string } | { problem: string } {
  const block = [hostsBeginMarker, `# from ${source.replaceAll("\n", " ")}`, ...entries.map((entry) => `${entry.address}\t${entry.names.join(" ")}`), hostsEndMarker].join("\n");
  const lines = current.split("\n");
  const begin = lines.indexOf(hostsBeginMarker);
  if (begin < 0) {
    const head = current === "" ? "" : current.endsWith("\n") ? current : `${current}\n`;
    return { content: `${head}${block}\n` };
  }
  const end = lines.indexOf(hostsEndMarker, begin + 1);
  if (end < 0) return { problem: `it has the line "${hostsBeginMarker}" without a matching "${hostsEndMarker}"; fix the file by hand` };
  return { content: [...lines.slice(0, begin), block, ...lines.slice(end + 1)].join("\n") };
}
