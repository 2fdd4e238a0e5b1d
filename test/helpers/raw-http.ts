// An HTTP/1.1 client that shows what crossed the wire: the exact head, whether the body was
// framed by Content-Length or chunked, whether a chunked body ended with its terminator, and
// whether the connection ended before the declared length. A fetch() client hides all of
// this (it decodes codings and merges framing errors into one exception).
import http from "node:http";
import net from "node:net";

export interface WireResponse {
  status: number;
  /** Lower-case names, in order; repeats kept. */
  headers: Array<[string, string]>;
  get(name: string): string | null;
  /** The body as framed on the wire (de-chunked, never decoded). */
  body: Buffer;
  framing: "length" | "chunked" | "close" | "none";
  /** Length-framed: every declared byte arrived. Chunked: the 0-size chunk arrived. */
  complete: boolean;
  /** Bytes on the wire, head included. */
  raw: Buffer;
}

export interface WireRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Send the body chunked (50,000-byte chunks) instead of with a Content-Length. */
  chunked?: boolean;
  /** Give up after this long (the response is parsed from what arrived). Default 15 s. */
  timeoutMs?: number;
}

/** Sends one request on a new connection (Connection: close) and reads until the server
 *  closes it or the timeout passes. */
export function rawRequest(origin: string, req: WireRequest): Promise<WireResponse> {
  const u = new URL(origin);
  const body = req.body === undefined ? null : Buffer.from(req.body);
  let head = `${req.method ?? "GET"} ${req.path} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(req.headers ?? {})) head += `${k}: ${v}\r\n`;
  if (body) head += req.chunked ? "Transfer-Encoding: chunked\r\n" : `Content-Length: ${body.length}\r\n`;
  head += "\r\n";
  const payload = body && req.chunked ? chunk(body, 50_000) : body;
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    const parts: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      try {
        resolve(parseWire(Buffer.concat(parts), req.method ?? "GET"));
      } catch (e) {
        reject(e);
      }
    };
    const timer = setTimeout(done, req.timeoutMs ?? 15_000);
    sock.on("connect", () => sock.end(payload ? Buffer.concat([Buffer.from(head), payload]) : Buffer.from(head)));
    sock.on("data", (d) => parts.push(d));
    sock.on("close", done);
    sock.on("error", () => {}); // a reset still leaves what arrived to judge
  });
}

/** `body` in chunked framing, `size` bytes a chunk, with the 0-size chunk at the end. */
export function chunk(body: Buffer, size: number): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; o < body.length; o += size) {
    const piece = body.subarray(o, o + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

export function parseWire(raw: Buffer, method: string): WireResponse {
  const end = raw.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no complete response head in ${raw.length} bytes: ${JSON.stringify(raw.subarray(0, 200).toString("latin1"))}`);
  const lines = raw.subarray(0, end).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1]);
  const headers = lines.slice(1).map((l) => {
    const i = l.indexOf(":");
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()] as [string, string];
  });
  const get = (n: string) => headers.find(([k]) => k === n)?.[1] ?? null;
  const rest = raw.subarray(end + 4);
  const te = get("transfer-encoding");
  const cl = get("content-length");
  if (method === "HEAD" || status === 204 || status === 304) {
    return { status, headers, get, body: Buffer.alloc(0), framing: "none", complete: rest.length === 0, raw };
  }
  if (te && /chunked/i.test(te)) {
    const { body, complete } = dechunk(rest);
    return { status, headers, get, body, framing: "chunked", complete, raw };
  }
  if (cl !== null) {
    const n = Number(cl);
    return { status, headers, get, body: rest.subarray(0, n), framing: "length", complete: rest.length >= n, raw };
  }
  return { status, headers, get, body: rest, framing: "close", complete: true, raw };
}

