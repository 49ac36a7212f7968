// Decoding tests on kernel answers written out byte by byte from the uapi layouts (nlmsgerr, rtmsg, ifinfomsg, ifaddrmsg).
import { describe, expect, test } from "bun:test";
import { decodeAddress, decodeError, decodeLink, decodeRoute, forEachMessage } from "../../src/system/netlink/decode";
import { bytesOf, receivedOf } from "./bytes";

/** Hex of a NUL-terminated string padded to 4 bytes, as the kernel lays out string attributes. */
function cstr(text: string): string {
  const bytes = Buffer.from(`${text}\0`, "latin1");
  return bytes.toString("hex") + "00".repeat((4 - (bytes.length % 4)) % 4);
}

function decodeFirst<T>(hex: string, decode: (received: ReturnType<typeof receivedOf>, offset: number, length: number, flags: number) => T): T {
  const received = receivedOf(bytesOf(hex));
  const length = received.view.getUint32(0, true);
  expect(length).toBe(received.end);
  return decode(received, 0, length, received.view.getUint16(6, true));
}

describe("NLMSG_ERROR", () => {
  test("a capped ACK (error 0) decodes to errno 0 without a message", () => {
    const answer = decodeFirst(
      `24000000 0200 0001 07000000 e8030000   # NLMSG_ERROR, len 36, NLM_F_CAPPED, seq 7, port 1000
       00000000                              # error 0
       3c000000 1800 0505 07000000 00000000  # the request's header, echoed`,
      decodeError,
    );
    expect(answer).toEqual({ errno: 0 });
  });

  test("a capped error with extended ACK: negative errno, NLMSGERR_ATTR_MSG and NLMSGERR_ATTR_OFFS", () => {
    const answer = decodeFirst(
      `4c000000 0200 0003 07000000 e8030000   # len 76, NLM_F_CAPPED | NLM_F_ACK_TLVS
       9bffffff                              # -101 (ENETUNREACH)
       3c000000 1800 0505 07000000 00000000
       2000 0100 ${cstr("Nexthop has invalid gateway")}   # NLMSGERR_ATTR_MSG (28 bytes of text)
       0800 0200 2c000000                    # NLMSGERR_ATTR_OFFS 44`,
      decodeError,
    );
    expect(answer).toEqual({ errno: 101, message: "Nexthop has invalid gateway", attributeOffset: 44 });
  });

  test("an uncapped error echoes the whole request; the TLVs come after it", () => {
    const answer = decodeFirst(
      `68000000 0200 0002 03000000 e8030000   # len 104, NLM_F_ACK_TLVS only
       efffffff                              # -17 (EEXIST)
       30000000 1400 0506 03000000 00000000  # echoed RTM_NEWADDR request (48 bytes)
       02 18 00 00 03000000
       0800 0200 0a000001 0800 0100 0a000001 0800 0400 0a0000ff
       2300 0100 ${cstr("ipv4: Address already assigned")}`,
      decodeError,
    );
    expect(answer).toEqual({ errno: 17, message: "ipv4: Address already assigned" });
  });

  test("an error without TLVs has only the errno", () => {
    const answer = decodeFirst("24000000 0200 0001 09000000 00000000  fdffffff  24000000 1900 0500 09000000 00000000", decodeError);
    expect(answer).toEqual({ errno: 3 });
  });
});

describe("message walking", () => {
  const route = "24000000 1800 0200 05000000 e8030000  02 10 00 00 fe b7 00 01 00000000  0800 0100 0a010000";
  const done = "14000000 0300 0200 05000000 e8030000  00000000";

  test("a multi-part datagram yields each message, then NLMSG_DONE", () => {
    const received = receivedOf(bytesOf(`${route} ${route} ${done}`));
    const seen: number[][] = [];
    forEachMessage(received, (type, flags, seq, offset, length) => seen.push([type, flags, seq, offset, length]));
    expect(seen).toEqual([
      [24, 2, 5, 0, 36],
      [24, 2, 5, 36, 36],
      [3, 2, 5, 72, 20],
    ]);
  });

  test("a truncated message at the end is not visited", () => {
    const whole = bytesOf(`${route} ${route}`);
    const seen: number[] = [];
    forEachMessage(receivedOf(whole.subarray(0, 60)), (_type, _flags, _seq, offset) => seen.push(offset));
    expect(seen).toEqual([0]);
  });

  test("a message length smaller than a header stops the walk instead of looping", () => {
    const seen: number[] = [];
    forEachMessage(receivedOf(bytesOf("04000000 1800 0200 05000000 00000000")), (type) => seen.push(type));
    expect(seen).toEqual([]);
  });

  test("walking honours the received range", () => {
    const bytes = bytesOf(`${route} ${route} ${done}`);
    const seen: number[] = [];
    forEachMessage({ ...receivedOf(bytes), start: 36, end: 72 }, (_type, _flags, _seq, offset) => seen.push(offset));
    expect(seen).toEqual([36]);
  });
});

