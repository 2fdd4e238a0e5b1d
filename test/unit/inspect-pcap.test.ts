// The capture readers of `edgepass inspect`: pcap files as tcpdump writes them (link types,
// byte orders, TCP reassembly with lost, reordered and repeated segments) and hex text in the
// forms people paste. The pcaps are written by hand (test/helpers/pcap-writer.ts).
import { describe, expect, it } from "vitest";
import { isText, parseHex } from "../../src/inspect/hex";
import { isPcap, readPcap } from "../../src/inspect/pcap";
import { ACK, FIN, RST, SYN, writePcap, type TcpPacket } from "../helpers/pcap-writer";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const joined = (segments: Array<{ dir: string; bytes: Uint8Array }>, dir: string) =>
  text(Uint8Array.from(segments.filter((s) => s.dir === dir).flatMap((s) => [...s.bytes])));
const streams = (pcap: Uint8Array) =>
  readPcap(pcap).conversations.map((c) => ({
    label: c.label,
    request: joined(c.segments, "request"),
    response: joined(c.segments, "response"),
    /** ">" for a piece of the request stream, "<" for the response, in capture order. */
    order: c.segments.map((s) => (s.dir === "request" ? ">" : "<")).join(""),
    closed: c.closed,
    notes: c.notes,
  }));

const handshake: TcpPacket[] = [
  { from: "client", seq: 0, flags: SYN },
  { from: "server", seq: 0, flags: SYN | ACK },
  { from: "client", seq: 1 },
];

describe("pcap", () => {
  it("recognises both byte orders and rejects other files", () => {
    expect(isPcap(writePcap(handshake))).toBe(true);
    expect(isPcap(writePcap(handshake, "ethernet-ipv4", { bigEndian: true }))).toBe(true);
    expect(isPcap(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n0123456789"))).toBe(false);
  });

  it("reassembles each direction by sequence number: reordered, repeated and overlapping segments", () => {
    const pcap = writePcap([
      ...handshake,
      { from: "client", seq: 7, payload: "world" }, // arrives before the segment it follows
      { from: "client", seq: 1, payload: "hello," },
      { from: "client", seq: 1, payload: "hello," }, // retransmitted
      { from: "server", seq: 1, payload: "ok" },
      { from: "client", seq: 10, payload: "ld!" }, // overlaps "world" by two bytes
      { from: "server", seq: 3, flags: FIN | ACK },
      { from: "client", seq: 13, flags: FIN | ACK },
    ]);
    const [c] = streams(pcap);
    expect(c.label).toBe("127.0.0.1:50123 -> 127.0.0.1:9000");
    expect(c.request).toBe("hello,world!");
    expect(c.response).toBe("ok");
    // "hello," then the held "world" the moment it fits, "ok", then only "!" of "ld!".
    expect(c.order).toBe(">><>");
    expect(c.closed).toEqual({ request: true, response: true });
    expect(c.notes).toEqual(["1 retransmitted request segments were dropped"]);
  });

  it("reads Linux cooked v2 captures of IPv6 (tcpdump -i any), big-endian files too", () => {
    const packets: TcpPacket[] = [...handshake, { from: "client", seq: 1, payload: "A" }, { from: "server", seq: 1, payload: "B" }];
    for (const bigEndian of [false, true]) {
      const [c] = streams(writePcap(packets, "sll2-ipv6", { bigEndian }));
      expect(c).toMatchObject({ label: "[::1]:50123 -> [::1]:9000", request: "A", response: "B", order: "><" });
    }
    expect(readPcap(writePcap(packets, "sll2-ipv6")).link).toBe("Linux cooked v2");
  });

  it("reports a gap (a segment the capture lost) and decodes nothing after it", () => {
    const [c] = streams(writePcap([...handshake, { from: "client", seq: 1, payload: "abc" }, { from: "client", seq: 9, payload: "xyz" }]));
    expect(c.request).toBe("abc");
    expect(c.notes).toEqual(["the request stream has a gap at byte 3 (5 bytes were not captured); what follows it is not decoded"]);
  });

  it("says when packets were cut to the snapshot length", () => {
    const { notes } = readPcap(writePcap([...handshake, { from: "client", seq: 1, payload: "x".repeat(100) }], "ethernet-ipv4", { snaplen: 80 }));
    expect(notes).toEqual(["1 packets were cut to the snapshot length (80 bytes): capture with tcpdump -s 0, bytes are missing"]);
  });

  it("without the handshake, takes the side on the higher port as the client; a reset closes", () => {
    const [c] = streams(writePcap([{ from: "server", seq: 5, payload: "late" }, { from: "client", seq: 9, flags: RST }]));
    expect(c.label).toBe("127.0.0.1:50123 -> 127.0.0.1:9000");
    expect(c.response).toBe("late");
    expect(c.closed).toEqual({ request: true, response: false });
    expect(c.notes).toEqual(["the client reset the connection"]);
  });

  it("splits connections, including a reuse of the same ports after a new SYN", () => {
    const one: TcpPacket[] = [...handshake, { from: "client", seq: 1, payload: "first" }, { from: "client", seq: 6, flags: FIN | ACK }];
    const cs = streams(writePcap([...one, ...one.map((p) => ({ ...p, payload: p.payload === "first" ? "again" : p.payload }))]));
    expect(cs.map((c) => c.request)).toEqual(["first", "again"]);
  });
});

describe("hex text", () => {
  const bytes = Uint8Array.of(0x01, 0x06, 0x00, 0x01, 0x00, 0x05, 0x03, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x00, 0x01, 0x03);
  it("reads plain hex with any separators, xxd and hexdump -C output", () => {
    const forms = [
      "0106000100050300 68656c6c6f000000\n0103",
      "01 06 00 01 00 05 03 00\n68 65 6c 6c 6f 00 00 00 01 03\n",
      "0x01,0x06,0x00,0x01,0x00,0x05,0x03,0x00,0x68,0x65,0x6c,0x6c,0x6f,0x00,0x00,0x00,0x01,0x03",
      "\\x01\\x06\\x00\\x01\\x00\\x05\\x03\\x00\\x68\\x65\\x6c\\x6c\\x6f\\x00\\x00\\x00\\x01\\x03",
      "# a FastCGI response\n01:06:00:01:00:05:03:00:68:65:6c:6c:6f:00:00:00:01:03",
      "00000000: 0106 0001 0005 0300 6865 6c6c 6f00 0000  ........hello...\n00000010: 0103                                     ..\n",
      "00000000  01 06 00 01 00 05 03 00  68 65 6c 6c 6f 00 00 00  |........hello...|\n00000010  01 03                                             |..|\n00000012\n",
    ];
    for (const f of forms.slice(0, 6)) expect([...(parseHex(f) ?? [])], f).toEqual([...bytes]);
    // hexdump -C ends with a line holding only the final offset: not a dump line, so the text
    // is read as plain hex and its offsets would be bytes. Users paste the dump lines.
    expect([...(parseHex(forms[6].split("\n").slice(0, 2).join("\n")) ?? [])]).toEqual([...bytes]);
  });

  it("is not hex when a byte would be half a digit pair or a letter is not a hex digit", () => {
    expect(parseHex("GET / HTTP/1.1")).toBeNull();
    expect(parseHex("010")).toBeNull();
    expect(parseHex("")).toBeNull();
    expect(isText(Uint8Array.of(0x30, 0x0a, 0x31))).toBe(true);
    expect(isText(Uint8Array.of(0x01, 0x06))).toBe(false);
  });
});
