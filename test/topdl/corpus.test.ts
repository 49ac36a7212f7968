// The 28 real TopDL documents in ../shared/topdl/corpus parse; the 2 that are not TopDL are refused (library and binary).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { benito } from "../helpers/binary";
import { hasShared, sharedDir } from "../helpers/shared";
import { checkTopology } from "../../src/topdl/parse";

const corpus = resolve(sharedDir, "topdl/corpus");

function xmlFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".xml"))
    .map((entry) => resolve(entry.parentPath, entry.name))
    .sort();
}

describe.skipIf(!hasShared)("real documents", () => {
  const all = hasShared ? xmlFiles(corpus) : [];
  const negatives = all.filter((file) => file.includes("/not-topdl/"));
  const documents = all.filter((file) => !file.includes("/not-topdl/"));

  test("the corpus holds 28 documents and 2 negatives", () => {
    expect(documents.length).toBe(28);
    expect(negatives.length).toBe(2);
  });

  for (const file of documents) {
    test(`parses ${relative(corpus, file)}`, () => {
      const result = checkTopology(readFileSync(file), file);
      expect(result.errors).toEqual([]);
      expect(result.topology!.elements.length).toBeGreaterThan(0);
    });
  }

  test("btopo.xml, the largest, has its 553 computers and 110 substrates", () => {
    const topology = checkTopology(readFileSync(resolve(corpus, "deter-project-spi/btopo.xml")), "btopo.xml").topology!;
    expect(topology.elements.filter((element) => element.kind === "computer").length).toBe(553);
    expect(topology.substrates.length).toBe(110);
  });

  test("2node10client.xml's <kind>avg</kind> reads as average, with a warning", () => {
    const result = checkTopology(readFileSync(resolve(corpus, "deter-project-magi/2node10client.xml")), "2node10client.xml");
    expect(result.topology!.substrates[0]!.capacity!.kind).toBe("average");
    expect(result.warnings[0]!.message).toBe('kind "avg" read as "average"');
  });

  for (const file of negatives) {
    test(`refuses ${relative(corpus, file)}, saying which root it found`, () => {
      const result = checkTopology(readFileSync(file), file);
      expect(result.topology).toBeUndefined();
      expect(result.errors[0]!.message).toContain("the root element is <properties>, expected <experiment>");
    });
  }

  test("the binary accepts all 28 (exit 0)", async () => {
    const result = await benito(["topdl", "validate", ...documents]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.match(/: valid \(/g)?.length).toBe(28);
  });

  for (const file of negatives) {
    test(`the binary refuses ${relative(corpus, file)} with exit 3`, async () => {
      const result = await benito(["topdl", "validate", file]);
      expect(result.code).toBe(3);
      expect(result.stdout).toContain("expected <experiment>");
    });
  }

  test("stats --json counts the top level of m1.xml (regions and fragments included)", async () => {
    const result = await benito(["topdl", "stats", "--json", resolve(corpus, "deter-project-spi/m1.xml")]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ version: "2.0", substrates: 2, elements: 3, computers: 1, interfaces: 4, regions: 2, fragments: 1 });
  });
});
