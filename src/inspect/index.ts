// `edgepass inspect`: a capture of FastCGI, SCGI, uwsgi or HTTP/1.1 bytes — raw, hex, or a
// pcap from `tcpdump -w` — as a readable listing, record by record, with every framing error
// explained. Runtime-free: the CLI (src/adapter/node/cli/inspect.ts) and inspect.html share it.

import type { Codec } from "../codec/types.js";
import { cgiStreamInspector } from "./cgi-stream.js";
import { classify, type Protocol } from "./detect.js";
import { FastcgiInspector } from "./fastcgi.js";
import { isText, parseHex } from "./hex.js";
import { httpInspector } from "./http.js";
import { SectionBuilder, type Dir, type Listing, type StreamInspector } from "./listing.js";
import { isPcap, isPcapng, readPcap, type Conversation } from "./pcap.js";
import { FramingError } from "./problem.js";

export { renderText, type Listing } from "./listing.js";
export { PROTOCOLS, type Protocol } from "./detect.js";
export { FramingError } from "./problem.js";

export type CaptureFormat = "pcap" | "hex" | "raw";

export interface InspectOptions {
  /** Default: detected from the first bytes. */
  protocol?: Protocol;
  /** For raw or hex bytes: which side sent them (default: detected). */
  as?: Dir;
  /** Default: detected (pcap magic, hex text, else raw bytes). */
  format?: CaptureFormat;
}

const NAMES: Record<Protocol, string> = { fastcgi: "FastCGI", scgi: "SCGI", uwsgi: "uwsgi", http: "HTTP/1.1" };

export function inspectCapture(codec: Codec, input: Uint8Array, opts: InspectOptions = {}): Listing {
  const { source, conversations } = readInput(input, opts);
  const sections = conversations.map((c) => inspectConversation(codec, c, opts.protocol));
  const problems = sections.reduce((n, s) => n + s.entries.filter((e) => e.problem).length, 0);
  return { source, sections, problems };
}

function readInput(input: Uint8Array, opts: InspectOptions): { source: string; conversations: Conversation[] } {
  const format = opts.format ?? (isPcap(input) ? "pcap" : isText(input) && parseHex(new TextDecoder().decode(input)) ? "hex" : "raw");
  if (format === "pcap") {
    if (isPcapng(input)) throw new FramingError("PCAPNG", "this is a pcapng file; convert it with `tcpdump -r FILE -w out.pcap` (or write one with `tcpdump -w`, which writes pcap)");
    if (!isPcap(input)) throw new FramingError("PCAP_BAD_MAGIC", "this is not a pcap file (no pcap magic number in its first 4 bytes)");
    const { link, conversations, notes } = readPcap(input);
    if (conversations.length === 0) throw new FramingError("PCAP_NO_TCP", "the pcap holds no TCP packets; capture the upstream's port, e.g. `tcpdump -i lo -w cap.pcap tcp port 9000`");
    const withData = conversations.filter((c) => c.segments.length > 0);
    for (const c of conversations) c.notes.unshift(...notes);
    const packets = conversations.reduce((n, c) => n + c.packets, 0);
    return {
      source: `pcap (${link}), ${packets} TCP packets in ${conversations.length} connection${conversations.length === 1 ? "" : "s"}${withData.length < conversations.length ? `, ${conversations.length - withData.length} without payload` : ""}`,
      conversations: withData.length ? withData : conversations,
    };
  }
  const bytes = format === "hex" ? parseHex(new TextDecoder().decode(input)) : input;
  if (!bytes) throw new FramingError("HEX_BAD", "the text is not hex (pairs of hex digits, optionally spaced, or xxd / hexdump -C output)");
  const dir = opts.as ?? classify(bytes)?.dir ?? "request";
  return {
    source: `${format === "hex" ? "hex" : "raw bytes"}, ${bytes.length} bytes from the ${dir === "request" ? "gateway (request side)" : "app (response side)"}${opts.as ? "" : ", as detected"}`,
    conversations: [{ label: `${bytes.length} bytes, ${dir} side`, segments: bytes.length ? [{ dir, bytes }] : [], closed: { request: false, response: false }, packets: 0, notes: [] }],
  };
}

function inspectConversation(codec: Codec, c: Conversation, wanted: Protocol | undefined) {
  const first = (dir: Dir) => c.segments.find((s) => s.dir === dir)?.bytes;
  const req = first("request");
  const res = first("response");
  const guess = (req && classify(req)) || (res && classify(res));
  const protocol = wanted ?? guess?.protocol;
  if (!protocol) {
    const out = new SectionBuilder(c.label, "unknown protocol");
    out.note("the first bytes are not FastCGI, SCGI, uwsgi or HTTP/1.1; say which with --protocol");
    return out.section;
  }
  const out = new SectionBuilder(c.label, NAMES[protocol] + (wanted ? "" : ", as detected"));
  const inspector: StreamInspector =
    protocol === "fastcgi" ? new FastcgiInspector(codec, out, req !== undefined)
    : protocol === "http" ? httpInspector(codec, out)
    : cgiStreamInspector(codec, out, protocol);
  for (const s of c.segments) inspector.push(s.dir, s.bytes);
  inspector.end(c.closed);
  for (const n of c.notes) out.note(n);
  return out.section;
}
