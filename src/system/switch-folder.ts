// A VDE switch's socket folder: made and marked by benito before its switch starts, cleared of benito's sockets only, never someone else's.
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, rmdirSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { BenitoError, ExitCode, messageOf } from "../errors";
import { failpoint } from "./failpoints";

/** The file benito writes into each switch folder it makes: the folder is benito's exactly when it holds this. */
export const switchFolderMark = ".benito-switch";

/** Who a switch folder belongs to: nobody yet, benito (it holds the mark), or someone else. */
export type SwitchFolderOwner = "absent" | "benito" | "foreign";

/**
 * Says whose a switch folder is, without changing anything. `recorded`: the ledger held a record
 * of a switch in this folder before this run wrote anything; then an empty folder without the
 * mark is benito's too — what a crash between making the folder and marking it, or between
 * unmarking it and removing it, leaves behind.
 */
export function switchFolderOwner(path: string, recorded = false): SwitchFolderOwner {
  let isDirectory: boolean;
  try {
    isDirectory = lstatSync(path).isDirectory();
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return "absent";
    throw new BenitoError("looking at the switch folder", path, messageOf(error), ExitCode.failed);
  }
  if (!isDirectory) return "foreign";
  try {
    if (lstatSync(join(path, switchFolderMark)).isFile()) return "benito";
  } catch {
    // No mark: benito's only when a record vouches for it and nothing is in it.
  }
  return recorded && isEmptyFolder(path) ? "benito" : "foreign";
}

function isEmptyFolder(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch {
    return false;
  }
}

/**
 * Makes a switch's folder (and its parents) and marks it as benito's, before the switch starts.
 *
 * @throws BenitoError exit 3 when the folder exists and is not benito's: it is never taken over.
 */
export function makeSwitchFolder(path: string, switchId: string, recorded = false): void {
  const owner = switchFolderOwner(path, recorded);
  if (owner === "foreign") throw foreignFolder(path);
  if (owner === "benito" && existsSync(join(path, switchFolderMark))) return;
  try {
    if (owner === "absent") {
      mkdirSync(dirname(path), { recursive: true });
      mkdirSync(path, { mode: 0o770 });
    }
    failpoint(`switch-folder:${path}:made`);
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
export function clearSwitchFolder(path: string, recorded = false): void {
  if (switchFolderOwner(path, recorded) !== "benito") return;
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
    if (existsSync(join(path, switchFolderMark))) unlinkSync(join(path, switchFolderMark));
    failpoint(`switch-folder:${path}:unmarked`);
    rmdirSync(path);
  } catch {
    // Someone added a file meanwhile: leave the folder.
  }
}
