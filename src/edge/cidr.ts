// IP addresses and CIDR blocks for access rules and real_ip_from. Every address is held as 16
// bytes; an IPv4 address is stored IPv4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2), and an
// IPv4 block a.b.c.d/n as the mapped block /96+n. So a client a dual-stack socket reports as
// "::ffff:10.1.2.3" matches "allow 10.0.0.0/8" exactly as "10.1.2.3" does, as in nginx.

export interface Cidr {
  /** The network's 16 bytes (host bits zero). */
  bytes: Uint8Array;
  /** Prefix length over the 16 bytes (an IPv4 /8 is 104). */
  bits: number;
  /** As written, for messages. */
  text: string;
}

/** Dotted quad, each part 0-255 in decimal without leading zeros (a leading zero means octal
 *  to some parsers; refusing it keeps one reading). */
function parseV4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/** RFC 4291 2.2 text forms: eight groups, "::" once for a run of zero groups, and an IPv4
 *  tail in place of the last two groups. */
function parseV6(s: string): Uint8Array | null {
  if (s.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(s)) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (p.includes(".")) {
        if (i !== parts.length - 1) return null;
        const v4 = parseV4(p);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  if (halves.length === 2 && halves[1].includes(".") === false && halves[0].includes(".")) return null;
  const n = head.length + tail.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return null;
  const all = [...head, ...new Array<number>(8 - n).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

function mapped(v4: number[]): Uint8Array {
  const b = new Uint8Array(16);
  b[10] = 0xff;
  b[11] = 0xff;
  b.set(v4, 12);
  return b;
}

/** An address as 16 bytes, or null when it is none. A zone ("fe80::1%eth0") is dropped:
 *  rules name addresses, not interfaces. Brackets ("[::1]") are accepted. */
export function parseIp(text: string): Uint8Array | null {
  let s = text.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0 && s.includes(":")) s = s.slice(0, zone);
  if (!s.includes(":")) {
    const v4 = parseV4(s);
    return v4 ? mapped(v4) : null;
  }
  return parseV6(s);
}

export type CidrResult = Cidr | { problem: string; hint?: string };

/** "10.0.0.0/8", "2001:db8::/32", or a single address (a /32 or /128). Host bits set below
 *  the prefix are refused with the network to write instead: "10.1.2.3/8" is most often a
 *  typo for a single address or a different block. */
export function parseCidr(text: string): CidrResult {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const isV4 = !addrText.includes(":");
  const bytes = parseIp(addrText);
  if (!bytes || addrText.includes("%") || addrText.startsWith("[")) {
    return { problem: `${JSON.stringify(addrText)} is not an IPv4 or IPv6 address` };
  }
  const max = isV4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > max) {
      return { problem: `the prefix length "/${p}" is not a number from 0 to ${max}` };
    }
    prefix = Number(p);
  }
  const bits = isV4 ? 96 + prefix : prefix;
  const net = maskTo(bytes, bits);
  if (!equalBytes(net, bytes)) {
    return {
      problem: `${text} has address bits set below its /${prefix} prefix`,
      hint: `the network is ${formatIp(net, isV4)}/${prefix}; for the single address write ${addrText}`,
    };
  }
  return { bytes: net, bits, text };
}

export function cidrContains(cidr: Cidr, addr: Uint8Array): boolean {
  const full = cidr.bits >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== addr[i]) return false;
  const rest = cidr.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (cidr.bytes[full] & mask) === (addr[full] & mask);
}

/** True when `addr` (text) parses and lies in any of `cidrs`. */
export function inAny(cidrs: readonly Cidr[], addr: string | undefined): boolean {
  const b = addr === undefined ? null : parseIp(addr);
  return b !== null && cidrs.some((c) => cidrContains(c, b));
}

function maskTo(bytes: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    out[i] = bytes[i] & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.every((x, i) => x === b[i]);
}

function formatIp(b: Uint8Array, v4: boolean): string {
  if (v4) return Array.from(b.subarray(12)).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}
