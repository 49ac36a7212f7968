// Writes `benito install`'s plan into an image root (only what differs) and records it; removes what the record names for `benito uninstall`.
import * as v from "valibot";
import { BenitoError, ExitCode, messageOf } from "../errors";
import { logDir, manifestPath, rcLocalWithoutBlock, type InstallItem } from "../install/install-plan";
import { copyFileInRoot, hostPathInRoot, linkInRoot, makeDirInRoot, modeOf, readBytesOrUndefined, readLinkOrUndefined, readTextInRoot, writeFileInRoot } from "../system/image-root";
import { removeEmptyDir, removeFile } from "../system/paths";
import { posix } from "node:path";

/** The install record's schema (version 1): every item written, and the folders install created. */
const manifestSchema = v.object({
  version: v.literal(1),
  binary: v.string(),
  items: v.array(v.object({ kind: v.picklist(["binary", "file", "link", "dir", "edit"]), path: v.string() })),
  createdDirs: v.array(v.string()),
});

/** Manifest type: what /var/lib/benito/install.json holds. */
export type Manifest = v.InferOutput<typeof manifestSchema>;

/** Reads the install record of an image root; undefined when benito install never wrote one. */
export function readManifest(root: string): Manifest | undefined {
  const text = readTextInRoot(root, manifestPath);
  if (text === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new BenitoError("reading the install record", manifestPath, messageOf(error), ExitCode.input);
  }
  const result = v.safeParse(manifestSchema, data);
  if (!result.success) throw new BenitoError("reading the install record", manifestPath, result.issues[0]?.message ?? "not an install record", ExitCode.input);
  return result.output;
}

const equalBytes = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && a.length === b.length && Buffer.compare(a, b) === 0;

/**
 * Writes every item that differs from what the image has; returns one line per item ("wrote",
 * "unchanged") and records the items in the manifest (kept across re-runs: folders created by an
 * earlier run stay recorded).
 */
export function applyInstall(root: string, items: readonly InstallItem[], binarySource: string, previous: Manifest | undefined, record = true): string[] {
  const lines: string[] = [];
  const createdDirs = [...(previous?.createdDirs ?? [])];
  const made = (dirs: string[]) => createdDirs.push(...dirs.filter((dir) => !createdDirs.includes(dir)));
  const binary = readBytesOrUndefined(binarySource);
  if (binary === undefined) throw new BenitoError("reading the binary to install", binarySource, "cannot read it", ExitCode.input);
  for (const item of items) {
    try {
      if (item.kind === "dir") {
        const dirs = makeDirInRoot(root, item.path, item.mode);
        made(dirs);
        lines.push(`${dirs.includes(item.path) ? "made     " : "unchanged"} ${item.path}`);
        continue;
      }
      made(makeDirInRoot(root, posix.dirname(item.path), 0o755));
      const host = hostPathInRoot(root, item.path);
      let changed = false;
      if (item.kind === "binary") {
        if (!equalBytes(readBytesOrUndefined(host), binary) || modeOf(host) !== 0o755) {
          copyFileInRoot(binarySource, host, 0o755);
          changed = true;
        }
      } else if (item.kind === "link") {
        if (readLinkOrUndefined(host) !== item.target) {
          linkInRoot(host, item.target);
          changed = true;
        }
      } else {
        const content = Buffer.from(item.content);
        if (readLinkOrUndefined(host) !== undefined || !equalBytes(readBytesOrUndefined(host), content) || modeOf(host) !== item.mode) {
          writeFileInRoot(host, content, item.mode);
          changed = true;
        }
      }
      lines.push(`${changed ? "wrote    " : "unchanged"} ${item.path}`);
    } catch (error) {
      throw new BenitoError("installing into the image", `${root}${item.path}`, messageOf(error));
    }
  }
  const manifest: Manifest = { version: 1, binary: items.find((item) => item.kind === "binary")?.path ?? "", items: items.map((item) => ({ kind: item.kind, path: item.path })), createdDirs };
  // Items an earlier install wrote that this one does not (another --init): removed, so the record stays whole.
  for (const old of previous?.items ?? []) {
    if (!items.some((item) => item.path === old.path)) lines.push(...removeItem(root, old));
  }
  if (!record) return lines;
  made(makeDirInRoot(root, posix.dirname(manifestPath), 0o755));
  writeFileInRoot(hostPathInRoot(root, manifestPath), `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
  lines.push(`recorded  ${manifestPath}`);
  return lines;
}

function removeItem(root: string, item: Manifest["items"][number]): string[] {
  const host = hostPathInRoot(root, item.path);
  if (item.kind === "dir") return [];
  if (item.kind === "edit") {
    const text = readTextInRoot(root, item.path);
    if (text === undefined) return [];
    writeFileInRoot(host, rcLocalWithoutBlock(text), modeOf(host) ?? 0o755);
    return [`edited    ${item.path} (benito's block removed)`];
  }
  if (modeOf(host) === undefined) return [];
  removeFile(host);
  return [`removed   ${item.path}`];
}

/**
 * Removes everything the manifest names (rc.local keeps everything but benito's block), then the
 * folders install created when they are empty (the log folder only when empty: logs are kept).
 */
export function applyUninstall(root: string, manifest: Manifest): string[] {
  const lines: string[] = [];
  for (const item of manifest.items) lines.push(...removeItem(root, item));
  removeFile(hostPathInRoot(root, manifestPath));
  lines.push(`removed   ${manifestPath}`);
  for (const dir of [...manifest.createdDirs].reverse()) {
    try {
      removeEmptyDir(hostPathInRoot(root, dir));
      lines.push(`removed   ${dir}/`);
    } catch {
      lines.push(`kept      ${dir}/ (not empty${dir === logDir ? ": benito's logs" : ""})`);
    }
  }
  return lines;
}
