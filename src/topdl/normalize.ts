// Turns the XML parser's tree of one topology element (src/topdl/xml.ts) into the normalized Topology, collecting every problem.
import { kindOf, type ProblemList } from "./problems";
import type { Attribute, Capacity, Computer, Element, Latency, OtherElement, Problem, Substrate, Topology, TopdlInterface } from "./types";
import { checkStructure, grammar, type Grouped } from "./grammar";
import type { XmlNode } from "./xml";
import type { GenericSchema, InferOutput } from "valibot";
import { keepOutOfFtl } from "./jit";
import { count, kind, paramType, persistence, quantity, read, shortcut, status, whole } from "./values";

/** The original index of each top-level block of a partial document. */
export interface BlockIndexes {
  readonly substrates: readonly number[];
  readonly elements: readonly number[];
}

/** Where problems go while a document is read. */
export interface Sink {
  readonly file: string;
  /** Set when reading a partial document: block position → original index, for paths. */
  readonly indexes?: BlockIndexes;
  readonly errors: ProblemList;
  readonly warnings: ProblemList;
}

/** The kinds (problems.ts kindOf) of the warnings a document can repeat without bound. */
const kinds = {
  textTop: kindOf("text inside the topology element ignored"),
  unknownTop: kindOf("unknown child <x> of the topology ignored"),
  textIn: kindOf("text inside <x> ignored"),
  unknownKind: kindOf("unknown element kind <x> skipped (expected computer, region, segment, testbed or other)"),
  empty: kindOf("empty <elements>"),
  duplicateInterface: kindOf('duplicate interface name "x" (first on line 1); both are kept'),
  noValue: kindOf('attribute "x" has no <value>; read as ""'),
  duplicateAttribute: kindOf('duplicate attribute "x": the first value "y" (line 1) is kept'),
  unknownChild: kindOf("unknown child <x> of <y> ignored"),
  textOnly: kindOf("<x> should hold text only; child elements ignored"),
};

/**
 * Shared empty lists for absent children (read-only by type; most substrates have no attribute
 * or localname). Not frozen: a frozen array is another kind of array to the JIT, and code that
 * reads these lists would then see two kinds.
 */
const noAttributes: readonly Attribute[] = [];
const noNames: readonly string[] = [];
const noInterfaces: readonly TopdlInterface[] = [];

/** The element kinds an `<elements>` wrapper may hold. */
const elementKinds = new Set(["computer", "region", "segment", "testbed", "other"]);

/** Normalized type: the topology's parts (warnings and errors stay in the sink). */
export type Normalized = Omit<Topology, "file" | "warnings">;


/**
 * Reads one topology element (the first `<experiment>`, or the `--top` element) held whole in
 * memory. Every problem goes to the sink; the result is meaningful only when the sink has no errors.
 */
export function normalizeTopology(node: XmlNode, sink: Sink): Normalized {
  const reader = new TopologyReader(sink);
  for (const child of node.children) reader.child(child);
  return reader.finish(node.line);
}

/** One naming scope being read: the top level, or one fragment's topology. */
class ScopeBuilder {
  readonly substrates: Substrate[] = [];
  readonly elements: Element[] = [];
  /** Every interface read in this scope, with its substrate nodes' lines, for the reference check. */
  readonly references: { iface: TopdlInterface; lines: number[] }[] = [];
  readonly substrateLines = new Map<string, number>();
  readonly elementLines = new Map<string, number>();
  substrateCount = 0;
  elementsCount = 0;
}

/**
 * TopologyReader class: reads the children of the topology element one at a time, so a large
 * document can be parsed and read one top-level block at a time (src/topdl/parse.ts) and no
 * whole-document tree is ever held. `finish` runs the checks that need the whole document.
 */
export class TopologyReader {
  readonly #sink: Sink;
  readonly #top = new ScopeBuilder();
  readonly #versions: XmlNode[] = [];
  readonly #fragments: XmlNode[] = [];
  readonly #namemaps: XmlNode[] = [];
  readonly #attributeNodes: XmlNode[] = [];
  #fragmentNames = new Set<string>();
  #regionRefs: { name: string; path: string; line: number }[] = [];

  /** Whether the per-element methods were kept out of the FTL tier (jit.ts; done once, at the first reader). */
  static #tuned = false;

