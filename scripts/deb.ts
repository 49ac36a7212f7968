// Builds build/benito_VERSION_amd64.deb and _arm64.deb with dpkg-deb, staged through `benito install --stage` so the package and `benito install` cannot differ.
// Usage: bun scripts/deb.ts [--arch amd64|arm64]... [--out DIR] [--fast]   (default: both, xz, into build/)
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../package.json";

const { values } = parseArgs({ options: { arch: { type: "string", multiple: true }, out: { type: "string" }, fast: { type: "boolean" } } });
const repo = resolve(import.meta.dir, "..");
const out = resolve(values.out ?? join(repo, "build"));
const binaries: Record<string, string> = { amd64: join(repo, "build/benito"), arm64: join(repo, "build/benito-arm64") };
const dist = join(repo, "dist/debian");

/** Runs a program, failing the build with its output when it fails. */
function must(argv: string[]): string {
  const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    console.error(`${argv.join(" ")}:\n${result.stdout.toString()}${result.stderr.toString()}`);
    process.exit(1);
  }
  return result.stdout.toString();
}

/** Every regular file under dir, relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** The commit date (reproducible builds), else now, in RFC 2822 form for debian/changelog. */
function changelogDate(): string {
  const result = Bun.spawnSync(["git", "-C", repo, "log", "-1", "--format=%aD"], { stdout: "pipe", stderr: "ignore" });
  return result.exitCode === 0 && result.stdout.toString().trim() !== "" ? result.stdout.toString().trim() : new Date().toUTCString().replace("GMT", "+0000");
}

for (const arch of values.arch ?? ["amd64", "arm64"]) {
  const binary = binaries[arch];
  if (binary === undefined) throw new Error(`unknown architecture ${arch} (amd64 or arm64)`);
  const stage = join(out, "deb", arch);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  // The package's files are exactly what `benito install` writes (with /usr as prefix).
  must([binaries.amd64 ?? "", "install", "--root", stage, "--prefix", "/usr", "--stage", "--binary", binary]);
  const doc = join(stage, "usr/share/doc/benito");
  mkdirSync(doc, { recursive: true });
  copyFileSync(join(dist, "copyright"), join(doc, "copyright"));
  const changelog = `benito (${pkg.version}) unstable; urgency=medium\n\n  * Built from the benito repository (make deb).\n\n -- benito maintainers <benito@example.org>  ${changelogDate()}\n`;
  writeFileSync(join(doc, "changelog.gz"), Bun.gzipSync(new TextEncoder().encode(changelog), { level: 9 }));
  mkdirSync(join(stage, "usr/share/lintian/overrides"), { recursive: true });
  copyFileSync(join(dist, "lintian-overrides"), join(stage, "usr/share/lintian/overrides/benito"));
  for (const file of files(stage)) chmodSync(join(stage, file), statSync(join(stage, file)).mode & 0o111 ? 0o755 : 0o644);

  const control = join(stage, "DEBIAN");
  mkdirSync(control);
  const sizeKiB = files(stage).reduce((sum, file) => sum + Math.ceil(statSync(join(stage, file)).size / 1024), 0);
  writeFileSync(join(control, "control"), readFileSync(join(dist, "control"), "utf8").replace("@VERSION@", pkg.version).replace("@ARCH@", arch).replace("@SIZE@", String(sizeKiB)));
  for (const script of ["postinst", "postrm"]) {
    copyFileSync(join(dist, script), join(control, script));
    chmodSync(join(control, script), 0o755);
  }
  writeFileSync(join(control, "conffiles"), "/etc/init.d/benito\n");
  const sums = files(stage)
    .filter((file) => !file.startsWith("DEBIAN/"))
    .map((file) => `${new Bun.CryptoHasher("md5").update(readFileSync(join(stage, file))).digest("hex")}  ${file}`);
  writeFileSync(join(control, "md5sums"), `${sums.join("\n")}\n`);
  const deb = join(out, `benito_${pkg.version}_${arch}.deb`);
  // xz at level 1: a 110 MB executable compresses to about 40 % at a fraction of -z6's time. The
  // tests build it with --fast, gzip -1 (same files, seconds instead of a minute).
  must(["dpkg-deb", "--root-owner-group", ...(values.fast === true ? ["-Zgzip", "-z1"] : ["-Zxz", "-z1"]), "--build", stage, deb]);
  rmSync(stage, { recursive: true, force: true });
  console.log(`built ${relative(process.cwd(), deb)}`);
}
