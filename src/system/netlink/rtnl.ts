// Rtnl: the rtnetlink operations benito needs (links, IPv4 addresses, IPv4 routes), batched where it matters.
import { BenitoError, ExitCode, InputError, messageOf } from "../../errors";
import { formatMac, parseIPv4, parseMac, prefixMask } from "./address";
import {
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  NLMSG_ERROR,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTM_SETLINK,
} from "./constants";
import { AckCollector, DumpCollector } from "./collect";
import { decodeAddress, decodeError, decodeFdbEntry, decodeLink, decodeRoute, forEachMessage, type KernelAnswer, type Received } from "./decode";
import { NetlinkError } from "./errors";
import type { NamespaceRef } from "../netns-open";
import {
  type LinkChange,
  writeAddressDump,
  writeAddressRequest,
  writeLinkCreate,
  writeLinkDelete,
  writeGroupDelete,
  writeLinkDump,
  writeLinkGet,
  writeLinkSet,
  writeRouteDump,
  writeRouteRequest,
} from "./requests";
import { NetlinkSocket } from "./socket";
import { type VxlanOptions, vxlanProblem, writeFdbDump, writeFdbRequest, writeVxlanCreate } from "./tunnel-requests";
import type { AddressInfo, BatchTimings, FdbEntry, LinkInfo, RequestOutcome, Route, RouteRequest } from "./types";
import { MessageWriter } from "./writer";
import { ENODEV, EINVAL } from "../libc-constants";

/** How often an interrupted dump is retried before giving up. */
const DUMP_ATTEMPTS = 5;
/** The kernel answers synchronously, so a missing answer is a bug or a wedged kernel: fail, don't hang. */
const ANSWER_TIMEOUT_MS = 30_000;
/**
 * An upper bound on the receive-buffer memory one queued ACK costs (its sk_buff truesize, not its
 * ~40 payload bytes): a chunk never has more ACKs in flight than the receive buffer holds, so the
 * kernel never drops one.
 */
const ACK_MEMORY_BYTES = 2048;
/** Upper bound on one chunk's bytes, whatever the send buffer allows. */
const MAX_CHUNK_BYTES = 512 * 1024;
/** Hardware-address kinds that share a MAC with the device they sit on; `linkByMac` prefers the device. */
const STACKED_KINDS = new Set(["bridge", "bond", "team", "vlan", "macvlan", "macvtap", "ipvlan", "ipvtap", "vrf"]);

/** The `what` of errors that concern the namespace as a whole rather than one link. */
const NAMESPACE = "the network namespace";

/** Options of `addAddress`. */
export interface AddAddressOptions {
  /** Succeed when the address already exists (NLM_F_REPLACE) instead of failing with "File exists". */
  readonly replace?: boolean;
  /**
   * The broadcast address: absent = the subnet's (as `ip addr add … brd +`), null = none (as a
   * plain `ip addr add`), or an explicit address (restoring a snapshot exactly).
   */
  readonly broadcast?: string | null;
}

/**
 * Rtnl class: one rtnetlink socket and the operations on links, IPv4 addresses and IPv4 routes in
 * the calling process's network namespace.
 *
 * Single changes throw NetlinkError (a BenitoError naming the operation, the errno text and the
 * kernel's extended-ACK message). `applyRoutes` never throws for a refused route: it returns one
 * outcome per request, in order. Close the instance when done (the socket is close-on-exec).
 */
export class Rtnl {
  readonly #socket: NetlinkSocket;
  readonly #writer = new MessageWriter();
  #seq = 1;
  /** For each in-flight request of the current chunk (by seq - first seq), its index in the batch. */
  #chunkRequests = new Int32Array(1024);

  private constructor(socket: NetlinkSocket) {
    this.#socket = socket;
  }

  /**
   * Opens an rtnetlink socket in the current network namespace, or in `netns` (the socket is
   * made there and stays bound to it; every request on it acts there, from any thread).
   *
   * @param options.bufferBytes Socket buffer size to ask for (default 4 MiB); batches adapt their
   *   chunk size to what the kernel grants, and tests shrink it to exercise chunking.
   */
  static open(options: { readonly bufferBytes?: number; readonly netns?: NamespaceRef } = {}): Rtnl {
    try {
      return new Rtnl(NetlinkSocket.open(options.bufferBytes, options.netns));
    } catch (error) {
      if (error instanceof BenitoError) throw error;
      const where = options.netns === undefined ? NAMESPACE : `network namespace ${typeof options.netns === "string" ? options.netns : options.netns.name}`;
      throw new BenitoError("opening the rtnetlink socket", where, messageOf(error), ExitCode.failed, [], { cause: error });
    }
  }

