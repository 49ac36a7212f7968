// The experiment's hosts: parsing with file:line problems, and the marked, idempotent block in a hosts file (temporary paths only).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostsBeginMarker, hostsEndMarker, mergeHostsBlock, parseHostsFile } from "../../src/model/hosts-file";
import { updateHostsFile } from "../../src/apply/ifaces-apply";
import { formatLineProblem } from "../../src/model/route-file";

const folder = mkdtempSync(join(tmpdir(), "benito-hosts-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe("hosts file parsing", () => {
  test("entries with several names, IPv6, comments; bad lines reported with file:line", () => {
    const { entries, problems } = parseHostsFile("# experiment\n10.1.1.2 h1 h1-lan0 # trailing\n::1 ip6-localhost\n10.1.1.300 bad\n10.1.1.4\n10.1.1.5 bad/name\n", "cfg/hosts");
    expect(entries).toEqual([
      { address: "10.1.1.2", names: ["h1", "h1-lan0"], line: 2 },
      { address: "::1", names: ["ip6-localhost"], line: 3 },
    ]);
    expect(problems.map(formatLineProblem)).toEqual(['cfg/hosts:4: "10.1.1.300" is not an IPv4 or IPv6 address', "cfg/hosts:5: address 10.1.1.4 has no host name", 'cfg/hosts:6: "bad/name" is not a host name']);
  });
});

describe("hosts block", () => {
  const entries = [{ address: "10.1.1.2", names: ["h1"], line: 1 }];

  test("appended once, replaced in place afterwards, everything else kept byte for byte", () => {
    const original = "127.0.0.1\tlocalhost\n# keep me\n";
    const first = mergeHostsBlock(original, entries, "cfg/hosts");
    expect(first).toEqual({ content: `${original}${hostsBeginMarker}\n# from cfg/hosts\n10.1.1.2\th1\n${hostsEndMarker}\n` });
    if (!("content" in first)) throw new Error("unreachable");
    expect(mergeHostsBlock(first.content, entries, "cfg/hosts")).toEqual(first);
    const edited = `${first.content}10.0.0.9 added-later\n`;
    const second = mergeHostsBlock(edited, [{ address: "10.1.1.3", names: ["h2"], line: 1 }], "cfg/hosts");
    expect(second).toEqual({ content: `${original}${hostsBeginMarker}\n# from cfg/hosts\n10.1.1.3\th2\n${hostsEndMarker}\n10.0.0.9 added-later\n` });
  });

  test("a file without a final newline, and an empty file", () => {
    expect(mergeHostsBlock("127.0.0.1 localhost", entries, "x")).toEqual({ content: `127.0.0.1 localhost\n${hostsBeginMarker}\n# from x\n10.1.1.2\th1\n${hostsEndMarker}\n` });
    expect(mergeHostsBlock("", entries, "x")).toEqual({ content: `${hostsBeginMarker}\n# from x\n10.1.1.2\th1\n${hostsEndMarker}\n` });
  });

  test("a begin marker without an end is refused rather than guessed", () => {
    expect(mergeHostsBlock(`a\n${hostsBeginMarker}\n1.2.3.4 x\n`, entries, "x")).toEqual({ problem: expect.stringContaining("without a matching") });
  });

  test("updateHostsFile writes a temporary file, keeps the mode, reports unchanged on the second run, writes nothing on a dry run", () => {
    const path = join(folder, "hosts");
    writeFileSync(path, "127.0.0.1 localhost\n");
    chmodSync(path, 0o640);
    expect(updateHostsFile(path, entries, "cfg/hosts", true)).toBe("updated");
    expect(readFileSync(path, "utf8")).toBe("127.0.0.1 localhost\n");
    expect(updateHostsFile(path, entries, "cfg/hosts", false)).toBe("updated");
    expect(readFileSync(path, "utf8")).toContain("10.1.1.2\th1");
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(updateHostsFile(path, entries, "cfg/hosts", false)).toBe("unchanged");
  });
});
