// IPv4 and MAC text conversion used by the netlink encoders and decoders.
import { describe, expect, test } from "bun:test";
import { formatIPv4, formatMac, parseIPv4, parseMac, prefixMask } from "../../src/system/netlink/address";

describe("IPv4", () => {
  test("dotted quads parse to their 32-bit value and format back", () => {
    for (const [text, value] of [
      ["0.0.0.0", 0],
      ["10.1.2.3", 0x0a010203],
      ["192.168.0.255", 0xc0a800ff],
      ["255.255.255.255", 0xffffffff],
    ] as const) {
      expect(parseIPv4(text)).toBe(value);
      expect(formatIPv4(value)).toBe(text);
    }
  });

  test("anything else is refused with -1", () => {
    for (const text of ["", "10.1.2", "10.1.2.3.4", "256.1.1.1", "10..1.2", "10.1.2.", ".10.1.2", " 10.1.2.3", "10.1.2.3 ", "010.1.2.3", "10.1.2.x", "1e1.1.1.1", "+1.1.1.1"]) {
      expect(parseIPv4(text)).toBe(-1);
    }
  });

  test("prefix masks", () => {
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(8)).toBe(0xff000000);
    expect(prefixMask(24)).toBe(0xffffff00);
    expect(prefixMask(31)).toBe(0xfffffffe);
    expect(prefixMask(32)).toBe(0xffffffff);
  });
});

describe("MAC", () => {
  test("colon or dash separated, any case; formats lower-case with colons", () => {
    const bytes = parseMac("02:AA:bb:0C:0d:EE") as Uint8Array;
    expect(Array.from(bytes)).toEqual([0x02, 0xaa, 0xbb, 0x0c, 0x0d, 0xee]);
    expect(formatMac(bytes)).toBe("02:aa:bb:0c:0d:ee");
    expect(formatMac(parseMac("02-aa-bb-0c-0d-ee") as Uint8Array)).toBe("02:aa:bb:0c:0d:ee");
  });

  test("malformed addresses are refused", () => {
    for (const text of ["", "02:aa:bb:0c:0d", "02:aa:bb:0c:0d:ee:ff", "2:aa:bb:0c:0d:ee", "02:aa:bb:0c:0d:eg", "02aabb0c0dee"]) {
      expect(parseMac(text)).toBeUndefined();
    }
  });

  test("formats a slice of a buffer, and no bytes as an empty string", () => {
    expect(formatMac(new Uint8Array([9, 1, 2, 3, 9]), 1, 3)).toBe("01:02:03");
    expect(formatMac(new Uint8Array(0))).toBe("");
  });
});
