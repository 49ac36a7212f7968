// The normalized TopDL document: what src/topdl produces after parsing and validation (TopDL words).

/** Attribute interface: one `<attribute><attribute>K</attribute><value>V</value></attribute>`. */
export interface Attribute {
  /** The key, as written. */
  readonly key: string;
  /** The value; an empty `<value/>` is "". */
  readonly value: string;
  /** 1-based line of the `<attribute>` element. */
  readonly line: number;
}

/** Capacity interface: `<capacity><rate>R</rate><kind>max|average</kind></capacity>` (rate in kb/s). */
export interface Capacity {
  readonly rate: number;
  readonly kind: "max" | "average";
}

/** Latency interface: `<latency><time>T</time><kind>max|average</kind></latency>` (time in ms). */
export interface Latency {
  readonly time: number;
  readonly kind: "max" | "average";
}

/** Interface interface: one computer's `<interface>`. */
export interface TopdlInterface {
  /** The name; unnamed interfaces get `inf000`, `inf001`, … (first unused in the element). */
  readonly name: string;
  /** The substrates it is attached to (names, each resolved to a defined substrate). */
  readonly substrates: readonly string[];
  readonly capacity?: Capacity;
  readonly latency?: Latency;
  /** Attributes, first value wins on duplicate keys (duplicates are warnings). */
  readonly attributes: readonly Attribute[];
  /** 1-based line of the `<interface>` element. */
  readonly line: number;
  /** Path for messages, e.g. `elements[3].computer.interface[1]`. */
  readonly path: string;
}

/** Substrate interface: one `<substrates>` entry (a LAN or link). */
export interface Substrate {
  readonly name: string;
  readonly capacity?: Capacity;
  readonly latency?: Latency;
  readonly attributes: readonly Attribute[];
  readonly localnames: readonly string[];
  readonly line: number;
  readonly path: string;
}

/** Computer interface: an `<elements><computer>`. */
export interface Computer {
  readonly kind: "computer";
  readonly name: string;
  readonly localnames: readonly string[];
  readonly interfaces: readonly TopdlInterface[];
  readonly attributes: readonly Attribute[];
  /** CPU count from v1 `<cpu count="N">` or v2 `<cpu><count>`, when given. */
  readonly cpuCount?: number;
  readonly line: number;
  readonly path: string;
}

/** OtherElement interface: any element that is not a computer (testbed, segment, other, region, service host …). */
export interface OtherElement {
  readonly kind: "testbed" | "segment" | "other" | "region";
  readonly name: string;
  readonly localnames: readonly string[];
  readonly interfaces: readonly TopdlInterface[];
  readonly attributes: readonly Attribute[];
  readonly line: number;
  readonly path: string;
}

/** Element type: one item of `<elements>`. */
export type Element = Computer | OtherElement;

/** Problem interface: one validation error or warning, with where it is. */
export interface Problem {
  /** The file name as given. */
  readonly file: string;
  /** 1-based line, or 0 when the problem is about the whole document. */
  readonly line: number;
  /** Path into the document, e.g. `elements[3].computer.interface[1].substrate`. */
  readonly path: string;
  /** What is wrong. */
  readonly message: string;
}

/** Topology interface: the normalized experiment. */
export interface Topology {
  /** The file it came from. */
  readonly file: string;
  /** `<version>`, e.g. "1.0" or "2.0" ("" when absent). */
  readonly version: string;
  /** Top-level substrates (not inside fragments), in document order. */
  readonly substrates: readonly Substrate[];
  /** Top-level elements, in document order. */
  readonly elements: readonly Element[];
  /** Top-level attributes. */
  readonly attributes: readonly Attribute[];
  /** Counts for `topdl stats`. */
  readonly counts: { readonly regions: number; readonly fragments: number };
  /** Warnings found while parsing (errors make parsing throw). */
  readonly warnings: readonly Problem[];
}
