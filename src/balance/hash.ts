// Consistent hashing for balance = "hash": weighted rendezvous (highest random weight)
// hashing. Every server gets a score for the key from a hash of (server address, key) and its
// weight; the highest score wins, and the order of scores is the order to fall back in.
// A score depends only on the key, the server's address and its weight, so adding a server
// moves only the keys the new server now wins (about weight_new / total of them), and
// removing one moves only its own keys.
import type { HashKey, UpstreamServer } from "../config/types.js";
import { formatAddress } from "../core/transport.js";

/** cyrb53: a fast 53-bit string hash with good avalanche (public domain, bryc). */
export function hash53(s: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The server's rendezvous score for `key`: -weight / ln(u) with u uniform in (0, 1) from
 *  the hash, so a server of weight 2 wins twice as many keys as one of weight 1. */
export function score(server: UpstreamServer, key: string): number {
  const u = (hash53(key, hash53(formatAddress(server))) + 0.5) / 2 ** 53;
  return -server.weight / Math.log(u);
}

/** `indexes` ordered by score for `key`, best first. */
export function rendezvous(servers: readonly UpstreamServer[], indexes: number[], key: string): number[] {
  return indexes
    .map((i) => ({ i, s: score(servers[i], key) }))
    .sort((a, b) => b.s - a.s)
    .map((x) => x.i);
}

/** What a request offers for hash_key; null when it has none (no such header or cookie, or
 *  no client address): such requests are spread round robin. */
export function hashKeyOf(key: HashKey, req: { clientAddr?: string; target: string; headers: Array<[string, string]> }): string | null {
  switch (key.kind) {
    case "ip":
      return req.clientAddr || null;
    case "uri":
      return req.target;
    case "header": {
      const values = req.headers.filter(([n]) => n.toLowerCase() === key.name).map(([, v]) => v);
      return values.length ? values.join(", ") : null;
    }
    case "cookie": {
      for (const [n, v] of req.headers) {
        if (n.toLowerCase() !== "cookie") continue;
        for (const part of v.split(";")) {
          const eq = part.indexOf("=");
          if (eq > 0 && part.slice(0, eq).trim() === key.name) return part.slice(eq + 1).trim();
        }
      }
      return null;
    }
  }
}
