// Decides which host benito is running as: the HOSTNAME argument, else the kernel hostname.
import { InputError } from "../errors";

/**
 * Normalizes a host name: Emulab-style `node.eid.pid` becomes `node`; names with `/` or `..`
 * are refused because a host name is later used to pick a file (`route/HOSTNAME`).
 *
 * @param name The HOSTNAME argument or the kernel hostname.
 * @param source Where it came from, for the error message.
 */
export function normalizeHostName(name: string, source: string): string {
  const trimmed = name.trim();
  if (trimmed === "") throw new InputError("deciding which host this is", source, "the host name is empty");
  if (trimmed.includes("/") || trimmed.includes("..") || trimmed.includes("\0")) {
    throw new InputError("deciding which host this is", source, `"${trimmed}" is not a host name (it must not contain "/" or "..")`);
  }
  const short = trimmed.split(".")[0] ?? trimmed;
  return short;
}
