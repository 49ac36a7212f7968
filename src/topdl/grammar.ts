// TopDL's element grammar (v1 and v2, after ../shared/topdl/schema/topdl-v2.xsd) as data, and the valibot schemas built from it.
import * as v from "valibot";
import { keepOutOfFtl } from "./jit";

/** How often a child may occur: XSD minOccurs/maxOccurs. */
interface Occurs {
  /** The child's type: a key of `grammar`, or "text" for a leaf. */
  readonly type: string;
  readonly min: 0 | 1;
  readonly max: 1 | "many";
}

const text1: Occurs = { type: "text", min: 1, max: 1 };
const text01: Occurs = { type: "text", min: 0, max: 1 };
const textMany: Occurs = { type: "text", min: 0, max: "many" };
const many = (type: string): Occurs => ({ type, min: 0, max: "many" });
const optional = (type: string): Occurs => ({ type, min: 0, max: 1 });
const required = (type: string): Occurs => ({ type, min: 1, max: 1 });

/**
 * Every complex type the schema defines, by our name, with its children. Order inside a type is
 * not checked (children in any order are accepted). Deliberate differences from the XSD, each
 * an edge-case decision: an interface may list several `<substrate>`s (TopDL v1 does), its
 * `<name>` may be missing (one is generated), a computer's or other element's `<name>` is checked
 * by the normalizer (v1 allowed unnamed non-computers), `<value>` may be missing (read as "").
 */
export const grammar: Readonly<Record<string, Readonly<Record<string, Occurs>>>> = {
  topology: {
    version: text01,
    substrates: many("substrate"),
    elements: many("elements"),
    fragments: many("fragment"),
    namemaps: many("namemaps"),
    attribute: many("attribute"),
  },
  substrate: {
    name: text1,
    capacity: optional("capacity"),
    latency: optional("latency"),
    attribute: many("attribute"),
    localname: textMany,
    status: text01,
    service: many("service"),
    operation: textMany,
  },
  attribute: { attribute: text1, value: text01 },
  capacity: { rate: text1, kind: text1 },
  latency: { time: text1, kind: text1 },
  service: { name: text1, importer: textMany, param: many("param"), description: text01, status: text01 },
  param: { name: text1, type: text1 },
  cpu: { count: text01, type: text01, attribute: many("attribute") },
  storage: { amount: text1, persistence: text1, attribute: many("attribute") },
  os: { name: text01, version: text01, distribution: text01, distributionversion: text01, attribute: many("attribute") },
  software: { location: text1, install: text01, attribute: many("attribute") },
  interface: { substrate: { type: "text", min: 1, max: "many" }, name: text01, capacity: optional("capacity"), latency: optional("latency"), attribute: many("attribute") },
  elements: { computer: many("computer"), region: many("region"), segment: many("segment"), testbed: many("testbed"), other: many("other") },
  computer: {
    name: text01,
    interface: many("interface"),
    attribute: many("attribute"),
    cpu: many("cpu"),
    os: many("os"),
    software: many("software"),
    storage: many("storage"),
    localname: textMany,
    status: text01,
    service: many("service"),
    operation: textMany,
  },
  testbed: {
    name: text01,
    interface: many("interface"),
    attribute: many("attribute"),
    uri: text1,
    type: text1,
    localname: textMany,
    status: text01,
    service: many("service"),
    operation: textMany,
  },
  segment: { name: text01, interface: many("interface"), attribute: many("attribute"), id: required("id"), type: text1, uri: text1 },
  id: { uuid: text01, fedid: text01, uri: text01, localname: text01, kerberosUsername: text01 },
  region: { name: text01, interface: many("interface"), attribute: many("attribute"), level: text01, fragname: text1 },
  other: { name: text01, interface: many("interface"), attribute: many("attribute") },
  fragment: { name: text1, topology: required("fragmentTopology"), ifmap: many("map"), attribute: many("attribute") },
  fragmentTopology: { substrates: many("substrate"), elements: many("elements") },
  map: { inner: text1, outer: text1 },
  namemaps: { pathname: text1, namemap: many("map"), attribute: many("attribute") },
};

/** The children of one element, grouped by tag (only tags that occur). */
export type Grouped<T> = Record<string, T[]>;

const schemas = new Map<string, v.GenericSchema>();

/**
 * The valibot schema checking the child counts of one type: a required child is a required key,
 * a single child an array of at most one. Built on first use (nothing runs at startup).
 */
export function structureSchema(type: string): v.GenericSchema {
  let schema = schemas.get(type);
  if (schema !== undefined) return schema;
  const entries: Record<string, v.GenericSchema> = {};
  for (const [child, occurs] of Object.entries(grammar[type] ?? {})) {
    const list = v.array(v.any(), `missing <${child}>`);
    const counted = occurs.max === 1 ? v.pipe(list, v.maxLength(1, `more than one <${child}>`)) : list;
    entries[child] = occurs.min === 1 ? counted : v.optional(counted);
  }
  schema = v.object(entries);
  schemas.set(type, schema);
  return schema;
}

/** StructureIssue interface: a child-count problem, by child tag. */
export interface StructureIssue {
  readonly child: string;
  readonly message: string;
}

/** The answer for the usual conforming element, shared rather than allocated each time. */
const none: readonly StructureIssue[] = [];

/**
 * Checks the grouped children of one element against its type; returns the problems as data.
 * A plain count check over the same grammar runs first: valibot (about 1 µs a node) is consulted
 * only for elements that break a rule, which keeps a 100,000-node document fast.
 */
export function checkStructure(type: string, grouped: Grouped<unknown>): readonly StructureIssue[] {
  if (conforms(type, grouped)) return none;
  const result = v.safeParse(structureSchema(type), grouped);
  if (result.success) return [];
  return result.issues.map((issue) => {
    const child = String(issue.path?.[0]?.key ?? "");
    // valibot words a missing key generically; say which child is missing.
    return { child, message: issue.input === undefined ? `missing <${child}>` : issue.message };
  });
}

/** Per type, only the children with a count rule (required, or at most one), compiled on first use. */
const rules = new Map<string, readonly (readonly [string, number, boolean])[]>();

function conforms(type: string, grouped: Grouped<unknown>): boolean {
  let list = rules.get(type);
  if (list === undefined) {
    list = Object.entries(grammar[type] ?? {})
      .filter(([, occurs]) => occurs.min === 1 || occurs.max === 1)
      .map(([child, occurs]) => [child, occurs.min, occurs.max === 1] as const);
    rules.set(type, list);
  }
  // Indexed loops: destructuring in for…of goes through the iterator protocol, slow until the JIT has warmed up.
  for (let k = 0; k < list.length; k += 1) {
    const rule = list[k]!;
    const count = grouped[rule[0]]?.length ?? 0;
    if (count < rule[1] || (rule[2] && count > 1)) return false;
  }
  return true;
}

// Run once per element of a document: not worth the FTL's compiling (jit.ts).
keepOutOfFtl([conforms]);
