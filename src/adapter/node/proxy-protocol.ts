// [serve] proxy_protocol: behind a TCP load balancer (HAProxy's send-proxy, AWS NLB, the
// DigitalOcean and Hetzner balancers) every connection opens with a PROXY protocol header
// (HAProxy's spec, versions 1 and 2) naming the client the balancer accepted. It is read before
// anything else, TLS included, as nginx's `listen … proxy_protocol`; its address is the
// client's only when the connection comes from a balancer listed in real_ip_from (nginx's
// set_real_ip_from with real_ip_header proxy_protocol): a client reaching the port directly
// cannot claim another's address. A connection without a valid header is closed.
import net from "node:net";
import { inAny, type Cidr } from "../../edge/cidr.js";
import { onFirstBytes, type Take } from "./first-bytes.js";

export interface Peer {
  addr: string;
  port: number;
}

export type ProxyHeader = { kind: "more" } | { kind: "bad"; why: string } | { kind: "ok"; length: number; source: Peer | null };

/** v1 headers are at most 107 bytes (the spec's bound); v2's fixed part is 16. */
const V1_MAX = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from("PROXY ");

/** The header at the start of `buf`: its length and the source it names (null for LOCAL,
 *  UNKNOWN and families other than TCP over IPv4 or IPv6: the connection's own peer stands). */
export function parseProxyHeader(buf: Buffer): ProxyHeader {
  const sig = Math.min(buf.length, V2_SIGNATURE.length);
  if (buf.subarray(0, sig).equals(V2_SIGNATURE.subarray(0, sig))) return sig < V2_SIGNATURE.length ? { kind: "more" } : v2(buf);
  const pre = Math.min(buf.length, V1_PREFIX.length);
  if (buf.subarray(0, pre).equals(V1_PREFIX.subarray(0, pre))) return v1(buf);
  return { kind: "bad", why: "the connection did not open with a PROXY protocol header" };
}

function v1(buf: Buffer): ProxyHeader {
  const end = buf.indexOf("\r\n");
  if (end < 0) return buf.length >= V1_MAX ? { kind: "bad", why: "a PROXY v1 line longer than 107 bytes" } : { kind: "more" };
  if (end + 2 > V1_MAX) return { kind: "bad", why: "a PROXY v1 line longer than 107 bytes" };
  const parts = buf.toString("latin1", 0, end).split(" ");
  if (parts[1] === "UNKNOWN") return { kind: "ok", length: end + 2, source: null };
  const [, family, src, dst, sport, dport] = parts;
  const fam = family === "TCP4" ? 4 : family === "TCP6" ? 6 : 0;
  const port = (p: string | undefined) => (p !== undefined && /^(0|[1-9]\d{0,4})$/.test(p) && Number(p) <= 65535 ? Number(p) : -1);
  if (parts.length !== 6 || fam === 0 || net.isIP(src ?? "") !== fam || net.isIP(dst ?? "") !== fam || port(sport) < 0 || port(dport) < 0) {
    return { kind: "bad", why: "a PROXY v1 line that does not parse" };
  }
  return { kind: "ok", length: end + 2, source: { addr: src!, port: port(sport) } };
}

function v2(buf: Buffer): ProxyHeader {
  if (buf.length < 16) return { kind: "more" };
  const version = buf[12]! >> 4;
  const command = buf[12]! & 0x0f;
  if (version !== 2 || command > 1) return { kind: "bad", why: "a PROXY v2 header of another version or command" };
  const length = 16 + buf.readUInt16BE(14);
  if (buf.length < length) return { kind: "more" };
  // LOCAL: the balancer's own connection (its health check).
  if (command === 0) return { kind: "ok", length, source: null };
  const family = buf[13]!;
  if (family === 0x11 && length >= 16 + 12) return { kind: "ok", length, source: { addr: ipv4(buf.subarray(16, 20)), port: buf.readUInt16BE(24) } };
  if (family === 0x21 && length >= 16 + 36) return { kind: "ok", length, source: { addr: ipv6(buf.subarray(16, 32)), port: buf.readUInt16BE(48) } };
  return { kind: "ok", length, source: null };
}

const ipv4 = (b: Buffer) => `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
function ipv6(b: Buffer): string {
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i).toString(16));
  // The shortest text of the address, as the socket itself reports one.
  return new net.SocketAddress({ address: words.join(":"), family: "ipv6" }).address;
}

/** The client a trusted balancer named, per connection (the TLS socket's underlying one). */
const proxied = new WeakMap<net.Socket, Peer>();

/** The connection's client: the one its PROXY header named, else the socket's peer. */
export function peerOf(sock: net.Socket): { addr: string | undefined; port: number | undefined } {
  // A TLS socket wraps the connection the header was read from (Node keeps it as _parent).
  const named = proxied.get(sock) ?? proxied.get((sock as net.Socket & { _parent?: net.Socket })._parent as net.Socket);
  return named ?? { addr: sock.remoteAddress, port: sock.remotePort };
}

/** Reads the header off `sock`, then hands it on with the bytes after it unread; a connection
 *  without one, or silent past `waitMs`, is closed. */
export function takeProxyHeader(sock: net.Socket, waitMs: number, trusted: readonly Cidr[], next: Take, refused?: (why: string) => void): void {
  onFirstBytes(sock, waitMs, (seen) => {
    const h = parseProxyHeader(seen);
    if (h.kind === "more") return null;
    if (h.kind === "bad") {
      return [
        (s) => {
          refused?.(`${h.why} (from ${s.remoteAddress})`);
          s.destroy();
        },
        seen.length,
      ];
    }
    // inAny reads an IPv4 peer as IPv4 whether or not the socket wrote it "::ffff:"-mapped.
    if (h.source && inAny(trusted, sock.remoteAddress)) proxied.set(sock, h.source);
    return [next, h.length];
  });
}
