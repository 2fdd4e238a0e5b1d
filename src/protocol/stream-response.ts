// Reads a response from a byte-stream origin (HTTP/1.1, SCGI, uwsgi): the head — an HTTP
// status line, or for the CGI protocols possibly a CGI head with "Status:" — then a body
// delimited the way the head says (length, chunked, or connection close), streamed with
// backpressure. Interim 1xx heads are skipped. On an HTTP/1.1 connection that may be kept
// (the keep-alive pool), release() also says whether it may carry another exchange: only when
// the response ended cleanly where its framing said (Content-Length or chunked; a bodiless
// HEAD, 1xx, 204 or 304), no byte followed it, and the head allowed it (HTTP/1.1 without
// Connection: close, Keep-Alive max not 0), with the server's Keep-Alive timeout.
import { CodecError, type BodyFraming, type ChunkedDecoder, type Codec } from "../codec/types.js";
import { Codes, GatewayError } from "../core/errors.js";
import type { ForwardResponse, Reuse } from "../core/exchange.js";
import type { Tunnel } from "../core/tunnel.js";
import type { Logger } from "../core/log.js";
import { sourceBody, wholeBody, logCut, type Stall } from "./body-stream.js";
import { noBodyFor } from "../edge/headers.js";
import { concatBytes } from "../core/bytes.js";
import { endedEarly } from "./send-body.js";

export interface ResponseOptions {
  /** Where the response comes from (an UpstreamIO, or a pooled connection): `read` as
   *  UpstreamIO.read, `settle` as DirectIO.settle (each body read is told which pieces of it
   *  went on as they are). */
  io: { read(atLeast?: number): Promise<Uint8Array | null>; settle?(chunk: Uint8Array, views: Iterable<Uint8Array>): void };
  codec: Codec;
  origin: string;
  /** "http": a status line is required; "cgi-or-http": SCGI/uwsgi apps may send either. */
  mode: "http" | "cgi-or-http";
  method: string;
  headLimit: number;
  log: Logger;
  /** Called when the exchange is over (callers ignore repeats); `clean` = the message ended
   *  where it said. `reuse` non-null: the connection may carry another exchange (see above). */
  release(clean: boolean, reuse: Reuse | null): void;
  /** Error to report if the origin closes early because sending the request failed. */
  sendError?: () => unknown;
  /** A kept connection: how long a client may take nothing (pooled-lease.ts). */
  stall?: Stall;
  /** The request asked to switch to WebSocket: a 101 that agrees hands the connection over
   *  as this makes it, with the bytes behind the head (core/tunnel.ts). */
  switched?: (rest: Uint8Array) => Tunnel;
}

interface Head {
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  bodyOffset: number;
  framing: BodyFraming;
  /** HTTP heads only: the version and Connection allow another exchange. */
  keepAlive?: boolean;
}

/** Interim responses accepted before the final one (a 100 Continue and a few 103s are normal). */
const MAX_INTERIM = 16;

