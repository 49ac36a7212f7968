// Byte-layout tests of the rtnetlink request encoders against struct layouts from the Linux uapi headers.
import { describe, expect, test } from "bun:test";
import { parseMac } from "../../src/system/netlink/address";
import {
  BENITO_RTPROT,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWROUTE,
  RTM_SETLINK,
} from "../../src/system/netlink/constants";
import {
  writeAddressDump,
  writeAddressRequest,
  writeLinkCreate,
  writeLinkDelete,
  writeLinkDump,
  writeLinkGet,
  writeLinkSet,
  writeRouteDump,
  writeRouteRequest,
} from "../../src/system/netlink/requests";
import type { Route } from "../../src/system/netlink/types";
import { MessageWriter } from "../../src/system/netlink/writer";
import { hex, hexOf } from "./bytes";

const ACKED = NLM_F_REQUEST | NLM_F_ACK;
const REPLACE = ACKED | NLM_F_CREATE | NLM_F_REPLACE;

function written(encode: (writer: MessageWriter) => void, capacity?: number): string {
  const writer = new MessageWriter(capacity);
  encode(writer);
  return hexOf(writer.buffer, writer.length);
}

const viaGateway: Route = { dst: "10.1.0.0", prefixLength: 16, gateway: "192.168.0.2", oif: 3, metric: 5, protocol: BENITO_RTPROT, table: 254, scope: 0 };

describe("route requests", () => {
  test("RTM_NEWROUTE replace: nlmsghdr, rtmsg, then RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PRIORITY", () => {
    expect(written((w) => writeRouteRequest(w, RTM_NEWROUTE, REPLACE, 7, viaGateway))).toBe(
      hex(`
        3c000000 1800 0505 07000000 00000000   # nlmsghdr: len 60, RTM_NEWROUTE, REQUEST|ACK|REPLACE|CREATE, seq 7, pid 0
        02 10 00 00 fe b7 00 01 00000000       # rtmsg: AF_INET, /16, src 0, tos 0, table 254, proto 183, scope 0, RTN_UNICAST, flags 0
        0800 0100 0a010000                     # RTA_DST 10.1.0.0 (network order)
        0800 0500 c0a80002                     # RTA_GATEWAY 192.168.0.2
        0800 0400 03000000                     # RTA_OIF 3 (host order)
        0800 0600 05000000                     # RTA_PRIORITY 5
      `),
    );
  });

  test("a default route has no RTA_DST; RTA_PREFSRC follows the metric", () => {
    const route: Route = { dst: "0.0.0.0", prefixLength: 0, gateway: "10.0.0.1", src: "10.0.0.9", protocol: 4, table: 254, scope: 0 };
    expect(written((w) => writeRouteRequest(w, RTM_NEWROUTE, REPLACE, 1, route))).toBe(
      hex(`
        2c000000 1800 0505 01000000 00000000
        02 00 00 00 fe 04 00 01 00000000
        0800 0500 0a000001                     # RTA_GATEWAY
        0800 0700 0a000009                     # RTA_PREFSRC
      `),
    );
  });

  test("a table above 255 goes in RTA_TABLE with rtm_table RT_TABLE_UNSPEC", () => {
    const route: Route = { dst: "10.2.0.0", prefixLength: 24, oif: 2, protocol: BENITO_RTPROT, table: 1000, scope: 253 };
    expect(written((w) => writeRouteRequest(w, RTM_NEWROUTE, REPLACE, 2, route))).toBe(
      hex(`
        34000000 1800 0505 02000000 00000000   # len 52
        02 18 00 00 00 b7 fd 01 00000000       # table 0 in the header, scope link (253)
        0800 0f00 e8030000                     # RTA_TABLE 1000
        0800 0100 0a020000
        0800 0400 02000000
      `),
    );
  });

  test("RTM_DELROUTE wildcards scope (RT_SCOPE_NOWHERE) and type (RTN_UNSPEC) but keeps the protocol", () => {
    const route: Route = { dst: "10.1.0.0", prefixLength: 16, protocol: BENITO_RTPROT, table: 254, scope: 0 };
    expect(written((w) => writeRouteRequest(w, RTM_DELROUTE, ACKED, 9, route))).toBe(
      hex(`
        24000000 1900 0500 09000000 00000000   # RTM_DELROUTE, REQUEST|ACK
        02 10 00 00 fe b7 ff 00 00000000
        0800 0100 0a010000
      `),
    );
  });

  test("several requests are appended back to back, each 4-byte aligned", () => {
    const writer = new MessageWriter(16);
    writeRouteRequest(writer, RTM_NEWROUTE, REPLACE, 1, viaGateway);
    writeRouteRequest(writer, RTM_NEWROUTE, REPLACE, 2, viaGateway);
    expect(writer.length).toBe(120);
    expect(writer.view.getUint32(60, true)).toBe(60);
    expect(writer.view.getUint32(68, true)).toBe(2);
  });

  test("RTM_GETROUTE dump for one table", () => {
    expect(written((w) => writeRouteDump(w, 3, 254))).toBe(
      hex(`
        1c000000 1a00 0103 03000000 00000000   # RTM_GETROUTE, REQUEST|DUMP (0x301)
        02 00 00 00 fe 00 00 00 00000000
      `),
    );
    expect(written((w) => writeRouteDump(w, 4, 4096))).toBe(
      hex(`
        24000000 1a00 0103 04000000 00000000
        02 00 00 00 00 00 00 00 00000000
        0800 0f00 00100000
      `),
    );
  });

  test("a route that cannot be encoded writes nothing and names the bad field; a good one is written", () => {
    const problem = (route: Route) => {
      const writer = new MessageWriter();
      const answer = writeRouteRequest(writer, RTM_NEWROUTE, REPLACE, 1, route);
      // Written exactly when encodable.
      expect(writer.length > 0).toBe(answer === undefined);
      return answer;
    };
    expect(problem(viaGateway)).toBeUndefined();
    expect(problem({ ...viaGateway, dst: "10.1.0" })).toBe('invalid destination address "10.1.0"');
    expect(problem({ ...viaGateway, gateway: "300.1.1.1" })).toBe('invalid gateway address "300.1.1.1"');
    expect(problem({ ...viaGateway, src: "10.1.1.01" })).toBe('invalid source address "10.1.1.01"');
    expect(problem({ ...viaGateway, prefixLength: 33 })).toBe("invalid prefix length 33");
    expect(problem({ ...viaGateway, metric: -1 })).toBe("invalid metric -1");
    expect(problem({ ...viaGateway, oif: 0 })).toBe("invalid interface index 0");
    expect(problem({ ...viaGateway, table: 0 })).toBe("invalid table 0");
  });
});

