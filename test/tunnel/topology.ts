// Writes multi-pnode TopDL documents for the tunnel tests and the scale benchmark: pnodes with underlay addresses, vnodes on VDE switches.

/** Iface interface: one vnode interface of a generated topology. */
export interface Iface {
  readonly substrate: string;
  readonly address: string;
  readonly mac: string;
  readonly vdeSwitch: string;
  readonly port: number;
}

/** Vnode interface: one vnode of a generated topology. */
export interface Vnode {
  readonly name: string;
  readonly host: string;
  readonly type?: string;
  readonly interfaces: readonly Iface[];
}

/** Pnode interface: one physical host, with its underlay address (and MAC) on substrate "underlay". */
export interface Pnode {
  readonly name: string;
  readonly underlay: string;
  readonly mac?: string;
}

/** Lan interface: one substrate, optionally shaped. */
export interface LanSpec {
  readonly name: string;
  readonly latencyMs?: number;
}

function attribute(key: string, value: string): string {
  return `<attribute><attribute>${key}</attribute><value>${value}</value></attribute>`;
}

/** A TopDL document with an "underlay" substrate joining the pnodes, the LANs, and the vnodes. */
export function topologyXml(pnodes: readonly Pnode[], lans: readonly LanSpec[], vnodes: readonly Vnode[]): string {
  const parts = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<experiment>", "<version>2.0</version>", "<substrates><name>underlay</name></substrates>"];
  for (const lan of lans) {
    const latency = lan.latencyMs === undefined ? "" : `<latency><time>${lan.latencyMs}</time><kind>max</kind></latency>`;
    parts.push(`<substrates><name>${lan.name}</name>${latency}</substrates>`);
  }
  for (const pnode of pnodes) {
    const mac = pnode.mac === undefined ? "" : attribute("benito:mac_address", pnode.mac);
    parts.push(
      `<elements><computer><name>${pnode.name}</name><interface><substrate>underlay</substrate><name>under0</name>${attribute("ip4_address", pnode.underlay)}${attribute("ip4_netmask", "255.255.255.0")}${mac}</interface>${attribute("benito:node_type", "pnode")}</computer></elements>`,
    );
  }
  for (const vnode of vnodes) {
    const interfaces = vnode.interfaces.map(
      (iface, index) =>
        `<interface><substrate>${iface.substrate}</substrate><name>inf${String(index).padStart(3, "0")}</name>${attribute("ip4_address", iface.address)}${attribute("ip4_netmask", "255.255.255.0")}${attribute("benito:mac_address", iface.mac)}${attribute("benito:vde_switch", iface.vdeSwitch)}${attribute("benito:vde_port", String(iface.port))}</interface>`,
    );
    parts.push(`<elements><computer><name>${vnode.name}</name>${interfaces.join("")}${attribute("benito:node_type", vnode.type ?? "process")}${attribute("benito:host", vnode.host)}</computer></elements>`);
  }
  parts.push("</experiment>", "");
  return parts.join("\n");
}
