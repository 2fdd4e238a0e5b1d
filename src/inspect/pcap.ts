// A classic pcap file (what `tcpdump -w` writes) as TCP conversations: each connection's two
// byte streams, reassembled by sequence number (retransmissions dropped, out-of-order segments
// put back in place, gaps reported), in the order the bytes were sent.

import { FramingError } from "./problem.js";
import type { Dir } from "./listing.js";

export interface Conversation {
  /** "127.0.0.1:40512 -> 127.0.0.1:9000" (client first). */
  label: string;
  /** Payload in capture order, each piece the next bytes of its direction's stream. */
  segments: Array<{ dir: Dir; bytes: Uint8Array }>;
  /** The sender closed (FIN) or reset (RST) that direction. */
  closed: Record<Dir, boolean>;
  packets: number;
  notes: string[];
}

const LINK: Record<number, string> = { 0: "BSD loopback", 1: "Ethernet", 12: "raw IP", 101: "raw IP", 113: "Linux cooked", 228: "IPv4", 229: "IPv6", 276: "Linux cooked v2" };

export function isPcap(b: Uint8Array): boolean {
  const m = b.length >= 24 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false) : 0;
  return [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(m);
}

export function isPcapng(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x0a && b[1] === 0x0d && b[2] === 0x0d && b[3] === 0x0a;
}

interface Flows {
  /** The latest connection between two endpoints (ports can be reused). */
  current: Map<string, Flow>;
  all: Flow[];
}

interface Flow {
  key: string;
  client: string;
  server: string;
  conv: Conversation;
  dirs: Record<Dir, { base: number | null; next: number; pending: Map<number, Uint8Array>; retransmitted: number }>;
}

export function readPcap(b: Uint8Array): { link: string; conversations: Conversation[]; notes: string[] } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = dv.getUint32(0, false);
  const le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  const linktype = dv.getUint32(20, le) & 0xffff;
  const snaplen = dv.getUint32(16, le);
  if (!(linktype in LINK)) throw new FramingError("PCAP_LINK_TYPE", `pcap link type ${linktype} is not supported (${Object.values(LINK).join(", ")} are); capture with tcpdump -i lo or -i any`);
  const notes: string[] = [];
  const flows: Flows = { current: new Map(), all: [] };
  let cut = 0;
  let other = 0;
  for (let p = 24; p < b.length; ) {
    if (p + 16 > b.length) {
      notes.push(`the file ends inside a packet header (${b.length - p} bytes): it was cut off`);
      break;
    }
    const incl = dv.getUint32(p + 8, le);
    const orig = dv.getUint32(p + 12, le);
    const frame = b.subarray(p + 16, p + 16 + incl);
    p += 16 + incl;
    if (frame.length < incl) {
      notes.push("the file ends inside a packet: it was cut off");
      break;
    }
    if (incl < orig) cut++;
    const seg = tcpOf(frame, linktype);
    if (!seg) {
      other++;
      continue;
    }
    addSegment(flows, seg);
  }
  if (cut) notes.push(`${cut} packets were cut to the snapshot length (${snaplen} bytes): capture with tcpdump -s 0, bytes are missing`);
  if (other) notes.push(`${other} packets that are not TCP over IPv4/IPv6 were skipped`);
  const conversations = flows.all.map(finish);
  return { link: LINK[linktype], conversations, notes };
}

interface Segment {
  src: string;
  dst: string;
  seq: number;
  flags: number;
  payload: Uint8Array;
}