  /** The socket's file descriptor (-1 once closed). */
  get fd(): number {
    return this.#socket.fd;
  }

  /** Closes the socket; safe to call twice. */
  close(): void {
    this.#socket.close();
  }

  /** Every link (RTM_GETLINK dump). */
  links(): LinkInfo[] {
    return this.#dump("listing links", (writer, seq) => writeLinkDump(writer, seq), decodeLink);
  }

  /** The link with this name, or undefined when there is none. */
  linkByName(name: string): LinkInfo | undefined {
    // The kernel refuses names of 16 bytes or more (IFNAMSIZ) with EINVAL; no link can have one.
    if (name === "" || new TextEncoder().encode(name).length > 15) return undefined;
    return this.#getLink(`looking up link "${name}"`, name);
  }

  /** The link with this index, or undefined when there is none. */
  linkByIndex(index: number): LinkInfo | undefined {
    if (!Number.isInteger(index) || index <= 0 || index > 0x7fffffff) return undefined;
    return this.#getLink(`looking up link ${index}`, index);
  }

  /**
   * The link with this hardware address ("aa:bb:cc:dd:ee:ff", any case), or undefined. When several
   * links share it (a bridge or VLAN takes its port's MAC), a plain device wins over a stacked one
   * (bridge, bond, vlan, macvlan…), then the lowest index.
   */
  linkByMac(mac: string): LinkInfo | undefined {
    const bytes = parseMac(mac);
    if (bytes === undefined) throw new InputError("looking up a link by hardware address", mac, "not a MAC address (expected six hex pairs such as 02:00:0a:01:02:03)");
    const wanted = formatMac(bytes);
    let best: LinkInfo | undefined;
    for (const link of this.links()) {
      if (link.mac !== wanted) continue;
      if (best === undefined || rankForMac(link) < rankForMac(best)) best = link;
    }
    return best;
  }

  /** Sets a link administratively up or down (IFF_UP). */
  setLinkUp(index: number, up: boolean): void {
    this.#setLink(`setting the link ${up ? "up" : "down"}`, index, { up });
  }

  /** Sets a link's hardware address. */
  setLinkMac(index: number, mac: string): void {
    const bytes = parseMac(mac);
    if (bytes === undefined) throw new InputError("setting the hardware address", `link ${index}`, `"${mac}" is not a MAC address`);
    this.#setLink(`setting the hardware address ${formatMac(bytes)}`, index, { mac: bytes });
  }

  /** Renames a link (the kernel refuses while it is up: "Device or resource busy"). */
  setLinkName(index: number, name: string): void {
    this.#setLink(`renaming the link to "${name}"`, index, { name });
  }

  /** Enslaves a link to a master (bridge) link, or releases it when `masterIndex` is 0. */
  setLinkMaster(index: number, masterIndex: number): void {
    this.#setLink(masterIndex === 0 ? "releasing the link from its master" : `attaching the link to master ${masterIndex}`, index, { master: masterIndex });
  }

  /** Creates a bridge (down, no ports) and returns it; fails with "File exists" when the name is taken. */
  createBridge(name: string): LinkInfo {
    const doing = "creating the bridge";
    this.#change(doing, name, (writer, seq) => writeLinkCreate(writer, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, name, "bridge"));
    const link = this.linkByName(name);
    if (link === undefined) throw new BenitoError(doing, name, "the kernel acknowledged it but it does not exist");
    return link;
  }

  /** Sets a link's MTU. */
  setLinkMtu(index: number, mtu: number): void {
    this.#setLink(`setting the MTU to ${mtu}`, index, { mtu });
  }

  /** Sets a link's alias (IFLA_IFALIAS; "" clears it): benito's ownership mark on links it creates. */
  setLinkAlias(index: number, alias: string): void {
    this.#setLink(`setting the alias "${alias}"`, index, { alias });
  }

