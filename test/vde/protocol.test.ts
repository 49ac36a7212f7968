// Pure pieces of the VDE plumbing: sockaddr_un bytes, management port/print parsing, MAC parsing.
import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors";
import { parseMac } from "../../src/system/tap";
import { parsePortPrint } from "../../src/system/vde/mgmt";
import { decodeSockaddrUn, encodeSockaddrUn, sockaddrUnSize } from "../../src/system/vde/sockaddr";

describe("sockaddr_un", () => {
  test("encodes family 1 and the zero-padded path in 110 bytes, and decodes back", () => {
    const address = encodeSockaddrUn("/run/sw/ctl");
    expect(address.length).toBe(sockaddrUnSize);
    expect([...address.subarray(0, 2)]).toEqual([1, 0]);
    expect(Buffer.from(address.subarray(2, 13)).toString()).toBe("/run/sw/ctl");
    expect(address[13]).toBe(0);
    expect(decodeSockaddrUn(address)).toBe("/run/sw/ctl");
  });

  test("a path longer than sun_path is refused; a non-unix family decodes to undefined", () => {
    expect(() => encodeSockaddrUn(`/${"x".repeat(107)}`)).toThrow(RangeError);
    expect(decodeSockaddrUn(new Uint8Array(sockaddrUnSize))).toBeUndefined();
  });
});

describe("parsePortPrint", () => {
  test("active ports with their VLAN and endpoint descriptions; inactive ones are skipped", () => {
    const lines = [
      "Port 0001 untagged_vlan=0001 ACTIVE - NOT Unnamed Allocatable",
      " Current User: root Access Control: (User: NONE - Group: NONE)",
      " IN:  pkts          7          bytes                  602",
      " OUT: pkts          7          bytes                  602",
      "  -- endpoint ID 0009 module unix prog   : benito vde plug tap=t0 pid=20001",
      "Port 0002 untagged_vlan=0000 INACTIVE - Unnamed Allocatable",
      "Port 0004 untagged_vlan=0002 ACTIVE - NOT Unnamed Allocatable",
      "  -- endpoint ID 0007 module unix prog   : vde_crosscable user=root pid=19992",
    ];
    expect(parsePortPrint(lines)).toEqual([
      { port: 1, vlan: 1, endpoints: ["benito vde plug tap=t0 pid=20001"] },
      { port: 4, vlan: 2, endpoints: ["vde_crosscable user=root pid=19992"] },
    ]);
  });
});

describe("parseMac", () => {
  test("six hex bytes, colon or dash separated", () => {
    expect([...parseMac("02:00:0a:01:01:ff")]).toEqual([2, 0, 10, 1, 1, 255]);
    expect([...parseMac("02-00-0A-01-01-02")]).toEqual([2, 0, 10, 1, 1, 2]);
  });

  test("anything else, and multicast addresses, are input errors", () => {
    for (const bad of ["02:00:0a:01:01", "02:00:0a:01:01:02:03", "zz:00:0a:01:01:02", "01:00:5e:00:00:01"]) {
      expect(() => parseMac(bad)).toThrow(InputError);
    }
  });
});
