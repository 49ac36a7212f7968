// XML as the standard says: CDATA, whitespace, the Char production, encodings, line ends, odd names, prefixes; and numbers in range.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benito } from "../helpers/binary";
import { checkTopology } from "../../src/topdl/parse";

/** A one-computer document whose computer name is written `name` (raw XML). */
const named = (name: string, before = "") =>
  `${before}<experiment><version>1.0</version><substrates><name>l</name></substrates><elements><computer><name>${name}</name><interface><substrate>l</substrate></interface></computer></elements></experiment>`;

const read = (input: string | Uint8Array) => checkTopology(input, "t.xml");
const nameOf = (input: string | Uint8Array) => read(input).topology?.elements[0]?.name;
const errorsOf = (input: string | Uint8Array) => read(input).errors.map((problem) => `${problem.line}: ${problem.path ? `${problem.path}: ` : ""}${problem.message}`);

let folder: string;
beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), "benito-topdl-xml-"));
});
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

describe("text", () => {
  test("CDATA is literal: no references decoded, & and < allowed", () => {
    expect(nameOf(named("<![CDATA[a&b]]>"))).toBe("a&b");
    expect(nameOf(named("<![CDATA[&amp;]]>"))).toBe("&amp;");
    expect(nameOf(named("<![CDATA[<x>]]>"))).toBe("<x>");
  });

  test("whitespace is trimmed only at the ends of the joined text", () => {
    expect(nameOf(named("x <![CDATA[ y ]]> z"))).toBe("x  y  z");
    expect(nameOf(named(" \n\t a b \r\n"))).toBe("a b");
    expect(nameOf(named("a<!-- c -->b"))).toBe("ab");
    // Only XML whitespace: a no-break space is content.
    expect(nameOf(named("\u00a0a\u00a0"))).toBe("\u00a0a\u00a0");
  });

  test("references decode once: &amp;lt; is the text &lt;", () => {
    expect(nameOf(named("&amp;lt;"))).toBe("&lt;");
    expect(nameOf(named("&#x61;&#98;"))).toBe("ab");
  });
});