  /**
   * Creates a VXLAN link (down) and returns it, like `ip link add NAME type vxlan id VNI local A
   * [group G dev D] dstport P [no]learning`; fails with "File exists" when the name is taken.
   */
  createVxlan(name: string, options: VxlanOptions): LinkInfo {
    const doing = `creating the VXLAN link (VNI ${options.vni})`;
    const problem = vxlanProblem(options);
    if (problem !== undefined) throw new InputError(doing, name, problem);
    this.#change(doing, name, (writer, seq) => writeVxlanCreate(writer, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, name, options));
    const link = this.linkByName(name);
    if (link === undefined) throw new BenitoError(doing, name, "the kernel acknowledged it but it does not exist");
    return link;
  }

  /**
   * Adds (appends) a forwarding entry MAC → remote address to a VXLAN link, like `bridge fdb append
   * MAC dev LINK dst ADDRESS`; the all-zero MAC makes the link flood to that address (head-end
   * replication). Several entries for one MAC coexist; the same pair twice fails with "File exists".
   */
  appendFdb(index: number, mac: string, dst: string): void {
    const doing = `adding the forwarding entry ${mac} dst ${dst}`;
    const bytes = parseMac(mac);
    const address = parseIPv4(dst);
    if (bytes === undefined || address < 0) throw new InputError(doing, `link ${index}`, bytes === undefined ? `"${mac}" is not a MAC address` : `"${dst}" is not an IPv4 address`);
    this.#change(doing, `link ${index}`, (writer, seq) => writeFdbRequest(writer, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, seq, index, bytes, address));
  }

  /** Removes one forwarding entry MAC → remote address from a VXLAN link (`bridge fdb del … dst ADDRESS`). */
  deleteFdb(index: number, mac: string, dst: string): void {
    const doing = `deleting the forwarding entry ${mac} dst ${dst}`;
    const bytes = parseMac(mac);
    const address = parseIPv4(dst);
    if (bytes === undefined || address < 0) throw new InputError(doing, `link ${index}`, bytes === undefined ? `"${mac}" is not a MAC address` : `"${dst}" is not an IPv4 address`);
    this.#change(doing, `link ${index}`, (writer, seq) => writeFdbRequest(writer, RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK, seq, index, bytes, address));
  }

  /**
   * The forwarding-database entries of one link (`bridge fdb show dev LINK`): its own (a VXLAN
   * link's remotes, `self`) and its master bridge's for it.
   */
  fdbEntries(index: number): FdbEntry[] {
    if (!Number.isInteger(index) || index <= 0) throw new InputError("listing forwarding entries", `link ${index}`, "invalid interface index");
    const entries = this.#dump(`listing the forwarding entries of link ${index}`, (writer, seq) => writeFdbDump(writer, seq, index), decodeFdbEntry);
    // An older kernel without strict checking dumps every device's entries: keep this link's.
    return entries.filter((entry) => entry.index === index);
  }

  /** Deletes a link (a virtual one: bridge, veth, tap…). */
  deleteLink(index: number): void {
    this.#change("deleting the link", `link ${index}`, (writer, seq) => writeLinkDelete(writer, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, index));
  }

  /**
   * Deletes several links at once and says how each went (it never throws for one link). One by
   * one, each deletion makes the kernel wait for an RCU grace period (~20 ms: the unregister work
   * after rtnl_unlock runs rcu_barrier), so deleting hundreds takes seconds; a group deletion
   * (`ip link delete group N`) unregisters them all under one. The links are put in a group no
   * link of the namespace is in, the group is checked to hold exactly them, then deleted; anything
   * unexpected (a link gone meanwhile, another link in the group) falls back to one by one.
   *
   * @returns For each index, in order: undefined when it was deleted, else why not.
   */
  deleteLinks(indices: readonly number[]): (BenitoError | undefined)[] {
    const outcomes = new Map<number, BenitoError | undefined>();
    const unique = [...new Set(indices)];
    if (unique.length > 1) {
      try {
        this.#deleteAsGroup(unique, outcomes);
      } catch {
        // A dump that failed: one by one below.
      }
    }
    for (const index of unique) {
      if (outcomes.has(index)) continue;
      try {
        this.deleteLink(index);
        outcomes.set(index, undefined);
      } catch (error) {
        outcomes.set(index, error instanceof BenitoError ? error : new BenitoError("deleting the link", `link ${index}`, messageOf(error)));
      }
    }
    return indices.map((index) => outcomes.get(index));
  }

