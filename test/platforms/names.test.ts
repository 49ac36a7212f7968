// Derived names (namespaces, TAPs, folders) and the startup command splitter: deterministic, within limits, never a shell.
import { describe, expect, test } from "bun:test";
import { controlTapName, interfaceTapName, namespaceName, nodeFolderName, shortName } from "../../src/platforms/names";
import { splitWords } from "../../src/platforms/process/words";

describe("names", () => {
  test("short safe names are kept as they are", () => {
    expect(namespaceName("web1")).toBe("bn-web1");
    expect(controlTapName("vm1")).toBe("bc-vm1");
    expect(interfaceTapName("inf000")).toBe("inf000");
  });

  test("long or unsafe names are cut, cleaned and fingerprinted, deterministically", () => {
    const long = namespaceName("a-node-with-a-very-long-name");
    expect(new TextEncoder().encode(long).length).toBeLessThanOrEqual(15);
    expect(long).toBe(namespaceName("a-node-with-a-very-long-name"));
    expect(long).not.toBe(namespaceName("a-node-with-a-very-long-name2"));
    expect(nodeFolderName("../../etc")).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(nodeFolderName("a/b")).not.toBe(nodeFolderName("a_b"));
    expect(shortName("ünïcode", 15)).toMatch(/^[A-Za-z0-9_-]{1,15}$/);
    expect(shortName("", 15)).toMatch(/^[0-9a-f]{6}$/);
  });
});

describe("startup command words", () => {
  test("quotes group, backslashes escape, nothing expands", () => {
    expect(splitWords(`/usr/bin/server --name 'my node' "say \\"hi\\"" a\\ b $HOME; ls | cat`)).toEqual([
      "/usr/bin/server",
      "--name",
      "my node",
      'say "hi"',
      "a b",
      "$HOME;",
      "ls",
      "|",
      "cat",
    ]);
    expect(splitWords("  ")).toEqual([]);
    expect(splitWords("prog ''")).toEqual(["prog", ""]);
  });

  test("an unclosed quote is reported", () => {
    expect(splitWords("prog 'oops")).toEqual({ error: "unclosed single quote" });
    expect(splitWords('prog "oops')).toEqual({ error: "unclosed double quote" });
  });
});
