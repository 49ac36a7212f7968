// Byte-layout tests of the VXLAN link and forwarding-entry encoders against the Linux uapi structs.
import { describe, expect, test } from "bun:test";
import { parseMac } from "../../src/system/netlink/address";
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, RTM_DELNEIGH, RTM_NEWLINK, RTM_NEWNEIGH, RTM_SETLINK } from "../../src/system/netlink/constants";
import { decodeFdbEntry } from "../../src/system/netlink/decode";
import { writeLinkSet } from "../../src/system/netlink/requests";
import { vxlanProblem, writeFdbDump, writeFdbRequest, writeVxlanCreate } from "../../src/system/netlink/tunnel-requests";
import { MessageWriter } from "../../src/system/netlink/writer";
import { bytesOf, hex, hexOf, receivedOf } from "./bytes";

function written(encode: (writer: MessageWriter) => void): string {
  const writer = new MessageWriter();
  encode(writer);
  return hexOf(writer.buffer, writer.length);
}

const base = { vni: 4242, local: "10.0.0.1", port: 4789, learning: true } as const;

describe("VXLAN link requests", () => {
  test("RTM_NEWLINK type vxlan: name, MTU, then linkinfo { kind, data { ID, LOCAL, LEARNING, PORT (be16) } }", () => {
    expect(written((w) => writeVxlanCreate(w, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 9, "vx1", { ...base, mtu: 1450 }))).toBe(
      hex(`
        64000000 1000 0506 09000000 00000000   # nlmsghdr: len 100, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE, seq 9
        00 00 0000 00000000 00000000 00000000  # ifinfomsg: AF_UNSPEC, index 0, flags 0, change 0
        0800 0300 76783100                     # IFLA_IFNAME "vx1"
        0800 0400 aa050000                     # IFLA_MTU 1450
        3400 1200                              # IFLA_LINKINFO (52 bytes)
          0a00 0100 76786c616e00 0000          #   IFLA_INFO_KIND "vxlan" (padded)
          2400 0200                            #   IFLA_INFO_DATA (36 bytes)
            0800 0100 92100000                 #     IFLA_VXLAN_ID 4242 (host order)
            0800 0400 0a000001                 #     IFLA_VXLAN_LOCAL 10.0.0.1 (network order)
            0500 0700 01 000000                #     IFLA_VXLAN_LEARNING 1 (padded)
            0600 0f00 12b5 0000                #     IFLA_VXLAN_PORT 4789 (network order, padded)
      `),
    );
  });

  test("a multicast group comes with the underlay device (IFLA_VXLAN_GROUP, IFLA_VXLAN_LINK); no learning is 0", () => {
    expect(written((w) => writeVxlanCreate(w, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1, "vx1", { ...base, learning: false, group: "239.1.2.3", link: 7 }))).toBe(
      hex(`
        6c000000 1000 0506 01000000 00000000   # nlmsghdr: len 108
        00 00 0000 00000000 00000000 00000000
        0800 0300 76783100                     # IFLA_IFNAME "vx1"
        4400 1200                              # IFLA_LINKINFO (68 bytes)
          0a00 0100 76786c616e00 0000          #   kind "vxlan"
          3400 0200                            #   IFLA_INFO_DATA (52 bytes)
            0800 0100 92100000                 #     ID 4242
            0800 0200 ef010203                 #     GROUP 239.1.2.3
            0800 0300 07000000                 #     LINK 7
            0800 0400 0a000001                 #     LOCAL 10.0.0.1
            0500 0700 00 000000                #     LEARNING 0
            0600 0f00 12b5 0000                #     PORT 4789
      `),
    );
  });

  test("bad options are named before anything is sent", () => {
    expect(vxlanProblem({ ...base, vni: 0 })).toContain("VNI 0");
    expect(vxlanProblem({ ...base, vni: 0x1000000 })).toContain("16777215");
    expect(vxlanProblem({ ...base, local: "10.0.0" })).toContain("local address");
    expect(vxlanProblem({ ...base, group: "10.1.1.1", link: 2 })).toContain("multicast");
    expect(vxlanProblem({ ...base, group: "239.1.1.1" })).toContain("underlay device");
    expect(vxlanProblem({ ...base, port: 0 })).toContain("UDP port");
    expect(vxlanProblem({ ...base, mtu: 20 })).toContain("MTU");
    expect(vxlanProblem(base)).toBeUndefined();
  });

  test("RTM_SETLINK carries IFLA_MTU and IFLA_IFALIAS", () => {
    expect(written((w) => writeLinkSet(w, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 2, 4, { mtu: 1500, alias: "benito" }))).toBe(
      hex(`
        34000000 1300 0500 02000000 00000000   # nlmsghdr: len 52, RTM_SETLINK, REQUEST|ACK
        00 00 0000 04000000 00000000 00000000  # ifinfomsg: index 4, no flag change
        0800 0400 dc050000                     # IFLA_MTU 1500
        0b00 1400 62656e69746f00 00            # IFLA_IFALIAS "benito" (padded)
      `),
    );
  });
});