function dechunk(buf: Buffer): { body: Buffer; complete: boolean } {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf("\r\n", i);
    if (eol < 0) return { body: Buffer.concat(out), complete: false };
    const size = parseInt(buf.subarray(i, eol).toString("latin1").split(";")[0], 16);
    if (Number.isNaN(size)) return { body: Buffer.concat(out), complete: false };
    if (size === 0) return { body: Buffer.concat(out), complete: buf.indexOf("\r\n\r\n", eol) === eol };
    if (eol + 2 + size + 2 > buf.length) {
      out.push(buf.subarray(eol + 2, Math.min(buf.length, eol + 2 + size)));
      return { body: Buffer.concat(out), complete: false };
    }
    out.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

/** One keep-alive connection: each request waits for its whole response (Content-Length or
 *  chunked) before the next is sent; a reset shows as a rejected promise. */
export interface RawSession {
  request(req: WireRequest): Promise<WireResponse>;
  close(): void;
}

export async function rawSession(origin: string): Promise<RawSession> {
  const u = new URL(origin);
  const sock = net.connect(Number(u.port), u.hostname);
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", () => resolve());
    sock.once("error", reject);
  });
  let buf = Buffer.alloc(0);
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  sock.on("data", (d) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  const fail = (e: Error) => {
    failure = e;
    wake?.();
  };
  sock.on("error", fail);
  sock.on("close", () => fail(new Error("connection closed")));
  return {
    async request(req) {
      const body = req.body === undefined ? null : Buffer.from(req.body);
      let head = `${req.method ?? "GET"} ${req.path} HTTP/1.1\r\nHost: ${u.host}\r\n`;
      for (const [k, v] of Object.entries(req.headers ?? {})) head += `${k}: ${v}\r\n`;
      if (body) head += `Content-Length: ${body.length}\r\n`;
      sock.write(body ? Buffer.concat([Buffer.from(head + "\r\n"), body]) : Buffer.from(head + "\r\n"));
      const deadline = Date.now() + (req.timeoutMs ?? 15_000);
      for (;;) {
        const n = wholeResponseLength(buf, req.method ?? "GET");
        if (n !== null) {
          const res = parseWire(buf.subarray(0, n), req.method ?? "GET");
          buf = buf.subarray(n);
          return res;
        }
        if (failure) throw failure;
        if (Date.now() > deadline) throw new Error("timed out waiting for a whole response");
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
    },
    close: () => sock.destroy(),
  };
}

/** The length of the first whole response in `buf`, or null while it is incomplete. */
function wholeResponseLength(buf: Buffer, method: string): number | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString("latin1");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  if (method === "HEAD" || status === 204 || status === 304) return end + 4;
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) return buf.length >= end + 4 + Number(cl[1]) ? end + 4 + Number(cl[1]) : null;
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const fin = buf.indexOf("\r\n0\r\n\r\n", end);
    return fin < 0 ? null : fin + 7;
  }
  return null;
}

/** One exchange through node:http (its framing, our view of the bytes): no decompression and no
 *  redirect following, which fetch() would do. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}
/** Writes `bytes` as they are (several requests, broken framing, a trickle) on one new
 *  connection and collects everything that comes back until the server closes or `timeoutMs`
 *  passes. `closed` says which of the two happened. `halfClose`: shut our side after the last
 *  piece (the server then knows nothing more is coming). */
export function rawExchange(origin: string, bytes: Buffer | string | Array<Buffer | string>, timeoutMs = 10_000, o: { halfClose?: boolean } = {}): Promise<{ raw: Buffer; closed: boolean }> {
  const u = new URL(origin);
  const pieces = Array.isArray(bytes) ? bytes : [bytes];
  return new Promise((resolve) => {
    const sock = net.connect(Number(u.port), u.hostname);
    const parts: Buffer[] = [];
    let closed = false;
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ raw: Buffer.concat(parts), closed });
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on("connect", () => {
      // Each piece is its own write, a little apart, so they can arrive as separate segments.
      let i = 0;
      const next = () => {
        if (sock.destroyed) return;
        if (i >= pieces.length) return void (o.halfClose && sock.end());
        sock.write(pieces[i++]);
        setTimeout(next, 20);
      };
      next();
    });
    sock.on("data", (d) => parts.push(d));
    sock.on("close", () => ((closed = true), done()));
    sock.on("error", () => {});
  });
}

/** Splits what a kept-alive connection carried into its responses (in order). */
export function parseWireAll(raw: Buffer, methods: string[]): WireResponse[] {
  const out: WireResponse[] = [];
  let rest = raw;
  for (const method of methods) {
    if (rest.indexOf("\r\n\r\n") < 0) break;
    const r = parseWire(rest, method);
    out.push(r);
    const headLen = rest.indexOf("\r\n\r\n") + 4;
    const used = r.framing === "length" ? headLen + r.body.length : r.framing === "none" ? headLen : rest.length;
    if (r.framing === "chunked") return out; // a chunked body's end is not tracked here
    rest = rest.subarray(used);
  }
  return out;
}
