// `benito install --root DIR`: puts benito into an image root (binary, routes.py drop-in, init integration, log folder), after checking the image.
import { resolve } from "node:path";
import { applyInstall, readManifest } from "../../apply/install-apply";
import { ExitCode, InputError, UsageError } from "../../errors";
import { binaryProblems, imageProblems } from "../../install/image-checks";
import { gatherImageFacts } from "../../install/image-facts";
import { describeItem, planInstall, type InstallRole } from "../../install/install-plan";
import { detectInit, readTextInRoot } from "../os";
import type { InitKind } from "../os";
import { parseCommandArgs } from "../args";
import { manPage } from "../man-page";
import type { Command } from "../command";

const inits: readonly InitKind[] = ["systemd", "sysv", "rc.local", "none"];

const help = `Usage: benito install --root DIR [--binary PATH] [--prefix PREFIX] [--routes-link PATH]
                      [--init systemd|sysv|rc.local|none] [--role pnode|vm] [--dry-run]

Puts benito into the image whose root folder is DIR (a mounted disk image, a staging folder, or /):
  PREFIX/sbin/benito           this executable (/proc/self/exe), or --binary PATH (e.g. the
                               arm64 build for an arm64 image), never stripped; PREFIX defaults
                               to /usr/local
  PREFIX/share/man/man8/benito.8.gz  this manual page (the help texts of every command)
  PREFIX/lib/benito/preflight  the floors benito cannot report itself (/proc, SSE4.2/POPCNT,
                               an unstripped binary), checked by the init files before boot
  /var/benito/launch/routes.py the original routes.py's path (--routes-link PATH for another):
                               a two-line sh/Python script, so \`routes.py ...\` and
                               \`python routes.py ...\` both run \`benito routes ...\`
  the init integration         --init systemd: benito.service (+ benito-status.service), enabled;
                               sysv: /etc/init.d/benito linked into /etc/rc?.d; rc.local: a block
                               in /etc/rc.local; none. Default: detected from the image.
  /var/log/benito              boot's log folder
  /var/lib/benito/install.json what was written, for benito uninstall
With --role vm the init integration first runs \`benito guest-config --set-hostname\` (the config
folder comes from the config disk the pnode attached), then boot.

Before writing anything it checks the binary and the image: the binary's ELF architecture against
the image's /bin/sh (or libc), that the binary is unstripped (its --version, when it can run here),
glibc 2.17 or newer in the image, /proc and /run mounted at boot (init system, fstab or boot
scripts), and that the Debian package does not own benito there. Each problem is one line; any
problem: exit 3, nothing written. Re-running changes only what differs.

Options:
  --root DIR        the image's root folder (required; / for this machine)
  --binary PATH     the executable to install (default: the running one)
  --prefix PREFIX   install prefix inside the image (default /usr/local; the package uses /usr)
  --routes-link P   the routes.py drop-in's path (default /var/benito/launch/routes.py)
  --init KIND       systemd, sysv, rc.local or none (default: detected)
  --role ROLE       pnode (default) or vm
  --dry-run         list every file it would write; change nothing
  --stage           DIR is a package's staging tree, not an image (what \`make deb\` uses): only
                    the binary is checked; the systemd units and the sysvinit script are both
                    written, neither enabled (the package's maintainer scripts enable them); no
                    install record`;

const options = {
  root: { type: "string" },
  binary: { type: "string" },
  prefix: { type: "string" },
  "routes-link": { type: "string" },
  init: { type: "string" },
  role: { type: "string" },
  "dry-run": { type: "boolean" },
  stage: { type: "boolean" },
} as const;

/** An absolute, normalized path inside the image (no trailing slash, no ..), or a usage error. */
function imagePath(option: string, value: string): string {
  if (!value.startsWith("/") || value.split("/").includes("..")) throw new UsageError("install", `--${option} wants an absolute path inside the image without "..", got "${value}"`);
  return value.replace(/\/+$/, "").replace(/\/{2,}/g, "/") || "/";
}

/** The `install` command. */
export const installCommand: Command = {
  name: "install",
  help,
  async run(args, ctx) {
    const { values } = parseCommandArgs("install", args, options, 0);
    if (values.root === undefined) throw new UsageError("install", "--root DIR is required (the image's root folder; / for this machine)");
    const root = resolve(values.root);
    const prefix = imagePath("prefix", values.prefix ?? "/usr/local");
    const routesLink = imagePath("routes-link", values["routes-link"] ?? "/var/benito/launch/routes.py");
    if (values.init !== undefined && !inits.includes(values.init as InitKind)) throw new UsageError("install", `--init wants one of ${inits.join(", ")}, got "${values.init}"`);
    const role = values.role ?? "pnode";
    if (role !== "pnode" && role !== "vm") throw new UsageError("install", `--role wants pnode or vm, got "${role}"`);
    const init = inits.find((kind) => kind === values.init) ?? detectInit(root);
    const binary = resolve(values.binary ?? "/proc/self/exe");

    const stage = values.stage === true;
    if (stage && values.init !== undefined) throw new UsageError("install", "--stage writes every init file: leave out --init");
    const facts = gatherImageFacts(root, binary, init);
    const problems = stage ? binaryProblems(facts) : imageProblems(facts);
    if (problems.length > 0) throw new InputError(stage ? "checking the binary" : "checking the image", stage ? binary : root, `${problems.length} problem${problems.length === 1 ? "" : "s"}, nothing written`, problems);
    const chosen = stage ? "package" : (init ?? "none");
    const items = planInstall({ prefix, routesLink, init: chosen, role: role as InstallRole }, readTextInRoot(root, "/etc/rc.local"), Bun.gzipSync(await manPage(), { level: 9 }));
    if (values["dry-run"] === true) {
      ctx.io.out(`# benito install into ${root}: init ${chosen}, role ${role}, prefix ${prefix}`);
      for (const item of items) ctx.io.out(describeItem(item));
      if (!stage) ctx.io.out("write  /var/lib/benito/install.json (what was installed, for benito uninstall)");
      return ExitCode.ok;
    }
    for (const line of applyInstall(root, items, binary, stage ? undefined : readManifest(root), !stage)) ctx.io.out(line);
    ctx.io.out(`installed benito into ${root} (init ${chosen}, role ${role})`);
    return ExitCode.ok;
  },
};
