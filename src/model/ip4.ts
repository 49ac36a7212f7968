// IPv4 text ↔ number helpers for route files, plans and address checks (pure).

/** Parses a dotted quad "a.b.c.d" into a 32-bit unsigned number, or undefined when it is not one. */
export function parseIp4(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    // Leading zeros are refused: "010" means octal to some tools and decimal to others.
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Formats a 32-bit unsigned number as "a.b.c.d". */
export function formatIp4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** The netmask of a prefix length as a 32-bit unsigned number (0 for /0). */
export function prefixMask(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** The prefix length of a contiguous dotted netmask ("255.255.255.0" → 24), or undefined when it is not contiguous. */
export function maskToPrefix(text: string): number | undefined {
  const mask = parseIp4(text);
  if (mask === undefined) return undefined;
  for (let length = 0; length <= 32; length += 1) {
    if (prefixMask(length) === mask) return length;
  }
  return undefined;
}

/** True when address lies inside network/prefixLength (all three as numbers / a length). */
export function inSubnet(address: number, network: number, prefixLength: number): boolean {
  const mask = prefixMask(prefixLength);
  return ((address & mask) >>> 0) === ((network & mask) >>> 0);
}

/** True when network has no bits set beyond its prefix (what the kernel requires of a route's destination). */
export function isNetworkAddress(network: number, prefixLength: number): boolean {
  return ((network & ~prefixMask(prefixLength)) >>> 0) === 0;
}