  /** The batch of `deleteLinks`: records each link it deleted in `outcomes`; leaves the rest to the caller. */
  #deleteAsGroup(indices: readonly number[], outcomes: Map<number, BenitoError | undefined>): void {
    // Random above 2^30, far from the numbers operators name; a group already in use is caught by the membership check below.
    const group = freeGroupCandidate();
    const grouped: number[] = [];
    for (const index of indices) {
      try {
        this.#setLink(`putting the link in group ${group} to delete it`, index, { group });
        grouped.push(index);
      } catch {
        // Deleted one by one (which says why it failed, as a single deletion would).
      }
    }
    // Exactly the links put there: a link someone else moved into the group meanwhile is never deleted.
    const members = this.links().filter((link) => link.group === group).map((link) => link.index);
    if (grouped.length < 2 || members.length !== grouped.length || !members.every((index) => grouped.includes(index))) return;
    this.#change(`deleting the links of group ${group}`, NAMESPACE, (writer, seq) => writeGroupDelete(writer, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, group));
    for (const index of grouped) outcomes.set(index, undefined);
  }

  /** Every IPv4 address, or those of one link when `index` is given (RTM_GETADDR dump). */
  addresses(index?: number): AddressInfo[] {
    const all = this.#dump("listing addresses", (writer, seq) => writeAddressDump(writer, seq, index ?? 0), decodeAddress);
    return index === undefined ? all : all.filter((address) => address.index === index);
  }

  /**
   * Adds an IPv4 address to a link, with IFA_LOCAL and IFA_ADDRESS (as `ip addr add` does) and the
   * subnet's broadcast address for prefixes up to /30 (as ifconfig sets it; /31 and /32 have none).
   * The kernel adds the subnet's route itself. Fails with "File exists" when the address is already
   * there, unless `replace`.
   */
  addAddress(index: number, address: string, prefixLength: number, options: AddAddressOptions = {}): void {
    const value = checkAddress("adding an address", index, address, prefixLength);
    const subnetBroadcast = prefixLength <= 30 ? (value | ~prefixMask(prefixLength)) >>> 0 : -1;
    const broadcast = options.broadcast === undefined ? subnetBroadcast : options.broadcast === null ? -1 : parseIPv4(options.broadcast);
    const flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (options.replace === true ? NLM_F_REPLACE : NLM_F_EXCL);
    this.#change(`adding address ${address}/${prefixLength}`, `link ${index}`, (writer, seq) => writeAddressRequest(writer, RTM_NEWADDR, flags, seq, index, value, prefixLength, broadcast));
  }

  /** Removes an IPv4 address from a link; fails with "Cannot assign requested address" when it is not there. */
  deleteAddress(index: number, address: string, prefixLength: number): void {
    const value = checkAddress("deleting an address", index, address, prefixLength);
    this.#change(`deleting address ${address}/${prefixLength}`, `link ${index}`, (writer, seq) => writeAddressRequest(writer, RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, index, value, prefixLength, -1));
  }

  /**
   * IPv4 unicast routes (RTM_GETROUTE dump) of one table, or of every table when `table` is
   * undefined; cached clones, local/broadcast routes and other families are left out. Each route's
   * `metric` is set (0 when it has none).
   */
  routes(table?: number): Route[] {
    const all = this.#dump(table === undefined ? "listing routes" : `listing routes of table ${table}`, (writer, seq) => writeRouteDump(writer, seq, table), decodeRoute);
    return table === undefined ? all : all.filter((route) => route.table === table);
  }

  /**
   * Applies route changes in batches: "replace" is RTM_NEWROUTE with NLM_F_CREATE | NLM_F_REPLACE
   * (the route with the same destination, prefix length, TOS and metric in the table is replaced,
   * or a new one is created); "delete" is RTM_DELROUTE (matching the protocol, metric, gateway and
   * interface when given). The kernel applies them in order, so a route may use a gateway that an
   * earlier request in the same batch made reachable.
   *
   * Many requests go out per send; the answers are matched by sequence number. Only the last
   * request of each send asks for an ACK: the kernel answers a refused request whether or not it
   * asked (with its errno and message), and it applies a send's requests in order before send
   * returns, so once the last one's ACK is read every earlier answer has been read too, and a
   * request without one succeeded. (One ACK per route was a third of the batch's time: thousands
   * of datagrams made by the kernel and read back.) A refused or malformed request gets its own
   * failed outcome (errno and message) and does not stop the others.
   *
   * @param timings When given, where the time went is added to it (`routes --timings`).
   * @returns One outcome per request, in the order of `requests`.
   */
  applyRoutes(requests: readonly RouteRequest[], timings?: BatchTimings): RequestOutcome[] {
    const outcomes = new Array<RequestOutcome | undefined>(requests.length).fill(undefined);
    const socket = this.#socket;
    const writer = this.#writer;
    // Only refusals are answered before a chunk's last ACK: no more requests per chunk than the
    // receive buffer holds answers for, so the kernel never drops one.
    const maxInFlight = Math.max(1, Math.floor(socket.receiveBufferBytes / ACK_MEMORY_BYTES));
    // Leave room for the largest route message (about 64 bytes) beyond the limit and for the kernel's own overhead.
    const maxChunkBytes = Math.max(4096, Math.min(MAX_CHUNK_BYTES, socket.sendBufferBytes - 1024));
    if (this.#chunkRequests.length < maxInFlight) this.#chunkRequests = new Int32Array(maxInFlight);
    const chunkRequests = this.#chunkRequests;
    const answers = new AckCollector(outcomes, chunkRequests);
    const replaceFlags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
    const deleteFlags = NLM_F_REQUEST;
    let next = 0;
    try {
      while (next < requests.length) {
        const encodeStart = timings === undefined ? 0 : performance.now();
        writer.reset();
        const base = this.#seq;
        let count = 0;
        let last = -1;
        while (next < requests.length && count < maxInFlight && writer.length < maxChunkBytes) {
          const request = requests[next] as RouteRequest;
          const at = writer.length;
          const replace = request.action === "replace";
          const problem = writeRouteRequest(writer, replace ? RTM_NEWROUTE : RTM_DELROUTE, replace ? replaceFlags : deleteFlags, base + count, request.route);
          if (problem !== undefined) {
            outcomes[next] = { ok: false, errno: EINVAL, message: problem };
          } else {
            last = at;
            chunkRequests[count++] = next;
          }
          next += 1;
        }
        this.#seq = nextSeq(base, count);
        if (count === 0) continue;
        // nlmsg_flags of the chunk's last message (a u16 at offset 6 of its header).
        writer.view.setUint16(last + 6, writer.view.getUint16(last + 6, true) | NLM_F_ACK, true);
        const sendStart = timings === undefined ? 0 : performance.now();
        socket.send(writer.buffer, writer.length);
        const answersStart = timings === undefined ? 0 : performance.now();
        // The kernel has processed the whole chunk when send returns: its answers are queued.
        answers.expect(base, count);
        while (!answers.complete) socket.receiveMany(ANSWER_TIMEOUT_MS, answers.take);
        if (timings !== undefined) {
          const end = performance.now();
          timings.encodeMs += sendStart - encodeStart;
          timings.sendMs += answersStart - sendStart;
          timings.answersMs += end - answersStart;
        }
      }
    } catch (error) {
      // Some requests may have been applied: say how far the batch got, so the failure is never silent.
      const answered = outcomes.filter((outcome) => outcome !== undefined);
      const refused = answered.filter((outcome) => !outcome.ok).length;
      const details = [`${answered.length - refused} of ${requests.length} requests succeeded and ${refused} failed before this error; the outcome of the others is unknown`];
      throw new BenitoError("applying route changes", NAMESPACE, messageOf(error), ExitCode.failed, details, { cause: error });
    }
    return outcomes as RequestOutcome[];
  }

  /** Sends one request with NLM_F_ACK and throws NetlinkError when the kernel refuses it. */
  #change(doing: string, what: string, encode: (writer: MessageWriter, seq: number) => void): void {
    const answer = this.#guard(doing, what, () => {
      const seq = this.#send(encode);
      let result: KernelAnswer | undefined;
      while (result === undefined) {
        const received = this.#socket.receive(ANSWER_TIMEOUT_MS);
        forEachMessage(received, (type, flags, messageSeq, offset, length) => {
          if (messageSeq === seq && type === NLMSG_ERROR) result = decodeError(received, offset, length, flags);
        });
      }
      return result;
    });
    if (answer.errno !== 0) throw new NetlinkError(doing, what, answer.errno, answer.message);
  }

  #setLink(doing: string, index: number, change: LinkChange): void {
    this.#change(doing, `link ${index}`, (writer, seq) => writeLinkSet(writer, RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, index, change));
  }

  /** RTM_GETLINK for one link: its RTM_NEWLINK answer, or undefined when the kernel says ENODEV. */
  #getLink(doing: string, link: number | string): LinkInfo | undefined {
    const what = typeof link === "number" ? `link ${link}` : link;
    let found: LinkInfo | undefined;
    const answer = this.#guard(doing, what, () => {
      const seq = this.#send((writer, messageSeq) => writeLinkGet(writer, messageSeq, link));
      let result: KernelAnswer | undefined;
      while (result === undefined && found === undefined) {
        const received = this.#socket.receive(ANSWER_TIMEOUT_MS);
        forEachMessage(received, (type, flags, messageSeq, offset, length) => {
          if (messageSeq !== seq) return;
          if (type === NLMSG_ERROR) result = decodeError(received, offset, length, flags);
          else if (type === RTM_NEWLINK) found = decodeLink(received, offset, length);
        });
      }
      return result;
    });
    if (answer !== undefined && answer.errno !== 0 && answer.errno !== ENODEV) throw new NetlinkError(doing, what, answer.errno, answer.message);
    return found;
  }

  /**
   * Runs a dump: every answer message with the request's sequence number is decoded (undefined
   * results are skipped) until NLMSG_DONE. A dump the kernel marks interrupted (the table changed
   * meanwhile) is redone, a few times at most, then refused.
   */
  #dump<T>(doing: string, encode: (writer: MessageWriter, seq: number) => void, decode: (received: Received, offset: number, length: number) => T | undefined): T[] {
    return this.#guard(doing, NAMESPACE, () => {
      for (let attempt = 1; ; attempt++) {
        const seq = this.#send(encode);
        const answer = new DumpCollector(seq, decode);
        let complete = false;
        while (!complete) complete = answer.take(this.#socket.receive(ANSWER_TIMEOUT_MS));
        const { failure, interrupted, items } = answer;
        if (failure !== undefined) throw new NetlinkError(doing, NAMESPACE, failure.errno, failure.message);
        if (!interrupted) return items;
        // A dump that may miss or repeat entries must not drive changes: give up loudly instead.
        if (attempt === DUMP_ATTEMPTS) throw new BenitoError(doing, NAMESPACE, `the kernel's tables kept changing during the dump (interrupted ${DUMP_ATTEMPTS} times)`);
      }
    });
  }

  /** Encodes one request with the next sequence number, sends it, and returns that number. */
  #send(encode: (writer: MessageWriter, seq: number) => void): number {
    const seq = this.#seq;
    this.#seq = nextSeq(seq, 1);
    this.#writer.reset();
    encode(this.#writer, seq);
    this.#socket.send(this.#writer.buffer, this.#writer.length);
    return seq;
  }

  /** Runs socket work, turning system-call failures into a BenitoError naming the operation. */
  #guard<T>(doing: string, what: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (error instanceof BenitoError) throw error;
      throw new BenitoError(doing, what, messageOf(error), ExitCode.failed, [], { cause: error });
    }
  }
}

