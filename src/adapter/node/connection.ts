// One client connection of `edgepass serve`: read a head (the Wasm request parser frames it),
// hand the request to the gateway, write the answer, and go on with the next request on the
// same connection (keep-alive; pipelined requests wait in the reader, answered in order).
// Anything that leaves the framing in doubt (a malformed head, a body that broke, a response
// that was cut) ends the connection: a misread boundary is how requests get smuggled.
import { peerOf } from "./proxy-protocol.js";
import type net from "node:net";
import { CodecError, type Codec, type HttpRequestHead } from "../../codec/types.js";
import type { ServeSettings } from "../../config/types.js";
import { errorAnswer } from "../../core/error-response.js";
import type { ClientResponse } from "../../core/respond.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { RequestInfo } from "../../core/gateway.js";
import { requestLogger, type Logger, type LogSink } from "../../core/log.js";
import { realClientAddress } from "../../edge/real-ip.js";
import { requestUrl, type RequestUrl } from "../../edge/request-url.js";
import { newRecord, since, writeRequestLine } from "../../core/access-log.js";
import { within } from "../../core/deadline.js";
import { drainUnread } from "../../core/drain.js";
import type { PiecesBody } from "../../core/pieces.js";
import { ConnReader } from "./conn-reader.js";
import { clientTlsOf } from "./client-tls.js";
import { randomId } from "../../core/random-id.js";
import { requestBody, type BodyState } from "./request-body.js";
import { ClientGone, FieldMap, ServeRequest, TRACE_LIKE } from "./request.js";
import { discardResponse, switchingHead, writeResponse } from "./respond.js";
import { relayTunnel } from "./tunnel.js";
import { Tunnel } from "../../core/tunnel.js";

export interface ConnectionDeps {
  codec: Codec;
  /** The request URL's scheme for an origin-form target: "https" behind the TLS listener. */
  scheme: "http" | "https";
  settings: ServeSettings;
  handle: (request: ServeRequest, info: RequestInfo & { requestId: string }) => Promise<ClientResponse>;
  /** True once the server stops: finish the request in flight, then close. */
  draining: () => boolean;
  /** Told true while the connection waits for a request's first byte (a drain may close it
   *  then), false while a request is read, handled or answered. */
  idle: (idle: boolean) => void;
  /** The connection left HTTP for a WebSocket: it needs nothing of the config it was answered
   *  on any more (a reload's old pools need not wait for it), though a drain still lets it run. */
  switched?: () => void;
  sink?: LogSink;
  /** Told of each request read (`started`) and answered, with the bytes each way since the
   *  last answer on this connection (metrics). */
  observe?: Observer;
  /** [gateway] log is on (the request line for requests refused before the gateway). */
  /** [gateway] log of the running config: "json", "off" or a text format. */
  requestLog: () => string;
  /** Answer the connection's first request with this error, unparsed, and close: a client
   *  that spoke plain HTTP to the HTTPS listener. */
  refuse?: GatewayError;
}

export interface Observer {
  started(): void;
  /** `request` null: the head could not be read (400, 408, 431…). */
  answered(request: ServeRequest | null, status: number, bytesIn: number, bytesOut: number): void;
}

