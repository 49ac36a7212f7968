// Derived names (namespaces, TAPs, folders) and the startup command splitter: deterministic, within limits, never a shell.
import { describe, expect, test } from "bun:test";
import { controlTapName, interfaceTapName, namespaceName, nodeFolderName, shortName } from "../../src/platforms/names";
import { shellIn, splitWords } from "../../src/platforms/process/words";

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

describe("shells behind wrappers", () => {
  test("a shell is found directly or behind env, sudo, nohup and their options", () => {
    expect(shellIn(["/bin/sh", "-c", "x"])).toBe("/bin/sh");
    expect(shellIn(["/usr/bin/env", "-i", "PATH=/bin", "bash", "-c", "x"])).toBe("bash");
    expect(shellIn(["sudo", "-E", "nohup", "dash", "script"])).toBe("dash");
    expect(shellIn(["nice", "-n", "5", "busybox", "sh"])).toBe("busybox");
  });

  test("ordinary programs pass, even with -c among their arguments", () => {
    expect(shellIn(["/usr/bin/ping", "-c", "3", "10.0.0.1"])).toBeUndefined();
    expect(shellIn(["env", "FOO=1", "/usr/bin/python3", "-m", "http.server"])).toBeUndefined();
    expect(shellIn([])).toBeUndefined();
  });
});
