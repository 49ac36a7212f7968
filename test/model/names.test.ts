// Which input names can become interface names: the pure checks the validator and src/system share.
import { describe, expect, test } from "bun:test";
import { interfaceNameProblems } from "../../src/model/names";

describe("interfaceNameProblems", () => {
  test("plain names pass; control characters are refused like the node-name check refuses them", () => {
    expect(interfaceNameProblems("eth0")).toEqual([]);
    expect(interfaceNameProblems("inf000")).toEqual([]);
    for (const name of ["e\u001bth0", "a\u0007", "x\u007f"]) expect(interfaceNameProblems(name)).toEqual(["the name contains a control character"]);
    expect(interfaceNameProblems("a\u0000b")).toEqual(["the name contains a NUL byte"]);
  });

  test("the kernel's other rules stay", () => {
    expect(interfaceNameProblems("")).toEqual(["the name is empty"]);
    expect(interfaceNameProblems("0123456789abcdef")[0]).toContain("at most 15");
    expect(interfaceNameProblems("a/b")).toEqual(['the name contains "/"']);
    expect(interfaceNameProblems("a%d")).toHaveLength(1);
  });
});