export async function serveConnection(sock: net.Socket, deps: ConnectionDeps): Promise<void> {
  const { codec, settings: s } = deps;
  sock.setNoDelay(true);
  sock.on("error", () => {}); // a reset is the end of the connection, handled as EOF
  const reader = new ConnReader(sock);
  const local = { addr: sock.localAddress ?? "", port: sock.localPort ?? 0 };
  // The connection's ends, read once (each read of them asks the kernel).
  const ends = peerOf(sock);
  const peer = plainAddress(ends.addr);
  const peerPort = ends.port === undefined ? undefined : String(ends.port);
  const serverAddr = plainAddress(local.addr);
  const tls = clientTlsOf(sock, s.clientCerts);
  let seenIn = 0;
  let seenOut = 0;
  const answered = (request: ServeRequest | null, status: number) => {
    // Only metrics want the bytes, and each read of them is a call into the socket.
    if (!deps.observe) return;
    const read = sock.bytesRead;
    const written = sock.bytesWritten;
    deps.observe.answered(request, status, read - seenIn, written - seenOut);
    seenIn = read;
    seenOut = written;
  };
  // The request being answered hears of the connection's close: one listener for the
  // connection, not one added and removed per request.
  let current: ClientGone | null = null;
  sock.once("close", () => current?.abort(new GatewayError(Codes.CLIENT_GONE, 499, "The client closed the connection.")));
  for (let first = true; !sock.destroyed; first = false) {
    if (reader.buf.length === 0) {
      if (deps.draining()) break;
      // The wait for a request's first byte: keepalive_timeout between requests; the first
      // one gets header_timeout, as nginx's client_header_timeout covers it.
      deps.idle(true);
      const how = await reader.more(first ? s.headerTimeoutMs : s.keepaliveTimeoutMs);
      deps.idle(false);
      if (how !== "data") break;
    }
    const requestId = randomId();
    const log = requestLogger(requestId, deps.sink);
    // A head that is already whole in the buffer (the usual case) is parsed without a wait.
    const head = deps.refuse ?? headInBuffer(reader, codec, s) ?? (await readHead(reader, codec, s));
    if (head === "eof") break;
    if (head instanceof GatewayError) {
      deps.observe?.started();
      // No request reached the gateway, which writes the request line; this one is written here.
      const started = performance.now();
      const res = errorAnswer(head, requestId, log);
      const bytes = res.length ?? 0;
      await writeResponse(sock, res, { method: "GET", version: 11, keepAlive: false, sendTimeoutMs: s.sendTimeoutMs, log });
      answered(null, head.status);
      logRefused(deps.requestLog(), log, requestId, peer, head, bytes, started);
      break;
    }
    deps.observe?.started();
    reader.take(head.bodyOffset);
    // The client waits to be asked for its body; an HTTP/1.0 client's expectation is ignored
    // (RFC 9110 10.1.1).
    const awaitsContinue = head.expectContinue && head.version >= 11;
    const state: BodyState = { complete: head.framing.kind === "none", failure: null };
    let body: PiecesBody | null = null;
    if (head.framing.kind === "length" && head.framing.length === 0) state.complete = true;
    else if (head.framing.kind === "length" || head.framing.kind === "chunked") {
      // "Expect: 100-continue" is answered once the body is first wanted, so a request the
      // gateway refuses first (404, 413) never makes the client send its body.
      const cont = () => {
        if (awaitsContinue) sock.write("HTTP/1.1 100 Continue\r\n\r\n");
      };
      body = requestBody(reader, head.framing, codec, s.bodyTimeoutMs, state, cont);
    }
    const gone = new ClientGone();
    current = gone;
    let res: ClientResponse;
    let request: ServeRequest | GatewayError;
    const fields = new FieldMap(head.headers, HOP_ONLY);
    try {
      request = toRequest(head, fields, body, local, gone, deps.scheme);
    } catch (e) {
      // What the parser let through but a Request cannot hold (CONNECT, TRACE, a target
      // that is no URL): the client's mistake, not ours.
      request = e instanceof GatewayError ? e : new GatewayError(Codes.REQUEST_INVALID, TRACE_LIKE.has(head.method) ? 405 : 400, `The request cannot be served: ${e instanceof Error ? e.message : String(e)}`);
    }
    try {
      if (request instanceof GatewayError) throw request;
      res = await deps.handle(request, {
        requestId,
        // The peer, or the client a trusted proxy names ([serve] real_ip_from).
        remoteAddr: realClientAddress(peer, request.headers.get("x-forwarded-for"), s.realIpFrom),
        remotePort: peerPort,
        serverAddr,
        tls,
        protocol: `HTTP/1.${head.version % 10}`,
        url: request.parsed,
        awaitsContinue,
      });
    } catch (e) {
      res = errorAnswer(e, requestId, log);
    }
    if (state.failure) {
      // The body broke before the answer: say why (408, 400), not what the origin made of it.
      discardResponse(res);
      res = errorAnswer(state.failure, requestId, log);
    }
    if (res.tunnel instanceof Tunnel) {
      // The origin switched to WebSocket: from here on the connection is a relay, not HTTP.
      current = null;
      const fromClient = reader.detach();
      deps.switched?.();
      sock.write(switchingHead(res));
      await relayTunnel(sock, res.tunnel, fromClient, s.sendTimeoutMs);
      answered(request instanceof GatewayError ? null : request, 101);
      return;
    }
    // A body that broke leaves the next request's start unknown: this answer is the last. So
    // is one given to a client still waiting to be asked for its body (Expect: 100-continue):
    // it may send the body yet or not, and the answer says the connection ends.
    const keep = head.keepAlive && !deps.draining() && state.failure === null && !(awaitsContinue && !state.complete);
    const compress = { settings: s, acceptEncoding: fields.get("accept-encoding") };
    const written = writeResponse(sock, res, { method: head.method, version: head.version, keepAlive: keep, sendTimeoutMs: s.sendTimeoutMs, log, compress });
    const whole = typeof written === "boolean" ? written : await written;
    current = null;
    answered(request instanceof GatewayError ? null : request, res.status);
    if (!whole || !keep) break;
    if (!state.complete) {
      // The gateway answered without reading the body (a return, a redirect, a file): as
      // nginx discards it, it is read and dropped, within bounds (core/drain.ts), and the
      // connection goes on to the next request behind it. A body the gateway began and left
      // (its reader's state is the exchange's), one past the bounds, or one the client waits
      // to be asked for (Expect: 100-continue, and the answer is already final) ends the
      // connection instead.
      if (!awaitsContinue) await drainUnread(body);
      if (!state.complete || state.failure) {
        body?.cancel();
        break;
      }
    }
  }
  await lingeringClose(sock, reader, s.sendTimeoutMs);
}