export async function readStreamResponse(o: ResponseOptions): Promise<ForwardResponse> {
  let buf: Uint8Array = new Uint8Array(0);
  let head: Head | null = null;
  let eof = false;
  let interim = 0;
  try {
    while (!head) {
      const chunk = eof ? null : await o.io.read();
      if (chunk === null) {
        eof = true;
        if (buf.byteLength === 0) throw closedEarly(o, "before sending a response");
      } else {
        buf = buf.byteLength ? concatBytes([buf, chunk]) : chunk;
      }
      head = parseHead(o, buf, eof);
      if (head && head.status < 200) {
        // 1xx interim response (100 Continue, 103 Early Hints): skip it, read the final one.
        if (head.status === 101) {
          if (!o.switched) throw malformed(o, "switched protocols, which this request did not ask for");
          if (!head.headers.some(([n, v]) => n.toLowerCase() === "upgrade" && v.trim().toLowerCase() === "websocket")) {
            throw malformed(o, "switched to a protocol other than the websocket the request asked for");
          }
          const rest = buf.subarray(head.bodyOffset);
          return { status: 101, statusText: head.reason, headers: head.headers, body: null, tunnel: o.switched(rest) };
        }
        // An origin must not keep the gateway reading interim heads forever.
        if (++interim > MAX_INTERIM) throw malformed(o, `sent more than ${MAX_INTERIM} interim (1xx) responses`);
        buf = buf.subarray(head.bodyOffset);
        head = null;
        continue;
      }
      if (!head && eof) throw closedEarly(o, "before its response headers were complete");
    }
  } catch (e) {
    o.release(false, null);
    throw e;
  }

  const reuse = o.mode === "http" ? keepAliveOf(head) : null;
  const headers = head.headers;
  const noBody = noBodyFor(o.method, head.status) || head.framing.kind === "none";
  if (noBody) {
    // Delimited only when nothing was meant to follow the head and nothing did.
    const f = head.framing;
    const delimited = (f.kind === "none" || (f.kind === "length" && f.length === 0)) && buf.byteLength === head.bodyOffset;
    // Never after a HEAD: servers that send the GET's body anyway (gevent's WSGIServer does)
    // would put it in front of the next response on this connection, failing a client that
    // did nothing wrong. One new connection per HEAD is the cheaper mistake.
    o.release(true, delimited && o.method !== "HEAD" ? reuse : null);
    return { status: head.status, statusText: head.reason, headers, body: null };
  }
  const source = new BodyReader(o, head.framing, buf.subarray(head.bodyOffset), eof, reuse);
  // All of a small body came with the head (released by the reader already): handed on whole.
  const whole = wholeBody(source.done, source.pending);
  if (whole) return { status: head.status, statusText: head.reason, headers, body: whole };
  return {
    status: head.status,
    statusText: head.reason,
    headers,
    body: sourceBody({
      pending: source.pending,
      done: () => source.done,
      step: () => source.step(),
      // A clean end was released by the reader already, with what it knew of the framing.
      release: (clean) => o.release(clean, null),
      onError: logCut(o.log, o.origin),
      stall: o.stall,
    }),
  };
}

/** May the connection carry another exchange after this response, and for how long idle?
 *  The codec's keepAlive reads the version and Connection; Keep-Alive (RFC 2068 19.7.1, still
 *  sent by Apache, Node and others) may add timeout=N and max=N. */
function keepAliveOf(head: Head): Reuse | null {
  if (!head.keepAlive) return null;
  let keepAliveMs: number | null = null;
  for (const [n, v] of head.headers) {
    if (n.toLowerCase() !== "keep-alive") continue;
    for (const param of v.split(",")) {
      const m = /^\s*(timeout|max)\s*=\s*"?(\d{1,9})"?\s*$/i.exec(param);
      if (!m) continue;
      const value = Number(m[2]);
      if (m[1].toLowerCase() === "max" && value === 0) return null;
      if (m[1].toLowerCase() === "timeout") keepAliveMs = Math.min(keepAliveMs ?? Infinity, value * 1000);
    }
  }
  return { keepAliveMs };
}

function parseHead(o: ResponseOptions, buf: Uint8Array, eof: boolean): Head | null {
  const isHttp = o.mode === "http" || startsWithHttp(buf);
  if (!isHttp && buf.byteLength < 5 && !eof && isPrefixOfHttp(buf)) return null;
  try {
    if (isHttp) return o.codec.parseHttpResponseHead(o.mode === "http" ? buf : echoedVersion(buf), o.headLimit, o.method);
    const cgi = o.codec.parseCgiHead(buf, o.headLimit);
    if (!cgi) return null;
    return { ...cgi, framing: cgiFraming(o, cgi.headers) };
  } catch (e) {
    throw malformed(o, "sent a malformed response head", e);
  }
}

/** A CGI head has no framing of its own: a valid Content-Length delimits the body, otherwise
 *  the body runs to the end of the connection (SCGI and uwsgi close after each response). */
function cgiFraming(o: ResponseOptions, headers: Array<[string, string]>): BodyFraming {
  const cl = headers.filter(([n]) => n.toLowerCase() === "content-length").map(([, v]) => v.trim());
  if (cl.length === 0) return { kind: "close" };
  if (new Set(cl).size !== 1 || !/^\d{1,15}$/.test(cl[0])) throw malformed(o, `sent an invalid Content-Length (${cl.join(", ")})`);
  return { kind: "length", length: Number(cl[0]) };
}