describe("characters", () => {
  test("characters outside XML's Char production are refused with line and column", () => {
    expect(errorsOf(named("a\u0000b"))).toEqual([`1: character U+0000 is not allowed in XML (column ${named("a\u0000b").indexOf("\u0000") + 1})`]);
    expect(errorsOf(`<experiment>\n<version>1.0\u0001</version></experiment>`)).toEqual(["2: character U+0001 is not allowed in XML (column 13)"]);
    expect(errorsOf(named("\u001b[31mred"))[0]).toContain("character U+001B is not allowed in XML");
    expect(errorsOf(named("\uffff"))[0]).toContain("character U+FFFF is not allowed in XML");
    expect(errorsOf(named("&#1;"))[0]).toContain("character reference &#1; is not a character XML allows");
    expect(errorsOf(named("&#xD800;"))[0]).toContain("is not a character XML allows");
  });

  test("a bad reference after a CRLF in the same text or attribute value is placed where it is written", () => {
    // Found by the scan/trees differential: the column was counted in the text after CRLF became LF.
    expect(errorsOf(`<experiment>\r\n<version>\r\n x&#1;</version></experiment>`)).toEqual(["3: character reference &#1; is not a character XML allows (column 3)"]);
    expect(errorsOf(`<experiment>\r\n<version a="\r\n x&#1;">1.0</version></experiment>`)).toEqual(["3: character reference &#1; is not a character XML allows (column 3)"]);
    // The text itself still reads CRLF and CR as LF, and a reference to CR as CR.
    expect(read(named("a&#13;\r\nb\rc")).topology?.elements[0]?.name).toBe("a\r\nb\nc");
  });

  test("control characters XML allows (DEL, C1) are escaped when printed, by the binary too", async () => {
    const file = join(folder, "controls.xml");
    writeFileSync(file, named("a\u009b31mb").replace("<substrate>l</substrate>", "<substrate>\u007fnope</substrate>"));
    const result = await benito(["topdl", "validate", file]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('no substrate named "\\x7fnope"');
    expect(result.stdout).not.toMatch(/[\u007f-\u009f]/);
    const good = join(folder, "c1.xml");
    writeFileSync(good, named("a\u009b31mb"));
    const show = await benito(["topdl", "show", good]);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("computer a\\x9b31mb");
    expect(show.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    const json = await benito(["topdl", "show", "--json", good]);
    expect(json.stdout).not.toMatch(/[\u007f-\u009f]/);
    expect(JSON.parse(json.stdout).elements[0].name).toBe("a\u009b31mb");
  });
});

describe("encodings", () => {
  const utf16 = (text: string, littleEndian: boolean): Uint8Array => {
    const bytes = new Uint8Array(2 + text.length * 2);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, 0xfeff, littleEndian);
    for (let k = 0; k < text.length; k += 1) view.setUint16(2 + 2 * k, text.charCodeAt(k), littleEndian);
    return bytes;
  };

  test("UTF-16 LE and BE with a byte-order mark are decoded", () => {
    const document = named("h\u00e9\u4e2d", '<?xml version="1.0" encoding="UTF-16"?>\n');
    expect(nameOf(utf16(document, true))).toBe("h\u00e9\u4e2d");
    expect(nameOf(utf16(document, false))).toBe("h\u00e9\u4e2d");
  });

  test("ISO-8859-1 maps each byte to the same code point (0x80 is U+0080, not €)", () => {
    const text = named("caf\u00e9\u0080", '<?xml version="1.0" encoding="ISO-8859-1"?>\n');
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    expect(nameOf(bytes)).toBe("caf\u00e9\u0080");
  });

  test("other encodings are refused by name; UTF-8 stays strict", () => {
    const declared = (encoding: string) => new TextEncoder().encode(named("a", `<?xml version="1.0" encoding="${encoding}"?>\n`));
    expect(errorsOf(declared("windows-1252"))[0]).toContain('encoding "windows-1252" is not supported');
    expect(errorsOf(declared("Shift_JIS"))[0]).toContain('encoding "shift_jis" is not supported');
    expect(nameOf(declared("utf-8"))).toBe("a");
    expect(nameOf(declared("US-ASCII"))).toBe("a");
    expect(errorsOf(new Uint8Array([...new TextEncoder().encode(named("a")).slice(0, 80), 0xff]))[0]).toContain("invalid UTF-8 at byte offset 80");
  });

  test("the binary reads a UTF-16 file", async () => {
    const file = join(folder, "utf16.xml");
    writeFileSync(file, utf16(named("z"), true));
    const result = await benito(["topdl", "stats", "--json", file]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ computers: 1 });
  });
});

describe("structure", () => {
  test("a CR or a CRLF ends a line: problems keep their lines", () => {
    const document = "<experiment>\r<version>1.0</version>\r<substrates><name>l</name></substrates>\r<elements><computer><name>a</name><interface><substrate>x</substrate></interface></computer></elements>\r</experiment>";
    expect(errorsOf(document)).toEqual(['4: elements[0].computer.interface[0].substrate: no substrate named "x"']);
    expect(errorsOf(document.replaceAll("\r", "\r\n"))).toEqual(['4: elements[0].computer.interface[0].substrate: no substrate named "x"']);
    // A CR in text is read as a line feed.
    expect(nameOf(named("a\r\nb"))).toBe("a\nb");
  });

  test("__proto__ and other odd names are plain unknown names: warnings", () => {
    for (const odd of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      const result = read(named("a").replace("</computer>", `<${odd}>x</${odd}></computer>`));
      expect(result.errors).toEqual([]);
      expect(result.warnings.map((problem) => problem.message)).toEqual([`unknown child <${odd}> of <computer> ignored`]);
    }
    const attribute = read(named("a").replace("<computer>", '<computer __proto__="1">'));
    expect(attribute.errors).toEqual([]);
    // An element named like a topology part through a prefix is still read by its local name.
    expect(nameOf(named("a").replaceAll("<name>", "<t:name>").replaceAll("</name>", "</t:name>"))).toBe("a");
  });

  test("namespace prefixes keep working (root, elements, attributes)", () => {
    const document = '<t:experiment xmlns:t="urn:topdl"><t:version>1.0</t:version><t:substrates><t:name>l</t:name></t:substrates><t:elements><t:computer><t:name>a</t:name><t:cpu t:count="2"/><t:interface><t:substrate>l</t:substrate></t:interface></t:computer></t:elements></t:experiment>';
    const topology = read(document).topology!;
    expect(topology.elements[0]).toMatchObject({ name: "a", cpuCount: 2 });
  });

  test("whitespace (or anything) before the XML declaration is refused, as expat does", () => {
    expect(errorsOf(named("a", ' <?xml version="1.0"?>'))).toEqual(["1: an XML declaration must come first in the document (nothing, not even whitespace, before it)"]);
    expect(errorsOf(named("a", '\n<?xml version="1.0"?>'))[0]).toContain("must come first");
    expect(nameOf(named("a", '<?xml version="1.0"?>\n'))).toBe("a");
  });

  test("other well-formedness rules: comments, attributes, references, tags", () => {
    expect(errorsOf(named("a", "<!-- a -- b -->"))[0]).toContain('"--" inside a comment');
    expect(errorsOf(named("a").replace("<computer>", '<computer x="1" x="2">'))[0]).toContain("attribute x repeated");
    expect(errorsOf(named("a").replace("<computer>", "<computer x=1>"))[0]).toContain("the value must be quoted");
    expect(errorsOf(named("a").replace("<computer>", '<computer x="<">'))[0]).toContain('"<" is not allowed in an attribute value');
    expect(errorsOf(named("a&b"))[0]).toContain('a bare "&" must be written &amp;');
    expect(errorsOf(named("a]]>b"))[0]).toContain('"]]>" must not appear in text');
    expect(errorsOf(named("a").replace("</computer>", "</computer >"))).toEqual([]);
    expect(errorsOf(named("a").replace("<computer>", "<computer\n>"))).toEqual([]);
  });
});