/** The request line of a request refused before the gateway (which writes every other one):
 *  its head could not be read, so its method and path are "-", and its address the peer's. */
export function logRefused(setting: string, log: Logger, requestId: string, peer: string | undefined, e: GatewayError, bytesOut: number, started: number): void {
  writeRequestLine(setting, log, { ...newRecord(requestId, "-", "-", peer), status: e.status, error: e.code, from: "gateway", bytes_out: bytesOut, total_ms: since(started) });
}

/** The head at the start of the buffer when it is whole there (or already refused); null
 *  when more must be read first. */
function headInBuffer(reader: ConnReader, codec: Codec, s: ServeSettings): HttpRequestHead | GatewayError | null {
  const buf = reader.buf;
  // An empty line before the request line, or no line end yet: the full reader's business.
  if (buf.length < 2 || buf[0] === 13 || buf.indexOf(10) < 0) return null;
  try {
    return codec.parseHttpRequestHead(buf, s.maxHeader);
  } catch (e) {
    return headError(e, s.maxHeader);
  }
}

/** Reads one request head within header_timeout. */
async function readHead(reader: ConnReader, codec: Codec, s: ServeSettings): Promise<HttpRequestHead | GatewayError | "eof"> {
  const deadline = Date.now() + s.headerTimeoutMs;
  let scanned = 0;
  for (;;) {
    // RFC 9112 2.2: a server SHOULD ignore empty lines before a request line (some clients
    // send a CRLF after a POST body).
    while (reader.buf.length >= 2 && reader.buf[0] === 13 && reader.buf[1] === 10) reader.take(2), (scanned = 0);
    const buf = reader.buf;
    // Parse once a line ended since the last look (the parser refuses a bad request line or
    // field as soon as it is whole, as nginx does, instead of waiting for the head's end or
    // header_timeout), or once the head is over the limit: a head trickled byte by byte is
    // scanned once a line, not once a byte.
    const lineEnded = buf.indexOf(10, scanned) >= 0;
    scanned = buf.length;
    if (lineEnded || buf.length >= s.maxHeader) {
      try {
        const head = codec.parseHttpRequestHead(buf, s.maxHeader);
        if (head) return head;
      } catch (e) {
        return headError(e, s.maxHeader);
      }
    }
    const left = deadline - Date.now();
    const how = left > 0 ? await reader.more(left) : "timeout";
    if (how === "timeout") {
      return new GatewayError(Codes.CLIENT_HEADER_TIMEOUT, 408, `The request head did not arrive whole within ${s.headerTimeoutMs / 1000} s (header_timeout).`);
    }
    if (how === "eof") return "eof";
  }
}

