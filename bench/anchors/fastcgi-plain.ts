// Anchor: FastCGI framing written plainly in TypeScript, the way an app or library without a
// Wasm codec does it — each name and value encoded with TextEncoder, one Uint8Array per record,
// records joined at the end; responses walked record by record with a DataView, the CGI head
// decoded to a string and split into lines. Correct (spec 3.3, 3.4; RFC 3875 6.3) but not tuned.

const FCGI_BEGIN_REQUEST = 1;
const FCGI_END_REQUEST = 3;
const FCGI_PARAMS = 4;
const FCGI_STDIN = 5;
const FCGI_STDOUT = 6;
const MAX_CONTENT = 65535;

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function record(type: number, id: number, content: Uint8Array): Uint8Array {
  const padding = (8 - (content.length % 8)) % 8;
  const out = new Uint8Array(8 + content.length + padding);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, 1);
  dv.setUint8(1, type);
  dv.setUint16(2, id);
  dv.setUint16(4, content.length);
  dv.setUint8(6, padding);
  out.set(content, 8);
  return out;
}

function stream(type: number, id: number, data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += MAX_CONTENT) out.push(record(type, id, data.subarray(at, at + MAX_CONTENT)));
  out.push(record(type, id, new Uint8Array(0)));
  return out;
}

function length(n: number): Uint8Array {
  if (n < 128) return Uint8Array.of(n);
  return Uint8Array.of(((n >>> 24) & 0x7f) | 0x80, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function encodePairs(pairs: Array<[string, string]>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, value] of pairs) {
    const n = encoder.encode(name);
    const v = encoder.encode(value);
    parts.push(length(n.length), length(v.length), n, v);
  }
  return concat(parts);
}

/** BEGIN_REQUEST (responder, keep-conn unless told), PARAMS, STDIN: the bytes a gateway writes. */
export function encodeRequest(id: number, pairs: Array<[string, string]>, stdin: Uint8Array, keepConn = true): Uint8Array {
  const begin = record(FCGI_BEGIN_REQUEST, id, Uint8Array.of(0, 1, keepConn ? 1 : 0, 0, 0, 0, 0, 0));
  return concat([begin, ...stream(FCGI_PARAMS, id, encodePairs(pairs)), ...stream(FCGI_STDIN, id, stdin)]);
}

export interface CgiResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array[];
}

/** Parses a CGI response head at the start of `stdout`; the rest is body. */
export function parseCgiHead(stdout: Uint8Array): { status: number; headers: Array<[string, string]>; bodyOffset: number } {
  let end = -1;
  for (let i = 0; i + 3 < stdout.length; i++) {
    if (stdout[i] === 13 && stdout[i + 1] === 10 && stdout[i + 2] === 13 && stdout[i + 3] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error("CGI head incomplete");
  let status = 200;
  const headers: Array<[string, string]> = [];
  for (const line of latin1.decode(stdout.subarray(0, end)).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`bad CGI header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = parseInt(value, 10);
    else headers.push([name, value]);
  }
  return { status, headers, bodyOffset: end + 4 };
}

/** Walks the records of one response, then parses the CGI head from the STDOUT stream. */
export function decodeResponse(bytes: Uint8Array, id: number): CgiResponse {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stdout: Uint8Array[] = [];
  let at = 0;
  let ended = false;
  while (at + 8 <= bytes.length && !ended) {
    if (dv.getUint8(at) !== 1) throw new Error("bad FastCGI version");
    const type = dv.getUint8(at + 1);
    const rid = dv.getUint16(at + 2);
    const len = dv.getUint16(at + 4);
    const pad = dv.getUint8(at + 6);
    const content = bytes.subarray(at + 8, at + 8 + len);
    if (rid !== id) throw new Error(`unexpected request id ${rid}`);
    if (type === FCGI_STDOUT && len > 0) stdout.push(content);
    else if (type === FCGI_END_REQUEST) ended = true;
    at += 8 + len + pad;
  }
  if (!ended) throw new Error("response ended without END_REQUEST");
  const first = stdout[0];
  const head = parseCgiHead(first);
  return { status: head.status, headers: head.headers, body: [first.subarray(head.bodyOffset), ...stdout.slice(1)] };
}

export { parseCgiHead as plainCgiHead };
