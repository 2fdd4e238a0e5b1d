// The client address behind trusted proxies: nginx's set_real_ip_from with real_ip_header
// X-Forwarded-For and real_ip_recursive on. The peer's address stands unless the peer is
// trusted; then X-Forwarded-For is read from the right, each trusted address skipped, and the
// first untrusted one is the client. Everything to its left was written by the client itself
// and is never believed. When every address is trusted, the leftmost is the client.
import { inAny, parseIp, type Cidr } from "./cidr.js";

/** Returns the client address, or undefined when a trusted proxy forwarded one that does not
 *  parse (the client is then unknown: it matches no "allow"). */
export function realClientAddress(peer: string | undefined, forwardedFor: string | null, trusted: readonly Cidr[]): string | undefined {
  if (trusted.length === 0 || forwardedFor === null || !inAny(trusted, peer)) return peer;
  const hops = forwardedFor.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (hops.length === 0) return peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    if (parseIp(hops[i]) === null) return undefined;
    if (i === 0 || !inAny(trusted, hops[i])) return plain(hops[i]);
  }
  return peer;
}

/** "[::1]" → "::1", "::ffff:1.2.3.4" → "1.2.3.4" (what apps expect in REMOTE_ADDR). */
function plain(a: string): string {
  const s = a.startsWith("[") && a.endsWith("]") ? a.slice(1, -1) : a;
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(s) ? s.slice(7) : s;
}