export function headError(e: unknown, limit: number): GatewayError {
  if (!(e instanceof CodecError)) throw e;
  switch (e.code) {
    case "HTTP_HEAD_TOO_LARGE":
    case "HTTP_TOO_MANY_FIELDS":
      return new GatewayError(e.code, 431, `The request head is larger than ${limit} bytes or has too many fields (max_header).`);
    case "HTTP_VERSION_UNSUPPORTED":
      return new GatewayError(e.code, 505, "Only HTTP/1.0 and HTTP/1.1 are served here.");
    case "HTTP_CONTENT_LENGTH_TOO_LARGE":
      return new GatewayError(e.code, 413, "The request's Content-Length is larger than any body this gateway accepts.");
    default:
      return new GatewayError(e.code, 400, `The request is malformed: ${e.message}.`);
  }
}

/** The body the gateway reads is already de-chunked: these fields describe the client's hop only. */
export const HOP_ONLY: ReadonlySet<string> = new Set(["transfer-encoding", "expect"]);

export function toRequest(head: HttpRequestHead, fields: FieldMap, body: PiecesBody | null, local: { addr: string; port: number }, signal: ClientGone, scheme: "http" | "https"): ServeRequest {
  const host = fields.get("host") ?? (local.addr.includes(":") ? `[${local.addr}]:${local.port}` : `${local.addr}:${local.port}`);
  const target = RAW_BYTE.test(head.target) ? percentEncodeRaw(head.target) : head.target;
  let url: RequestUrl;
  if (target.startsWith("/")) url = requestUrl(scheme, host, target);
  else if (/^https?:\/\//i.test(target)) url = new URL(target);
  else throw new GatewayError(Codes.REQUEST_INVALID, 400, `The request target "${target}" is not served here (only paths and absolute URLs).`);
  return new ServeRequest(head.method, url, fields, body, signal);
}

/** A byte >= 0x80 the client sent raw in the target (the codec passes it on, one latin-1
 *  character each). */
const RAW_BYTE = /[\x80-\xff]/;

/** Each raw byte written as %XX, byte for byte, as Cloudflare's edge hands such a target to a
 *  Worker: a UTF-8 path decodes back to its characters, and an invalid one meets the same
 *  refusal as its percent-encoded form (edge/script-path.ts). */
function percentEncodeRaw(target: string): string {
  return target.replace(RAW_BYTES, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
const RAW_BYTES = /[\x80-\xff]/g;

/** Half-closes once every queued byte reached the kernel, then reads and drops what the client
 *  still sends for a moment, so a client mid-upload sees our answer instead of a reset (nginx's
 *  lingering_close). */
async function lingeringClose(sock: net.Socket, reader: ConnReader, sendTimeoutMs: number): Promise<void> {
  if (sock.destroyed) return;
  // destroy() drops what the socket still queues: the tail of a large answer to a client that
  // already shut its side would be lost. end() flushes first; a client that stops reading is
  // cut at send_timeout, as during the answer.
  const flushed = new Promise<void>((resolve) => {
    sock.once("finish", resolve);
    sock.once("close", resolve);
  });
  sock.end();
  await within(flushed, sendTimeoutMs);
  const until = Date.now() + 2_000;
  while (!reader.eof && Date.now() < until) {
    reader.take(reader.buf.length);
    if ((await reader.more(until - Date.now())) !== "data") break;
  }
  sock.destroy();
}

/** A dual-stack listener reports IPv4 clients as "::ffff:a.b.c.d"; apps expect "a.b.c.d". */
export function plainAddress(a: string | undefined): string | undefined {
  return a?.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}