  constructor(sink: Sink) {
    this.#sink = sink;
    if (!TopologyReader.#tuned) {
      TopologyReader.#tuned = true;
      keepOutOfFtl([this.#interfaces, this.#measure, this.#attributes, this.#group, this.#element, this.#elements, this.#addElements, this.#substrate, this.#value, this.#cpus]);
    }
  }

  /** Reads one child of the topology element (substrates and elements at once; the rest is kept for finish). */
  child(node: XmlNode): void {
    const tag = node.name;
    const kept = node;
    switch (tag) {
      case "#text":
        if (!this.#counted(kinds.textTop)) this.#warn(0, "", "text inside the topology element ignored");
        return;
      case "version":
        this.#versions.push(kept);
        return;
      case "substrates":
        this.#addSubstrate(this.#top, node, "");
        return;
      case "elements":
        this.#addElements(this.#top, node, "");
        return;
      case "fragments":
        this.#fragments.push(kept);
        return;
      case "namemaps":
        this.#namemaps.push(kept);
        return;
      case "attribute":
        this.#attributeNodes.push(kept);
        return;
      default:
        if (!this.#counted(kinds.unknownTop)) this.#warn(this.#line(node), tag, `unknown child <${tag}> of the topology ignored`);
    }
  }

  /** Finishes the document: version, fragments, name maps, attributes, and every cross-reference check. */
  finish(line: number): Normalized {
    let version = "";
    const first = this.#versions[0];
    if (first !== undefined) {
      version = this.#text(first, "version");
      if (version !== "1.0" && version !== "2.0") this.#warn(first.line, "version", `version "${version}" is neither 1.0 nor 2.0; read as TopDL anyway`);
      const second = this.#versions[1];
      if (second !== undefined) this.#error(second.line, "version", "more than one <version>");
    } else {
      this.#warn(line, "version", "no <version>; read as TopDL without a declared version");
    }
    this.#checkReferences(this.#top);
    this.#fragments.forEach((kept, index) => this.#fragment(kept, `fragments[${index}]`, this.#top));
    this.#namemaps.forEach((kept, index) => {
      const path = `namemaps[${index}]`;
      const inner = this.#leavesWithAttributes(kept, "namemaps", "namemaps", path);
      (inner.namemap ?? []).forEach((pair, k) => this.#leaves(pair, "namemap", "map", `${path}.namemap[${k}]`));
    });
    // Region references are checked once every fragment name is known.
    for (const ref of this.#regionRefs) {
      if (!this.#fragmentNames.has(ref.name)) {
        // benito never expands regions, and an embedder may supply the fragment separately.
        this.#warn(ref.line, ref.path, `no fragment named "${ref.name}" in this document`);
      }
    }
    const attributes: Attribute[] = [];
    const seen = new Set<string>();
    this.#attributeNodes.forEach((kept, index) => {
      for (const attribute of this.#attributes([kept], "", index)) {
        if (seen.has(attribute.key)) this.#warn(attribute.line, `attribute[${index}]`, `duplicate attribute "${attribute.key}": the first value is kept`);
        else {
          seen.add(attribute.key);
          attributes.push(attribute);
        }
      }
    });
    const regions = this.#top.elements.filter((element) => element.kind === "region").length;
    return { version, substrates: this.#top.substrates, elements: this.#top.elements, attributes, counts: { regions, fragments: this.#fragments.length } };
  }

  #addSubstrate(scope: ScopeBuilder, node: XmlNode, prefix: string): void {
    const index = scope.substrateCount++;
    const substrate = this.#substrate(node, `${prefix}substrates[${this.#index(prefix, "substrates", index)}]`);
    if (substrate === undefined) return;
    const first = scope.substrateLines.get(substrate.name);
    if (first !== undefined) {
      this.#error(substrate.line, `${substrate.path}.name`, `duplicate substrate name "${substrate.name}" (first on line ${first})`);
      return;
    }
    scope.substrateLines.set(substrate.name, substrate.line);
    scope.substrates.push(substrate);
  }

  #addElements(scope: ScopeBuilder, wrapper: XmlNode, prefix: string): void {
    const index = scope.elementsCount++;
    for (const element of this.#elements(wrapper, `${prefix}elements[${this.#index(prefix, "elements", index)}]`, scope)) {
      if (element.name !== "") {
        const first = scope.elementLines.get(element.name);
        if (first !== undefined) {
          this.#error(element.line, `${element.path}.name`, `duplicate element name "${element.name}" (first on line ${first})`);
          continue;
        }
        scope.elementLines.set(element.name, element.line);
      }
      scope.elements.push(element);
    }
  }