describe("numbers", () => {
  const rate = (value: string) => `<experiment><version>1.0</version><substrates><name>l</name><capacity><rate>${value}</rate><kind>max</kind></capacity></substrates></experiment>`;

  test("rate, time and amount are finite, not negative and below 10^15; the path is given", () => {
    expect(errorsOf(rate("1e400"))).toEqual(["1: substrates[0].capacity.rate: 1e400 is out of range (below 10^15)"]);
    expect(errorsOf(rate("1e15"))).toEqual(["1: substrates[0].capacity.rate: 1e15 is out of range (below 10^15)"]);
    expect(errorsOf(rate("1e-400"))).toEqual(["1: substrates[0].capacity.rate: 1e-400 is too small to be held (it would read as 0)"]);
    expect(errorsOf(rate("-1"))).toEqual(["1: substrates[0].capacity.rate: -1 is negative"]);
    expect(errorsOf(rate("Infinity"))).toEqual(['1: substrates[0].capacity.rate: "Infinity" is not a number']);
    expect(read(rate("999999999999999.5")).topology!.substrates[0]!.capacity!.rate).toBe(999999999999999.5);
    expect(read(rate("-0")).topology!.substrates[0]!.capacity!.rate).toBe(0);
    const latency = rate("1").replace("<capacity><rate>1</rate><kind>max</kind></capacity>", "<latency><time>1e16</time><kind>max</kind></latency>");
    expect(errorsOf(latency)).toEqual(["1: substrates[0].latency.time: 1e16 is out of range (below 10^15)"]);
    const storage = named("a").replace("</computer>", "<storage><amount>1e999</amount><persistence>temporary</persistence></storage></computer>");
    expect(errorsOf(storage)).toEqual(["1: elements[0].computer.storage[0].amount: 1e999 is out of range (below 10^15)"]);
  });

  test("count and level are whole numbers", () => {
    const cpu = (count: string) => named("a").replace("</computer>", `<cpu><count>${count}</count></cpu></computer>`);
    expect(errorsOf(cpu("1e3"))).toEqual(['1: elements[0].computer.cpu[0].count: "1e3" is not a whole number']);
    expect(errorsOf(cpu("99999999999999999999"))).toEqual(["1: elements[0].computer.cpu[0].count: 99999999999999999999 is out of range"]);
    expect(read(cpu("4")).topology!.elements[0]).toMatchObject({ cpuCount: 4 });
  });

  test("the binary exits 3 and names the path", async () => {
    const file = join(folder, "rate.xml");
    writeFileSync(file, rate("1e400"));
    const result = await benito(["topdl", "validate", file]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain(`${file}:1: substrates[0].capacity.rate: 1e400 is out of range (below 10^15)`);
  });
});