function tcpOf(f: Uint8Array, linktype: number): Segment | null {
  let ip = f;
  let ethertype = -1;
  if (linktype === 1) {
    ethertype = (f[12] << 8) | f[13];
    let off = 14;
    while (ethertype === 0x8100 && f.length >= off + 4) {
      ethertype = (f[off + 2] << 8) | f[off + 3];
      off += 4;
    }
    ip = f.subarray(off);
  } else if (linktype === 113) {
    ethertype = (f[14] << 8) | f[15];
    ip = f.subarray(16);
  } else if (linktype === 276) {
    ethertype = (f[0] << 8) | f[1];
    ip = f.subarray(20);
  } else if (linktype === 0) {
    ip = f.subarray(4);
  }
  const version = ip[0] >> 4;
  if (ethertype !== -1 && ethertype !== 0x0800 && ethertype !== 0x86dd) return null;
  let src: string;
  let dst: string;
  let tcp: Uint8Array;
  if (version === 4 && ip.length >= 20) {
    if (ip[9] !== 6) return null;
    if ((((ip[6] & 0x1f) << 8) | ip[7]) !== 0 || (ip[6] & 0x20) !== 0) return null; // fragments: not reassembled
    const total = (ip[2] << 8) | ip[3];
    tcp = ip.subarray((ip[0] & 15) * 4, total);
    src = [...ip.subarray(12, 16)].join(".");
    dst = [...ip.subarray(16, 20)].join(".");
  } else if (version === 6 && ip.length >= 40) {
    if (ip[6] !== 6) return null;
    tcp = ip.subarray(40, 40 + ((ip[4] << 8) | ip[5]));
    src = `[${v6(ip.subarray(8, 24))}]`;
    dst = `[${v6(ip.subarray(24, 40))}]`;
  } else return null;
  if (tcp.length < 20) return null;
  const dv = new DataView(tcp.buffer, tcp.byteOffset, tcp.byteLength);
  return {
    src: `${src}:${dv.getUint16(0)}`,
    dst: `${dst}:${dv.getUint16(2)}`,
    seq: dv.getUint32(4),
    flags: tcp[13],
    payload: tcp.subarray((tcp[12] >> 4) * 4),
  };
}

function v6(a: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((a[2 * i] << 8) | a[2 * i + 1]).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

const SYN = 2;
const FIN = 1;
const RST = 4;
const ACK = 16;

function addSegment(flows: Flows, s: Segment): void {
  const key = [s.src, s.dst].sort().join(" ");
  let flow = flows.current.get(key);
  if (!flow || (s.flags & SYN && !(s.flags & ACK) && flow.conv.segments.length > 0)) {
    // A new connection (or the same ports reused): the SYN's sender is the client; without a
    // SYN in the capture, the side on the higher (ephemeral) port is taken as the client.
    const port = (a: string) => Number(a.slice(a.lastIndexOf(":") + 1));
    const srcIsClient = s.flags & SYN ? !(s.flags & ACK) : port(s.src) > port(s.dst);
    const client = srcIsClient ? s.src : s.dst;
    const server = srcIsClient ? s.dst : s.src;
    const dir = () => ({ base: null, next: 0, pending: new Map<number, Uint8Array>(), retransmitted: 0 });
    flow = { key, client, server, dirs: { request: dir(), response: dir() }, conv: { label: `${client} -> ${server}`, segments: [], closed: { request: false, response: false }, packets: 0, notes: [] } };
    flows.current.set(key, flow);
    flows.all.push(flow);
  }
  flow.conv.packets++;
  const dir: Dir = s.src === flow.client ? "request" : "response";
  const d = flow.dirs[dir];
  if (d.base === null) d.base = (s.seq + (s.flags & SYN ? 1 : 0)) >>> 0;
  if (s.flags & (FIN | RST)) flow.conv.closed[dir] = true;
  if (s.flags & RST) flow.conv.notes.push(`the ${dir === "request" ? "client" : "server"} reset the connection`);
  if (s.payload.length === 0) return;
  const rel = (s.seq - d.base) >>> 0;
  if (rel + s.payload.length <= d.next) {
    d.retransmitted++;
    return;
  }
  d.pending.set(rel, s.payload);
  for (let moved = true; moved; ) {
    moved = false;
    for (const [at, bytes] of d.pending) {
      if (at > d.next) continue;
      d.pending.delete(at);
      if (at + bytes.length > d.next) {
        flow.conv.segments.push({ dir, bytes: bytes.subarray(d.next - at) });
        d.next = at + bytes.length;
      }
      moved = true;
    }
  }
}

function finish(flow: Flow): Conversation {
  for (const dir of ["request", "response"] as const) {
    const d = flow.dirs[dir];
    if (d.pending.size) {
      const first = Math.min(...d.pending.keys());
      flow.conv.notes.push(`the ${dir} stream has a gap at byte ${d.next} (${first - d.next} bytes were not captured); what follows it is not decoded`);
    }
    if (d.retransmitted) flow.conv.notes.push(`${d.retransmitted} retransmitted ${dir} segments were dropped`);
  }
  return flow.conv;
}