/** The sequence number after `count` requests from `seq`; kept below 2^31 so in-chunk arithmetic never wraps. */
function nextSeq(seq: number, count: number): number {
  const next = seq + count;
  return next >= 0x7fff0000 ? 1 : next;
}

/** A link group number for `deleteLinks`, away from the small numbers operators name in /etc/iproute2/group. */
function freeGroupCandidate(): number {
  return 0x40000000 + (crypto.getRandomValues(new Uint32Array(1))[0] ?? 1) % 0x3fffffff;
}

/** Sort key for `linkByMac`: plain devices first, then other kinds, then stacked ones. */
function rankForMac(link: LinkInfo): number {
  if (link.kind === "") return 0;
  return STACKED_KINDS.has(link.kind) ? 2 : 1;
}

/** Validates an interface index, IPv4 address and prefix length; returns the address's value. */
function checkAddress(doing: string, index: number, address: string, prefixLength: number): number {
  const value = parseIPv4(address);
  if (value < 0) throw new InputError(doing, `link ${index}`, `"${address}" is not an IPv4 address`);
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) throw new InputError(doing, `link ${index}`, `invalid prefix length ${prefixLength}`);
  if (!Number.isInteger(index) || index <= 0) throw new InputError(doing, `link ${index}`, "invalid interface index");
  return value;
}
