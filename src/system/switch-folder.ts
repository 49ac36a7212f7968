// A VDE switch's socket folder: made and marked by benito before its switch starts, cleared of benito's sockets only, never someone else's.
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, rmdirSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { BenitoError, ExitCode, messageOf } from "../errors";

/** The file benito writes into each switch folder it makes: the folder is benito's exactly when it holds this. */
export const switchFolderMark = ".benito-switch";

/** Who a switch folder belongs to: nobody yet, benito (it holds the mark), or someone else. */
export type SwitchFolderOwner = "absent" | "benito" | "foreign";

/** Says whose a switch folder is, without changing anything. */
export function switchFolderOwner(path: string): SwitchFolderOwner {
  let isDirectory: boolean;
  try {
    isDirectory = lstatSync(path).isDirectory();
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return "absent";
    throw new BenitoError("looking at the switch folder", path, messageOf(error), ExitCode.failed);
  }
  if (!isDirectory) return "foreign";
  try {
    return lstatSync(join(path, switchFolderMark)).isFile() ? "benito" : "foreign";
  } catch {
    return "foreign";
  }
}

/**
 * Makes a switch's folder (and its parents) and marks it as benito's, before the switch starts.
 *
 * @throws BenitoError exit 3 when the folder exists and is not benito's: it is never taken over.
 */
export function makeSwitchFolder(path: string, switchId: string): void {
  const owner = switchFolderOwner(path);
  if (owner === "foreign") throw foreignFolder(path);
  if (owner === "benito") return;
  try {
    mkdirSync(dirname(path), { recursive: true });
    mkdirSync(path, { mode: 0o770 });
    const fd = openSync(join(path, switchFolderMark), "wx", 0o644);
    try {
      writeSync(fd, `${switchId}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new BenitoError("making the switch folder", path, messageOf(error), ExitCode.failed);
  }
}

/** The error for a folder benito did not make (exit 3: the topology points a switch at it). */
export function foreignFolder(path: string): BenitoError {
  return new BenitoError("starting the switch", path, `the folder exists and was not made by benito (no ${switchFolderMark} in it); benito never takes over, empties or chmods it — point benito:vde_switch at a new path or remove it`, ExitCode.input);
}

/**
 * Removes what a switch benito started leaves in its folder: the sockets (ctl, NNN.fd, plug
 * sockets), then the mark and the folder when nothing else is in it. A folder benito did not
 * make, and anything in one that is not a socket, is left as it is.
 */
export function clearSwitchFolder(path: string): void {
  if (switchFolderOwner(path) !== "benito") return;
  for (const name of readdirSync(path)) {
    if (!(name === "ctl" || /^\d{3}\.\d+$/.test(name) || /^\.(benito-)?\d+-\d+$/.test(name))) continue;
    const entry = join(path, name);
    try {
      if (lstatSync(entry).isSocket()) unlinkSync(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  if (readdirSync(path).some((name) => name !== switchFolderMark)) return;
  try {
    unlinkSync(join(path, switchFolderMark));
    rmdirSync(path);
  } catch {
    // Someone added a file meanwhile: leave the folder.
  }
}