  /** References are checked after every substrate is known: a forward reference links fine. */
  #checkReferences(scope: ScopeBuilder, outer?: ScopeBuilder): void {
    const inner = scope.substrateLines;
    const around = outer?.substrateLines;
    for (const { iface, lines } of scope.references) {
      const substrates = iface.substrates;
      for (let index = 0; index < substrates.length; index += 1) {
        const name = substrates[index]!;
        if (inner.has(name) || (around !== undefined && around.has(name))) continue;
        const path = substrates.length > 1 ? `${iface.path}.substrate[${index}]` : `${iface.path}.substrate`;
        this.#error(lines[index] ?? iface.line, path, `no substrate named "${name}"`);
      }
    }
  }

  #index(prefix: string, kind: keyof BlockIndexes, index: number): number {
    return prefix === "" ? (this.#sink.indexes?.[kind][index] ?? index) : index;
  }

  #fragment(node: XmlNode, path: string, outer: ScopeBuilder): void {
    const grouped = this.#group(node, "fragments", "fragment", path, this.#line(node));
    const nameNode = grouped.name?.[0];
    if (nameNode !== undefined) this.#fragmentNames.add(this.#text(nameNode, path, "name"));
    const topology = grouped.topology?.[0];
    if (topology !== undefined) {
      const inner = this.#group(topology, "topology", "fragmentTopology", `${path}.topology`, this.#line(topology));
      // A fragment is its own naming scope; it may also use the enclosing experiment's substrates.
      const scope = new ScopeBuilder();
      const prefix = `${path}.topology.`;
      for (const substrate of inner.substrates ?? []) this.#addSubstrate(scope, substrate, prefix);
      for (const wrapper of inner.elements ?? []) this.#addElements(scope, wrapper, prefix);
      this.#checkReferences(scope, outer);
    }
    (grouped.ifmap ?? []).forEach((map, index) => this.#leaves(map, "ifmap", "map", `${path}.ifmap[${index}]`));
    this.#attributes(grouped.attribute ?? [], path);
  }

  #substrate(node: XmlNode, path: string): Substrate | undefined {
    const line = this.#line(node);
    const grouped = this.#group(node, "substrates", "substrate", path, line);
    const nameNode = grouped.name?.[0];
    if (nameNode === undefined) return undefined;
    const name = this.#text(nameNode, path, "name");
    if (name === "") this.#error(line, `${path}.name`, "empty substrate name");
    if (grouped.service !== undefined) this.#services(grouped.service, path);
    if (grouped.status !== undefined) this.#status(grouped.status, path);
    const capacity = this.#capacity(grouped.capacity?.[0], path);
    const latency = this.#latency(grouped.latency?.[0], path);
    const attributes = grouped.attribute === undefined ? noAttributes : this.#attributes(grouped.attribute, path);
    const localnames = this.#localnames(grouped.localname, path);
    // Built without spreading optional parts (a spread costs a generic copy; there are thousands of substrates).
    if (capacity === undefined && latency === undefined) return { name, attributes, localnames, line, path };
    if (latency === undefined) return { name, capacity, attributes, localnames, line, path };
    if (capacity === undefined) return { name, latency, attributes, localnames, line, path };
    return { name, capacity, latency, attributes, localnames, line, path };
  }

  /** The `<localname>` texts (a shared empty list without any). */
  #localnames(nodes: XmlNode[] | undefined, path: string): readonly string[] {
    if (nodes === undefined) return noNames;
    const names: string[] = [];
    for (const local of nodes) names.push(this.#text(local, path, "localname"));
    return names;
  }

  /** Reads the items of one `<elements>` wrapper (normally exactly one). */
  #elements(wrapper: XmlNode, path: string, scope: ScopeBuilder): Element[] {
    const line = this.#line(wrapper);
    const items: XmlNode[] = [];
    const children = wrapper.children;
    for (const child of children) {
      const tag = child.name;
      if (tag === "#text") {
        if (!this.#counted(kinds.textIn)) this.#warn(line, path, "text inside <elements> ignored");
      }
      else if (elementKinds.has(tag)) items.push(child);
      else if (!this.#counted(kinds.unknownKind)) this.#warn(this.#line(child), `${path}.${tag}`, `unknown element kind <${tag}> skipped (expected computer, region, segment, testbed or other)`);
    }
    if (items.length > 1) this.#warn(line, path, `${items.length} elements inside one <elements>; each is read (TopDL puts one element in each)`);
    if (children.length === 0 && !this.#counted(kinds.empty)) this.#warn(line, path, "empty <elements>");
    const elements: Element[] = [];
    items.forEach((item, index) => {
      const tag = item.name;
      const itemPath = index === 0 ? `${path}.${tag}` : `${path}.${tag}[${index}]`;
      elements.push(this.#element(item, tag as Element["kind"], itemPath, scope));
    });
    return elements;
  }

  #element(node: XmlNode, elementKind: Element["kind"] | "computer", path: string, scope: ScopeBuilder): Element {
    const line = this.#line(node);
    const grouped = this.#group(node, elementKind, elementKind, path, line);
    const nameNode = grouped.name?.[0];
    const name = nameNode === undefined ? "" : this.#text(nameNode, path, "name");
    if (name === "") {
      // A computer is a host: without a name nothing can find it. v1 documents left testbeds and others unnamed.
      if (elementKind === "computer") this.#error(line, `${path}.name`, "computer has no name");
      else this.#warn(line, `${path}.name`, `${elementKind} has no name`);
    }
    const interfaces = grouped.interface === undefined ? noInterfaces : this.#interfaces(grouped.interface, path, scope);
    const attributes = grouped.attribute === undefined ? noAttributes : this.#attributes(grouped.attribute, path);
    const localnames = this.#localnames(grouped.localname, path);
    if (grouped.service !== undefined) this.#services(grouped.service, path);
    if (grouped.status !== undefined) this.#status(grouped.status, path);
    if (elementKind === "region") this.#region(grouped, path);
    if (elementKind === "segment") (grouped.id ?? []).forEach((id) => this.#leaves(id, "id", "id", `${path}.id`));
    if (elementKind !== "computer") return { kind: elementKind, name, localnames, interfaces, attributes, line, path } satisfies OtherElement;
    // The rarer children of a computer, each looked at only when present (tens of thousands of computers).
    if (grouped.os !== undefined) grouped.os.forEach((os, index) => this.#leavesWithAttributes(os, "os", "os", `${path}.os[${index}]`));
    if (grouped.software !== undefined) grouped.software.forEach((software, index) => this.#leavesWithAttributes(software, "software", "software", `${path}.software[${index}]`));
    if (grouped.storage !== undefined) grouped.storage.forEach((storage, index) => this.#storage(storage, `${path}.storage[${index}]`));
    if (grouped.cpu === undefined) return { kind: "computer", name, localnames, interfaces, attributes, line, path } satisfies Computer;
    const cpuCount = this.#cpus(grouped.cpu, path);
    return { kind: "computer", name, localnames, interfaces, attributes, ...(cpuCount !== undefined && { cpuCount }), line, path } satisfies Computer;
  }

  #region(grouped: Grouped<XmlNode>, path: string): void {
    const level = grouped.level?.[0];
    if (level !== undefined) this.#value(level, path, "level", whole);
    const fragname = grouped.fragname?.[0];
    if (fragname !== undefined) this.#regionRefs.push({ name: this.#text(fragname, path, "fragname"), path: `${path}.fragname`, line: this.#line(fragname) });
  }

  /**
   * CPU count: v1 writes `<cpu count="N">`, v2 `<cpu><count>N</count>`. Several `<cpu>`s add up
   * (one without a count is one CPU); absent when no `<cpu>` gives a count.
   */
  #cpus(cpus: XmlNode[], path: string): number | undefined {
    let total = 0;
    let given = false;
    cpus.forEach((cpu, index) => {
      const cpuPath = `${path}.cpu[${index}]`;
      const grouped = this.#leavesWithAttributes(cpu, "cpu", "cpu", cpuPath);
      const attribute = cpu.attributes.count;
      const child = grouped.count?.[0];
      const fromAttribute = attribute === undefined ? undefined : this.#parse(count, attribute, this.#line(cpu), `${cpuPath}@count`);
      const fromChild = child === undefined ? undefined : this.#value(child, cpuPath, "count", count);
      if (fromAttribute !== undefined && fromChild !== undefined && fromAttribute !== fromChild) {
        this.#warn(this.#line(cpu), cpuPath, `count="${fromAttribute}" and <count>${fromChild}</count> disagree; <count> is used`);
      }
      const n = fromChild ?? fromAttribute;
      if (n !== undefined) given = true;
      total += n ?? 1;
    });
    return given ? total : undefined;
  }

  #storage(node: XmlNode, path: string): void {
    const grouped = this.#group(node, "storage", "storage", path, this.#line(node));
    const amount = grouped.amount?.[0];
    if (amount !== undefined) this.#value(amount, path, "amount", quantity);
    const kept = grouped.persistence?.[0];
    if (kept !== undefined) this.#value(kept, path, "persistence", persistence);
    this.#attributes(grouped.attribute ?? [], path);
  }

  #services(services: XmlNode[], path: string): void {
    services.forEach((service, index) => {
      const servicePath = `${path}.service[${index}]`;
      const grouped = this.#leaves(service, "service", "service", servicePath);
      this.#status(grouped.status, servicePath);
      (grouped.param ?? []).forEach((param, k) => {
        const paramPath = `${servicePath}.param[${k}]`;
        const inner = this.#leaves(param, "param", "param", paramPath);
        const type = inner.type?.[0];
        if (type !== undefined) this.#value(type, paramPath, "type", paramType);
      });
    });
  }

  #status(nodes: XmlNode[] | undefined, path: string): void {
    const node = nodes?.[0];
    if (node !== undefined) this.#value(node, path, "status", status);
  }

  #interfaces(nodes: XmlNode[], path: string, scope: ScopeBuilder): TopdlInterface[] {
    // Built in place (names are given in a second pass): no per-interface copies, Sets or Maps,
    // as there are tens of thousands of interfaces and a handful per element.
    const interfaces: { -readonly [K in keyof TopdlInterface]: TopdlInterface[K] }[] = [];
    const given: string[] = [];
    for (let index = 0; index < nodes.length; index += 1) {
      const node = nodes[index]!;
      const ifacePath = `${path}.interface[${index}]`;
      const line = this.#line(node);
      const grouped = this.#group(node, "interface", "interface", ifacePath, line);
      const substrateNodes = grouped.substrate ?? [];
      const nameNode = grouped.name?.[0];
      const capacity = this.#capacity(grouped.capacity?.[0], ifacePath);
      const latency = this.#latency(grouped.latency?.[0], ifacePath);
      const name = nameNode === undefined ? "" : this.#text(nameNode, ifacePath, "name");
      if (name !== "") given.push(name);
      const substrates: string[] = [];
      const lines: number[] = [];
      for (const substrate of substrateNodes) substrates.push(this.#text(substrate, ifacePath, "substrate"));
      for (const substrate of substrateNodes) lines.push(this.#line(substrate));
      const attributes = grouped.attribute === undefined ? noAttributes : this.#attributes(grouped.attribute, ifacePath);
      const iface =
        capacity === undefined && latency === undefined
          ? { name, substrates, attributes, line, path: ifacePath }
          : { name, substrates, ...(capacity !== undefined && { capacity }), ...(latency !== undefined && { latency }), attributes, line, path: ifacePath };
      interfaces.push(iface);
      scope.references.push({ iface, lines });
    }
    // Unnamed interfaces get the first unused infNNN of their element, counting every given name.
    // Lists are short: linear searches, unless a long one (hostile input) needs a Set and a Map.
    const long = interfaces.length > 32;
    const used = long ? new Set(given) : undefined;
    const seen = long ? new Map<string, number>() : undefined;
    let next = 0;
    for (let index = 0; index < interfaces.length; index += 1) {
      const iface = interfaces[index]!;
      if (iface.name === "") {
        while (used !== undefined ? used.has(infName(next)) : given.includes(infName(next))) next += 1;
        iface.name = infName(next);
        if (used !== undefined) used.add(iface.name);
        else given.push(iface.name);
      }
      const first = seen !== undefined ? seen.get(iface.name) : interfaces.find((earlier, k) => k < index && earlier.name === iface.name)?.line;
      if (first !== undefined && !this.#counted(kinds.duplicateInterface)) this.#warn(iface.line, `${iface.path}.name`, `duplicate interface name "${iface.name}" (first on line ${first}); both are kept`);
      else seen?.set(iface.name, iface.line);
    }
    return interfaces;
  }

  #capacity(node: XmlNode | undefined, path: string): Capacity | undefined {
    if (node === undefined) return undefined;
    const measured = this.#measure(node, "capacity", "rate", `${path}.capacity`);
    return measured && { rate: measured.amount, kind: measured.kind };
  }

  #latency(node: XmlNode | undefined, path: string): Latency | undefined {
    if (node === undefined) return undefined;
    const measured = this.#measure(node, "latency", "time", `${path}.latency`);
    return measured && { time: measured.amount, kind: measured.kind };
  }

  #measure(node: XmlNode, tag: "capacity" | "latency", field: "rate" | "time", path: string): { amount: number; kind: "max" | "average" } | undefined {
    const grouped = this.#group(node, tag, tag, path, this.#line(node));
    const amountNode = grouped[field]?.[0];
    const kindNode = grouped.kind?.[0];
    const amount = amountNode === undefined ? undefined : this.#value(amountNode, path, field, quantity);
    const read = kindNode === undefined ? undefined : this.#value(kindNode, path, "kind", kind);
    if (read === "avg") this.#warn(this.#line(kindNode!), `${path}.kind`, `kind "avg" read as "average"`);
    if (amount === undefined || read === undefined) return undefined;
    return { amount, kind: read === "avg" ? "average" : read };
  }

  /** Attributes: first value wins on a duplicated key (a warning); a missing `<value>` reads as "" (a warning). */
  #attributes(nodes: XmlNode[], path: string, firstIndex = 0): Attribute[] {
    const attributes: Attribute[] = [];
    // Lists are short: a linear search beats building a Map for each of tens of thousands of
    // lists; a long one (hostile input) switches to a Map so it stays linear.
    let byKey: Map<string, Attribute> | undefined;
    for (let position = 0; position < nodes.length; position += 1) {
      const node = nodes[position]!;
      const index = firstIndex + position;
      const line = this.#line(node);
      // The usual attribute, `<attribute><attribute>K</attribute><value>V</value></attribute>` with
      // plain text, is read directly: attributes are most of a document's nodes.
      const children = node.children;
      const first = children[0];
      const second = children[1];
      let key: string | undefined;
      let value: string | undefined;
      if (children.length === 2 && first!.name === "attribute" && second!.name === "value" && first!.children.length === 0 && second!.children.length === 0) {
        key = first!.text;
        value = second!.text;
      } else {
        const attributePath = path === "" ? `attribute[${index}]` : `${path}.attribute[${index}]`;
        const grouped = this.#group(node, "attribute", "attribute", attributePath, line);
        const keyNode = grouped.attribute?.[0];
        if (keyNode === undefined) continue;
        key = this.#text(keyNode, attributePath, "attribute");
        const valueNode = grouped.value?.[0];
        if (valueNode === undefined && !this.#counted(kinds.noValue)) this.#warn(line, attributePath, `attribute "${key}" has no <value>; read as ""`);
        value = valueNode === undefined ? "" : this.#text(valueNode, attributePath, "value");
      }
      let earlier: Attribute | undefined;
      if (byKey !== undefined) earlier = byKey.get(key);
      else
        for (const attribute of attributes)
          if (attribute.key === key) {
            earlier = attribute;
            break;
          }
      if (earlier !== undefined) {
        if (this.#counted(kinds.duplicateAttribute)) continue;
        const attributePath = path === "" ? `attribute[${index}]` : `${path}.attribute[${index}]`;
        this.#warn(line, attributePath, `duplicate attribute "${key}": the first value ${JSON.stringify(earlier.value)} (line ${earlier.line}) is kept`);
        continue;
      }
      const attribute = { key, value, line };
      attributes.push(attribute);
      if (byKey !== undefined) byKey.set(key, attribute);
      else if (attributes.length > 32) byKey = new Map(attributes.map((kept) => [kept.key, kept]));
    }
    return attributes;
  }

  /** Checks an element whose children are all leaves (plus their entity decoding). */
  #leaves(node: XmlNode, tag: string, type: string, path: string): Grouped<XmlNode> {
    const grouped = this.#group(node, tag, type, path, this.#line(node));
    for (const [child, nodes] of Object.entries(grouped)) {
      if (grammar[type]?.[child]?.type === "text") for (const leaf of nodes) this.#text(leaf, path, child);
    }
    return grouped;
  }

  #leavesWithAttributes(node: XmlNode, tag: string, type: string, path: string): Grouped<XmlNode> {
    const grouped = this.#leaves(node, tag, type, path);
    this.#attributes(grouped.attribute ?? [], path);
    return grouped;
  }

  /**
   * Groups an element's children by tag and checks them against the grammar: an unknown child is
   * a warning (and skipped), a missing or repeated one an error.
   */
  #group(node: XmlNode, tag: string, type: string, path: string, line: number): Grouped<XmlNode> {
    // Only names the grammar lists (own keys, checked with hasOwn) are grouped: a child named
    // __proto__ or constructor is a plain unknown name, never a key of this object.
    const grouped: Grouped<XmlNode> = {};
    const children = grammar[type] ?? {};
    for (const child of node.children) {
      const childTag = child.name;
      if (childTag === "#text") {
        if (!this.#counted(kinds.textIn)) this.#warn(line, path, `text inside <${tag}> ignored`);
        continue;
      }
      if (!Object.hasOwn(children, childTag)) {
        if (!this.#counted(kinds.unknownChild)) this.#warn(this.#line(child), path === "" ? childTag : `${path}.${childTag}`, `unknown child <${childTag}> of <${tag}> ignored`);
        continue;
      }
      (grouped[childTag] ??= []).push(child);
    }
    for (const issue of checkStructure(type, grouped)) {
      const where = grouped[issue.child]?.[1];
      this.#error(where === undefined ? line : this.#line(where), path === "" ? issue.child : `${path}.${issue.child}`, issue.message);
    }
    return grouped;
  }

  /**
   * The decoded text of a leaf element. Its path for messages is `path.child` (or `path` without
   * a child): joined only when there is a problem, as most leaves have none.
   */
  #text(node: XmlNode, path: string, child?: string): string {
    const children = node.children;
    if (children.length === 0) return node.text;
    const where = child === undefined ? path : `${path}.${child}`;
    if (!this.#counted(kinds.textOnly)) this.#warn(node.line, where, `<${node.name}> should hold text only; child elements ignored`);
    // The text among the child elements, joined, trimmed at the ends only.
    let text = "";
    for (const inner of children) if (inner.name === "#text") text += inner.text;
    return text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
  }

  /** A leaf's value read with a schema (path as for #text); undefined, with an error, when it does not fit. */
  #value<S extends GenericSchema>(node: XmlNode, path: string, child: string | undefined, schema: S): InferOutput<S> | undefined {
    const text = this.#text(node, path, child);
    const quick = shortcut(schema, text);
    if (quick !== undefined) return quick as InferOutput<S>;
    return this.#parse(schema, text, this.#line(node), child === undefined ? path : `${path}.${child}`);
  }

  #parse<S extends GenericSchema>(schema: S, text: string, line: number, path: string): InferOutput<S> | undefined {
    const result = read(schema, text);
    if ("error" in result) {
      this.#error(line, path, result.error);
      return undefined;
    }
    return result.value;
  }

  #line(node: XmlNode): number {
    return node.line;
  }

  #error(line: number, path: string, message: string): void {
    this.#sink.errors.push({ file: this.#sink.file, line, path, message });
  }

  /**
   * For warnings a hostile document can repeat a million times: true (and counted) once the
   * kind has all the problems it keeps, so the caller builds no message that would be dropped.
   */
  #counted(kind: string): boolean {
    return this.#sink.warnings.countIfFull(kind);
  }

  #warn(line: number, path: string, message: string): void {
    this.#sink.warnings.push({ file: this.#sink.file, line, path, message });
  }
}

function infName(index: number): string {
  return `inf${String(index).padStart(3, "0")}`;
}