describe("link requests", () => {
  test("RTM_GETLINK dump asks the kernel to skip statistics (IFLA_EXT_MASK)", () => {
    expect(written((w) => writeLinkDump(w, 5))).toBe(
      hex(`
        28000000 1200 0103 05000000 00000000   # RTM_GETLINK, REQUEST|DUMP
        00 00 0000 00000000 00000000 00000000  # ifinfomsg: AF_UNSPEC, pad, type, index, flags, change
        0800 1d00 08000000                     # IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS
      `),
    );
  });

  test("RTM_GETLINK by name carries IFLA_IFNAME, NUL-terminated and padded", () => {
    expect(written((w) => writeLinkGet(w, 6, "eth10"))).toBe(
      hex(`
        34000000 1200 0100 06000000 00000000
        00 00 0000 00000000 00000000 00000000
        0a00 0300 65746831 30000000            # IFLA_IFNAME "eth10\\0" (len 10, padded to 12)
        0800 1d00 08000000
      `),
    );
  });

  test("RTM_GETLINK by index sets ifi_index", () => {
    expect(written((w) => writeLinkGet(w, 6, 258))).toBe(
      hex(`
        28000000 1200 0100 06000000 00000000
        00 00 0000 02010000 00000000 00000000
        0800 1d00 08000000
      `),
    );
  });

  test("RTM_SETLINK up sets IFF_UP in both ifi_flags and ifi_change; down clears it", () => {
    expect(written((w) => writeLinkSet(w, RTM_SETLINK, ACKED, 8, 4, { up: true }))).toBe(
      hex(`
        20000000 1300 0500 08000000 00000000
        00 00 0000 04000000 01000000 01000000
      `),
    );
    expect(written((w) => writeLinkSet(w, RTM_SETLINK, ACKED, 8, 4, { up: false }))).toBe(
      hex(`
        20000000 1300 0500 08000000 00000000
        00 00 0000 04000000 00000000 01000000
      `),
    );
  });

  test("RTM_SETLINK MAC, name and master attributes", () => {
    const mac = parseMac("02:AA:bb:0c:0d:0e") as Uint8Array;
    expect(written((w) => writeLinkSet(w, RTM_SETLINK, ACKED, 1, 4, { mac, name: "lan0", master: 7 }))).toBe(
      hex(`
        40000000 1300 0500 01000000 00000000   # len 64
        00 00 0000 04000000 00000000 00000000  # no flag change
        0a00 0100 02aabb0c 0d0e0000            # IFLA_ADDRESS (6 bytes, padded)
        0900 0300 6c616e30 00000000            # IFLA_IFNAME "lan0\\0"
        0800 0a00 07000000                     # IFLA_MASTER 7
      `),
    );
  });

  test("RTM_NEWLINK bridge: IFLA_LINKINFO nests IFLA_INFO_KIND, nest length includes padding", () => {
    expect(written((w) => writeLinkCreate(w, RTM_NEWLINK, ACKED | NLM_F_CREATE | NLM_F_EXCL, 2, "br0", "bridge"))).toBe(
      hex(`
        38000000 1000 0506 02000000 00000000   # RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
        00 00 0000 00000000 00000000 00000000
        0800 0300 62723000                     # IFLA_IFNAME "br0"
        1000 1200                              # IFLA_LINKINFO, 16 bytes
        0b00 0100 62726964 67650000            # IFLA_INFO_KIND "bridge\\0" (len 11, padded)
      `),
    );
  });

  test("RTM_DELLINK by index", () => {
    expect(written((w) => writeLinkDelete(w, RTM_DELLINK, ACKED, 3, 9))).toBe(
      hex(`
        20000000 1100 0500 03000000 00000000
        00 00 0000 09000000 00000000 00000000
      `),
    );
  });
});