describe("forwarding-entry requests", () => {
  test("RTM_NEWNEIGH append: ndmsg { AF_BRIDGE, ifindex, NUD_PERMANENT, NTF_SELF }, NDA_LLADDR, NDA_DST", () => {
    const zero = parseMac("00:00:00:00:00:00") as Uint8Array;
    expect(written((w) => writeFdbRequest(w, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, 3, 5, zero, 0x0a000002))).toBe(
      hex(`
        30000000 1c00 050c 03000000 00000000   # nlmsghdr: len 48, RTM_NEWNEIGH, REQUEST|ACK|CREATE|APPEND, seq 3
        07 00 0000 05000000 8000 02 00         # ndmsg: AF_BRIDGE, ifindex 5, NUD_PERMANENT, NTF_SELF, type 0
        0a00 0200 000000000000 0000            # NDA_LLADDR 00:00:00:00:00:00 (padded)
        0800 0100 0a000002                     # NDA_DST 10.0.0.2 (network order)
      `),
    );
  });

  test("RTM_DELNEIGH has the same body", () => {
    const mac = parseMac("02:be:00:00:00:01") as Uint8Array;
    expect(written((w) => writeFdbRequest(w, RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK, 4, 6, mac, 0xc0a80001))).toBe(
      hex(`
        30000000 1d00 0500 04000000 00000000
        07 00 0000 06000000 8000 02 00
        0a00 0200 02be00000001 0000
        0800 0100 c0a80001
      `),
    );
  });
});

describe("forwarding-entry dumps", () => {
  test("RTM_GETNEIGH dump: ndmsg { AF_BRIDGE, ifindex } with state, flags and type zero (strict checking refuses others)", () => {
    expect(written((w) => writeFdbDump(w, 11, 5))).toBe(
      hex(`
        1c000000 1e00 0103 0b000000 00000000   # nlmsghdr: len 28, RTM_GETNEIGH, REQUEST|DUMP, seq 11
        07 00 0000 05000000 0000 00 00         # ndmsg: AF_BRIDGE, ifindex 5, state 0, flags 0, type 0
      `),
    );
  });

  function decoded(text: string) {
    const received = receivedOf(bytesOf(text));
    expect(received.view.getUint32(0, true)).toBe(received.end);
    return decodeFdbEntry(received, 0, received.view.getUint32(0, true));
  }

  test("a VXLAN link's flood entry: NTF_SELF, the all-zero MAC, NDA_DST in network order, NDA_VNI", () => {
    expect(
      decoded(`
        5c000000 1c00 0200 0b000000 00000000   # RTM_NEWNEIGH, len 92, NLM_F_MULTI
        07 00 0000 05000000 c000 02 00         # ndmsg: AF_BRIDGE, ifindex 5, PERMANENT|NOARP, NTF_SELF
        0a00 0200 000000000000 0000            # NDA_LLADDR 00:00:00:00:00:00
        0800 0100 ac1f0002                     # NDA_DST 172.31.0.2
        0800 0700 00100000                     # NDA_VNI 4096
        2400 0300 ${"00".repeat(32)}           # NDA_CACHEINFO (ignored)
      `),
    ).toEqual({ index: 5, mac: "00:00:00:00:00:00", dst: "172.31.0.2", vni: 4096, self: true, state: 0xc0 });
  });

  test("the master bridge's entry for the port: no NTF_SELF, no remote; an IPv6 remote is not taken for IPv4", () => {
    expect(decoded("28000000 1c00 0200 01000000 00000000  07 00 0000 05000000 8000 04 00  0a00 0200 be2843916015 0000")).toEqual({ index: 5, mac: "be:28:43:91:60:15", self: false, state: 0x80 });
    expect(decoded("3c000000 1c00 0200 01000000 00000000  07 00 0000 05000000 c000 02 00  0a00 0200 000000000000 0000  1400 0100 20010db8000000000000000000000001")).toEqual({ index: 5, mac: "00:00:00:00:00:00", self: true, state: 0xc0 });
  });

  test("other families (ARP neighbours) and entries without a MAC are left out", () => {
    expect(decoded("28000000 1c00 0200 01000000 00000000  02 00 0000 05000000 0200 00 01  0800 0100 0a000001 0000 0000")).toBeUndefined();
    expect(decoded("1c000000 1c00 0200 01000000 00000000  07 00 0000 05000000 8000 02 00")).toBeUndefined();
  });
});
