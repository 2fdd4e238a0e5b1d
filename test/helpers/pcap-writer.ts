// Writes classic pcap files by hand (pcap-savefile(5)): Ethernet + IPv4 or Linux cooked v2 +
// IPv6 frames carrying TCP segments, so the inspector's reassembly can be tested with lost,
// reordered and repeated segments that a loopback capture never shows.

export interface TcpPacket {
  from: "client" | "server";
  seq: number; // relative to the sender's initial sequence number
  flags?: number;
  payload?: Uint8Array | string;
}

export const SYN = 2;
export const FIN = 1;
export const ACK = 16;
export const RST = 4;

const CLIENT = { v4: [127, 0, 0, 1], v6: [...Array(15).fill(0), 1], port: 50123, isn: 1000 };
const SERVER = { v4: [127, 0, 0, 1], v6: [...Array(15).fill(0), 1], port: 9000, isn: 0xfffffff0 }; // wraps past 2^32

function tcp(p: TcpPacket): Uint8Array {
  const payload = typeof p.payload === "string" ? new TextEncoder().encode(p.payload) : (p.payload ?? new Uint8Array(0));
  const [src, dst] = p.from === "client" ? [CLIENT, SERVER] : [SERVER, CLIENT];
  const seg = new Uint8Array(20 + payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, src.port);
  dv.setUint16(2, dst.port);
  dv.setUint32(4, (src.isn + p.seq) >>> 0);
  seg[12] = 5 << 4;
  seg[13] = p.flags ?? ACK;
  seg.set(payload, 20);
  return seg;
}

function ipv4(p: TcpPacket, seg: Uint8Array): Uint8Array {
  const ip = new Uint8Array(20 + seg.length);
  ip[0] = 0x45;
  new DataView(ip.buffer).setUint16(2, ip.length);
  ip[8] = 64;
  ip[9] = 6;
  ip.set(p.from === "client" ? CLIENT.v4 : SERVER.v4, 12);
  ip.set(p.from === "client" ? SERVER.v4 : CLIENT.v4, 16);
  ip.set(seg, 20);
  return ip;
}

function ipv6(p: TcpPacket, seg: Uint8Array): Uint8Array {
  const ip = new Uint8Array(40 + seg.length);
  ip[0] = 0x60;
  new DataView(ip.buffer).setUint16(4, seg.length);
  ip[6] = 6;
  ip[7] = 64;
  ip.set(p.from === "client" ? CLIENT.v6 : SERVER.v6, 8);
  ip.set(p.from === "client" ? SERVER.v6 : CLIENT.v6, 24);
  ip.set(seg, 40);
  return ip;
}

/** Link type 1 (Ethernet, what tcpdump -i lo writes) with IPv4, padded like a short frame;
 *  or 276 (Linux cooked v2, tcpdump -i any) with IPv6. */
export function writePcap(packets: TcpPacket[], link: "ethernet-ipv4" | "sll2-ipv6" = "ethernet-ipv4", opts: { bigEndian?: boolean; snaplen?: number } = {}): Uint8Array {
  const le = !opts.bigEndian;
  const frames = packets.map((p) => {
    const seg = tcp(p);
    if (link === "ethernet-ipv4") {
      const ip = ipv4(p, seg);
      const f = new Uint8Array(14 + Math.max(ip.length, 46)); // Ethernet pads to 60 bytes
      f[12] = 0x08;
      f.set(ip, 14);
      return f;
    }
    const ip = ipv6(p, seg);
    const f = new Uint8Array(20 + ip.length);
    f[0] = 0x86;
    f[1] = 0xdd;
    f.set(ip, 20);
    return f;
  });
  const snap = opts.snaplen ?? 262144;
  const size = 24 + frames.reduce((n, f) => n + 16 + Math.min(f.length, snap), 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, le);
  dv.setUint16(4, 2, le);
  dv.setUint16(6, 4, le);
  dv.setUint32(16, snap, le);
  dv.setUint32(20, link === "ethernet-ipv4" ? 1 : 276, le);
  let o = 24;
  frames.forEach((f, i) => {
    const incl = Math.min(f.length, snap);
    dv.setUint32(o, 1_700_000_000 + i, le);
    dv.setUint32(o + 8, incl, le);
    dv.setUint32(o + 12, f.length, le);
    out.set(f.subarray(0, incl), o + 16);
    o += 16 + incl;
  });
  return out;
}