describe("RTM_NEWROUTE", () => {
  test("a gateway route with metric, in attribute order the kernel uses", () => {
    const decoded = decodeFirst(
      `44000000 1800 0200 05000000 e8030000
       02 10 00 00 fe b7 00 01 00000000      # AF_INET /16 table 254 proto 183 scope 0 unicast
       0800 0f00 fe000000                    # RTA_TABLE 254
       0800 0100 0a010000                    # RTA_DST 10.1.0.0
       0800 0600 05000000                    # RTA_PRIORITY 5
       0800 0500 c0a80002                    # RTA_GATEWAY 192.168.0.2
       0800 0400 03000000                    # RTA_OIF 3`,
      decodeRoute,
    );
    expect(decoded).toEqual({ dst: "10.1.0.0", prefixLength: 16, gateway: "192.168.0.2", oif: 3, metric: 5, protocol: 183, table: 254, scope: 0 });
  });

  test("an on-link route with a preferred source and no metric (metric 0)", () => {
    const decoded = decodeFirst(
      `3c000000 1800 0200 05000000 00000000
       02 18 00 00 fe 02 fd 01 00000000      # proto kernel, scope link
       0800 0f00 fe000000
       0800 0100 0a000000
       0800 0700 0a000001                    # RTA_PREFSRC
       0800 0400 02000000`,
      decodeRoute,
    );
    expect(decoded).toEqual({ dst: "10.0.0.0", prefixLength: 24, src: "10.0.0.1", oif: 2, metric: 0, protocol: 2, table: 254, scope: 253 });
  });

  test("the default route has no RTA_DST; a table above 255 comes from RTA_TABLE", () => {
    const decoded = decodeFirst(
      `2c000000 1800 0200 05000000 00000000
       02 00 00 00 fc b7 00 01 00000000      # rtm_table RT_TABLE_COMPAT (252)
       0800 0f00 e8030000                    # RTA_TABLE 1000
       0800 0500 0a000001`,
      decodeRoute,
    );
    expect(decoded).toEqual({ dst: "0.0.0.0", prefixLength: 0, gateway: "10.0.0.1", metric: 0, protocol: 183, table: 1000, scope: 0 });
  });

  test("a multipath route reports its first next hop", () => {
    const decoded = decodeFirst(
      `48000000 1800 0200 05000000 00000000
       02 10 00 00 fe 04 00 01 00000000
       0800 0100 0a090000
       2400 0900                             # RTA_MULTIPATH, two struct rtnexthop
       1000 00 00 02000000 0800 0500 0a000001
       1000 00 00 04000000 0800 0500 0a000101`,
      decodeRoute,
    );
    expect(decoded).toEqual({ dst: "10.9.0.0", prefixLength: 16, gateway: "10.0.0.1", oif: 2, metric: 0, protocol: 4, table: 254, scope: 0, multipath: true });
  });

  test("local, cloned and IPv6 routes are left out", () => {
    expect(decodeFirst("24000000 1800 0200 05000000 00000000  02 20 00 00 ff 02 fe 02 00000000  0800 0100 0a000001", decodeRoute)).toBeUndefined();
    expect(decodeFirst("24000000 1800 0200 05000000 00000000  02 20 00 00 fe 02 00 01 00020000  0800 0100 0a000001", decodeRoute)).toBeUndefined();
    expect(decodeFirst("1c000000 1800 0200 05000000 00000000  0a 40 00 00 fe 02 00 01 00000000", decodeRoute)).toBeUndefined();
  });
});

describe("RTM_NEWLINK", () => {
  test("name, MAC, MTU, master, kind and the up/lower-up flags", () => {
    const decoded = decodeFirst(
      `58000000 1000 0200 05000000 00000000
       00 00 0100 03000000 43100100 00000000 # ARPHRD_ETHER, index 3, UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
       0a00 0300 ${cstr("veth0")}            # IFLA_IFNAME
       0800 0400 dc050000                    # IFLA_MTU 1500
       0800 0a00 05000000                    # IFLA_MASTER 5
       0a00 0100 02aabbccddee 0000           # IFLA_ADDRESS
       1000 1200 0900 0100 ${cstr("veth")}   # IFLA_LINKINFO { IFLA_INFO_KIND "veth" }`,
      decodeLink,
    );
    expect(decoded).toEqual({ index: 3, name: "veth0", mac: "02:aa:bb:cc:dd:ee", up: true, lowerUp: true, mtu: 1500, kind: "veth", master: 5 });
  });

  test("a down device without hardware address or kind", () => {
    const decoded = decodeFirst(
      `2c000000 1000 0200 05000000 00000000
       00 00 fe ff 07000000 90100000 00000000 # ARPHRD_NONE, index 7, POINTOPOINT|NOARP|MULTICAST
       0900 0300 ${cstr("tun0")}`,
      decodeLink,
    );
    expect(decoded).toEqual({ index: 7, name: "tun0", mac: "", up: false, lowerUp: false, mtu: 0, kind: "", master: 0 });
  });
});

describe("RTM_NEWADDR", () => {
  test("address, prefix, broadcast and label", () => {
    const decoded = decodeFirst(
      `44000000 1400 0200 05000000 00000000
       02 18 80 00 03000000                  # AF_INET /24 permanent, index 3
       0800 0100 0a000001                    # IFA_ADDRESS
       0800 0200 0a000001                    # IFA_LOCAL
       0800 0400 0a0000ff                    # IFA_BROADCAST
       0a00 0300 ${cstr("veth0")}            # IFA_LABEL
       0800 0800 80000000                    # IFA_FLAGS`,
      decodeAddress,
    );
    expect(decoded).toEqual({ index: 3, address: "10.0.0.1", prefixLength: 24, label: "veth0", broadcast: "10.0.0.255" });
  });

  test("on a point-to-point link the address is IFA_LOCAL, not the peer in IFA_ADDRESS", () => {
    const decoded = decodeFirst(
      `34000000 1400 0200 05000000 00000000
       02 20 80 00 04000000
       0800 0100 0a000002                    # IFA_ADDRESS: the peer
       0800 0200 0a000001                    # IFA_LOCAL
       0900 0300 ${cstr("tun0")}`,
      decodeAddress,
    );
    expect(decoded).toEqual({ index: 4, address: "10.0.0.1", prefixLength: 32, label: "tun0" });
  });

  test("IPv6 addresses are left out", () => {
    expect(decodeFirst("18000000 1400 0200 05000000 00000000  0a 40 80 00 04000000", decodeAddress)).toBeUndefined();
  });
});