/** An SCGI or uwsgi app answers in the version it was given as SERVER_PROTOCOL (uWSGI writes
 *  "$SERVER_PROTOCOL 200 OK"): "HTTP/2.0" or "HTTP/3.0" for an HTTP/2 or HTTP/3 client, as
 *  nginx passes them too. Such a line is read as HTTP/1.1's (a copy of the head with the
 *  version replaced, the same length): on a connection that closes after the response, that
 *  is what its framing amounts to. */
function echoedVersion(buf: Uint8Array): Uint8Array {
  if (buf.byteLength < 9 || (buf[5] !== 0x32 && buf[5] !== 0x33) || buf[6] !== 0x2e || buf[7] !== 0x30 || buf[8] !== 0x20) return buf;
  const copy = buf.slice();
  copy[5] = 0x31;
  copy[7] = 0x31;
  return copy;
}

const HTTP_PREFIX = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"
const startsWithHttp = (b: Uint8Array) => b.byteLength >= 5 && HTTP_PREFIX.every((c, i) => b[i] === c);
const isPrefixOfHttp = (b: Uint8Array) => [...b].every((c, i) => HTTP_PREFIX[i] === c);

class BodyReader {
  readonly pending: Uint8Array[] = [];
  done = false;
  private remaining = 0;
  private chunked: ChunkedDecoder | null = null;

  constructor(
    private readonly o: ResponseOptions,
    private readonly framing: BodyFraming,
    first: Uint8Array,
    private eof: boolean,
    /** What the head allowed; lost when the body is close-delimited or followed by bytes. */
    private reuse: Reuse | null,
  ) {
    if (framing.kind === "close") this.reuse = null;
    if (framing.kind === "length") this.remaining = framing.length;
    if (framing.kind === "chunked") this.chunked = o.codec.chunkedDecoder();
    if (first.byteLength) this.take(first);
    else if (framing.kind === "length" && framing.length === 0) this.finish();
  }

  async step(): Promise<void> {
    // A chunked body's reads may wait for the rest of the chunk its size line announced (an
    // origin writes a chunk whole), as FastCGI's do for the rest of a record; one with a
    // Content-Length reads what has come, as the origin may send it slowly.
    const chunk = this.eof ? null : await this.o.io.read(this.chunked?.dataLeft ?? 0);
    if (chunk === null) {
      this.eof = true;
      if (this.framing.kind === "close") return this.finish();
      throw closedEarly(this.o, "before the end of the response body");
    }
    const before = this.pending.length;
    this.take(chunk);
    this.o.io.settle?.(chunk, this.pending.slice(before));
  }

  private take(chunk: Uint8Array): void {
    if (this.framing.kind === "close") {
      this.pending.push(chunk);
    } else if (this.framing.kind === "length") {
      // Bytes past the body belong to no request of ours: the connection is not reusable.
      if (chunk.byteLength > this.remaining) this.reuse = null;
      const piece = chunk.subarray(0, this.remaining);
      this.remaining -= piece.byteLength;
      if (piece.byteLength) this.pending.push(piece);
      if (this.remaining === 0) this.finish();
    } else if (this.chunked) {
      let r;
      try {
        r = this.chunked.push(chunk);
      } catch (e) {
        throw malformed(this.o, "sent a malformed chunked body", e);
      }
      for (const d of r.data) if (d.byteLength) this.pending.push(d);
      if (r.done) {
        // Bytes after the last chunk and trailers: pipelining garbage, never reused.
        if (r.consumed < chunk.byteLength) this.reuse = null;
        this.finish();
      }
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.chunked?.free();
    this.chunked = null;
    // The message is complete: let the connection go now, before the client reads the rest.
    this.o.release(true, this.reuse);
  }
}

const closedEarly = (o: ResponseOptions, when: string): GatewayError => endedEarly(o.origin, when, o.sendError);

function malformed(o: ResponseOptions, what: string, e?: unknown): GatewayError {
  const detail = e instanceof CodecError ? `${e.code}: ${e.message}` : e instanceof GatewayError ? e.message : e ? String(e) : undefined;
  return new GatewayError(Codes.UPSTREAM_BAD_RESPONSE, 502, `The origin ${o.origin} ${what}.`, detail);
}
