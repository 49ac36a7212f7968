// `benito uninstall --root DIR`: removes what `benito install` put into an image root, by its record.
import { resolve } from "node:path";
import { applyUninstall, readManifest } from "../../apply/install-apply";
import { ExitCode, InputError, UsageError } from "../../errors";
import { manifestPath } from "../../install/install-plan";
import { debianPackageOwnsBenito } from "../os";
import { parseCommandArgs } from "../args";
import type { Command } from "../command";

const help = `Usage: benito uninstall --root DIR [--dry-run]

Removes what \`benito install\` wrote into the image whose root folder is DIR, by its record
(${manifestPath}): the binary, the preflight script, the routes.py drop-in, the init files
and their links; from /etc/rc.local only benito's block. Folders install made are removed when
empty (so /var/log/benito stays while it holds logs). Refuses an image where the Debian package
owns benito (use dpkg). Nothing recorded: nothing to do, exit 0.

Options:
  --root DIR  the image's root folder (required; / for this machine)
  --dry-run   list what would be removed; change nothing`;

const options = {
  root: { type: "string" },
  "dry-run": { type: "boolean" },
} as const;

/** The `uninstall` command. */
export const uninstallCommand: Command = {
  name: "uninstall",
  help,
  async run(args, ctx) {
    const { values } = parseCommandArgs("uninstall", args, options, 0);
    if (values.root === undefined) throw new UsageError("uninstall", "--root DIR is required (the image's root folder; / for this machine)");
    const root = resolve(values.root);
    if (debianPackageOwnsBenito(root)) throw new InputError("uninstalling", root, "the Debian package benito is installed in this image: remove it with dpkg");
    const manifest = readManifest(root);
    if (manifest === undefined) {
      ctx.io.out(`nothing to uninstall: ${root}${manifestPath} does not exist`);
      return ExitCode.ok;
    }
    if (values["dry-run"] === true) {
      for (const item of manifest.items) ctx.io.out(`${item.kind === "edit" ? "edit  " : "remove"} ${item.path}`);
      ctx.io.out(`remove ${manifestPath}`);
      for (const dir of [...manifest.createdDirs].reverse()) ctx.io.out(`rmdir  ${dir} (when empty)`);
      return ExitCode.ok;
    }
    for (const line of applyUninstall(root, manifest)) ctx.io.out(line);
    ctx.io.out(`uninstalled benito from ${root}`);
    return ExitCode.ok;
  },
};
