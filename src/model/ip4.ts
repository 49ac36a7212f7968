// IPv4 text ↔ number helpers for route files, plans and address checks (pure).

/**
 * Parses a dotted quad "a.b.c.d" into a 32-bit unsigned number, or undefined when it is not one.
 * Leading zeros are refused ("010" is octal to some tools and decimal to others), so an accepted
 * text is already in canonical form. A character loop: route files have tens of thousands of these.
 */
export function parseIp4(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 48 && code <= 57) {
      if (digits === 1 && octet === 0) return undefined;
      octet = octet * 10 + (code - 48);
      digits += 1;
      if (octet > 255) return undefined;
    } else if (code === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots += 1;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || dots !== 3) return undefined;
  return value * 256 + octet;
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
  // Contiguous when the host bits are all ones (2^k - 1); the prefix is then their leading zeros.
  const host = ~mask >>> 0;
  if ((host & (host + 1)) !== 0) return undefined;
  return Math.clz32(host);
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