describe("address requests", () => {
  test("RTM_NEWADDR with IFA_LOCAL, IFA_ADDRESS and IFA_BROADCAST", () => {
    expect(written((w) => writeAddressRequest(w, RTM_NEWADDR, ACKED | NLM_F_CREATE | NLM_F_EXCL, 4, 3, 0x0a000001, 24, 0x0a0000ff))).toBe(
      hex(`
        30000000 1400 0506 04000000 00000000   # RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
        02 18 00 00 03000000                   # ifaddrmsg: AF_INET, /24, flags 0, scope 0, index 3
        0800 0200 0a000001                     # IFA_LOCAL 10.0.0.1
        0800 0100 0a000001                     # IFA_ADDRESS 10.0.0.1
        0800 0400 0a0000ff                     # IFA_BROADCAST 10.0.0.255
      `),
    );
  });

  test("RTM_DELADDR without a broadcast address", () => {
    expect(written((w) => writeAddressRequest(w, RTM_DELADDR, ACKED, 5, 3, 0xc0a80101, 32, -1))).toBe(
      hex(`
        28000000 1500 0500 05000000 00000000
        02 20 00 00 03000000
        0800 0200 c0a80101
        0800 0100 c0a80101
      `),
    );
  });

  test("RTM_GETADDR dump, optionally for one link", () => {
    expect(written((w) => writeAddressDump(w, 6))).toBe(hex("18000000 1600 0103 06000000 00000000   02 00 00 00 00000000"));
    expect(written((w) => writeAddressDump(w, 6, 12))).toBe(hex("18000000 1600 0103 06000000 00000000   02 00 00 00 0c000000"));
  });
});

describe("MessageWriter", () => {
  test("grows past its initial capacity without corrupting earlier messages", () => {
    const writer = new MessageWriter(32);
    for (let seq = 1; seq <= 100; seq++) writeRouteRequest(writer, RTM_NEWROUTE, REPLACE, seq, viaGateway);
    expect(writer.length).toBe(6000);
    for (let i = 0; i < 100; i++) {
      expect(writer.view.getUint32(i * 60, true)).toBe(60);
      expect(writer.view.getUint32(i * 60 + 8, true)).toBe(i + 1);
    }
  });

  test("reset reuses the buffer", () => {
    const writer = new MessageWriter();
    writeRouteRequest(writer, RTM_NEWROUTE, REPLACE, 1, viaGateway);
    const buffer = writer.buffer;
    writer.reset();
    writeRouteRequest(writer, RTM_NEWROUTE, REPLACE, 2, viaGateway);
    expect(writer.buffer).toBe(buffer);
    expect(writer.length).toBe(60);
  });
});
