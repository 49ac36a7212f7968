// Every relative link in the repository's Markdown resolves: the file exists and, for a #fragment into Markdown, so does the heading.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const repo = resolve(import.meta.dir, "../..");
const skipped = new Set(["node_modules", "build", ".git"]);

/** Every .md file of the repository (not node_modules or build output). */
function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (skipped.has(name)) return [];
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith(".md") ? [path] : [];
  });
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to "-". */
const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");

/** The anchors a Markdown file's headings make. */
function anchors(file: string): Set<string> {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => slug(match[1] ?? "")));
}

/** Relative links in a Markdown file (code blocks and inline code left out). */
function links(file: string): string[] {
  const text = readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? "").filter((target) => !/^[a-z]+:/i.test(target));
}

const files = markdownFiles(repo);

describe("relative links in Markdown resolve", () => {
  test("the README and docs/ are there to check", () => {
    expect(files.map((file) => relative(repo, file))).toContain("README.md");
    expect(files.some((file) => relative(repo, file).startsWith("docs/"))).toBe(true);
  });
  test("the README links every design note in docs/ (its table is the index)", () => {
    const readme = readFileSync(join(repo, "README.md"), "utf8");
    const notes = readdirSync(join(repo, "docs")).filter((name) => name.endsWith(".md"));
    expect(notes.filter((name) => !readme.includes(`](docs/${name})`))).toEqual([]);
  });
  for (const file of files) {
    test(relative(repo, file), () => {
      const broken: string[] = [];
      for (const target of links(file)) {
        const [path = "", fragment] = target.split("#");
        const resolved = path === "" ? file : resolve(dirname(file), decodeURIComponent(path));
        if (!existsSync(resolved)) broken.push(`${target}: no such file`);
        else if (fragment !== undefined && resolved.endsWith(".md") && !anchors(resolved).has(fragment)) broken.push(`${target}: no heading #${fragment}`);
      }
      expect(broken).toEqual([]);
    });
  }
});
