// HTTP/2 on `edgepass serve`'s TLS listener, for a client that asks for it by ALPN ("h2", as
// every browser does). Node's http2 (nghttp2) frames the connection: streams, flow control,
// HPACK, and the checks RFC 9113 asks of a server (a connection-specific field or an upper-case
// name resets the stream, as does a Content-Length the DATA does not match; a field with a
// control byte in its value is dropped). Each stream is one request through the same pipeline
// as an HTTP/1.1 request. Its method, path and fields are also written out as an HTTP/1.1 head
// and read by the Wasm request parser, so what nghttp2 lets through meets the same rules as
// HTTP/1.1 (the target's bytes, Host, max_header) and gets the same answer; that head is only
// read, never sent anywhere.
import { peerOf } from "./proxy-protocol.js";
import http2 from "node:http2";
import type net from "node:net";
import type { Codec, HttpRequestHead } from "../../codec/types.js";
import type { ServeSettings } from "../../config/types.js";
import { errorAnswer } from "../../core/error-response.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { RequestInfo } from "../../core/gateway.js";
import { requestLogger, type LogSink } from "../../core/log.js";
import type { PiecesBody } from "../../core/pieces.js";
import type { ClientResponse } from "../../core/respond.js";
import { randomId } from "../../core/random-id.js";
import { realClientAddress } from "../../edge/real-ip.js";
import { headError, HOP_ONLY, logRefused, plainAddress, toRequest, type Observer } from "./connection.js";
import { clientTlsOf } from "./client-tls.js";
import type { ClientTls } from "../../core/client-tls.js";
import { bodyTimedOut, clientBody, type BodyState } from "./request-body.js";
import { ClientGone, FieldMap, type ServeRequest } from "./request.js";
import { discardResponse } from "./respond.js";
import { writeH2Response } from "./h2-respond.js";

export interface H2Deps {
  codec: Codec;
  settings: ServeSettings;
  /** "https" behind TLS (ALPN h2), "http" for cleartext HTTP/2 ([serve] h2c). */
  scheme: "http" | "https";
  /** Answers one request on the config of the moment; `release` once it is written. */
  handle: (request: ServeRequest, info: RequestInfo & { requestId: string }) => { answer: Promise<ClientResponse>; release: () => void };
  /** Told true while no stream is open (a drain may close the connection then). */
  idle: (idle: boolean) => void;
  sink?: LogSink;
  observe?: Observer;
  requestLog: () => string;
}

/** Streams one connection may have open at once (nginx's http2_max_concurrent_streams). */
const MAX_STREAMS = 128;
/** The largest window HTTP/2 allows (RFC 9113 6.9.1). */
const MAX_WINDOW = 2 ** 31 - 1;
/** HTTP/2 counts 32 bytes a field over its name and value (RFC 9113 6.5.2), an HTTP/1.1 head 4
 *  ("name: value\r\n"): the list size announced leaves room for max_header's worth of fields,
 *  which the parser then holds to max_header itself (431). */
const FIELD_OVERHEAD = 32;
const MAX_FIELDS = 128;

/** The http2 server for connections accepted under `s`: its settings follow max_header. */
export function h2Server(s: ServeSettings): http2.Http2Server {
  return http2.createServer({
    maxHeaderListPairs: MAX_FIELDS,
    // Each stream's receive window ([serve] http2_window): Node has no way to widen one
    // stream's window, only all of them, and what a client sends on a stream nobody reads yet
    // (a request waiting for an origin connection) stays in memory up to it.
    settings: { maxConcurrentStreams: MAX_STREAMS, initialWindowSize: s.http2Window, maxHeaderListSize: s.maxHeader + FIELD_OVERHEAD * MAX_FIELDS },
  });
}

export interface H2Connection {
  /** Settles once the connection closed. */
  done: Promise<void>;
  /** Refuses new streams (GOAWAY) and closes once the open ones are answered. */
  drain(): void;
}

/** Serves HTTP/2 on `sock`: a TLS socket whose ALPN chose "h2", or a plain one that opened
 *  with HTTP/2's preface ([serve] h2c). */
export function serveH2(sock: net.Socket, server: http2.Http2Server, deps: H2Deps): H2Connection {
  const s = deps.settings;
  let session = null as http2.ServerHttp2Session | null;
  const grab = (x: http2.ServerHttp2Session) => (session = x);
  // The server makes the session as it is handed the connection, and says so at once.
  server.once("session", grab);
  server.emit("connection", sock);
  server.off("session", grab);
  if (session === null) {
    sock.destroy();
    return { done: Promise.resolve(), drain: () => {} };
  }
  const h2: http2.ServerHttp2Session = session;
  h2.on("error", () => {}); // a broken connection is its close
  // The connection's receive window as large as its streams' together. Node gives credit back
  // on the connection as each DATA frame arrives, so this holds no more in memory (what a stream
  // may have unread is its own window's worth); left at HTTP/2's 64 KiB, every upload on the
  // connection shared 64 KiB a round trip.
  h2.setLocalWindowSize(Math.min(MAX_STREAMS * s.http2Window, MAX_WINDOW));
  const local = { addr: sock.localAddress ?? "", port: sock.localPort ?? 0 };
  const ends = peerOf(sock);
  const conn = { peer: plainAddress(ends.addr), peerPort: ends.port === undefined ? undefined : String(ends.port), serverAddr: plainAddress(local.addr), local, tls: clientTlsOf(sock, s.clientCerts) };
  // No stream open: the wait for the next is keepalive_timeout, the first header_timeout (a
  // client that opens a connection and asks nothing), after which the connection goes.
  let open = 0;
  let idleTimer: NodeJS.Timeout | null = null;
  // A close waits for GOAWAY to be written; a client that reads nothing more is dropped after
  // send_timeout, as one that stops reading an answer is.
  const shut = () => {
    h2.close();
    setTimeout(() => h2.destroy(), s.sendTimeoutMs).unref();
  };
  const idle = (ms: number) => {
    deps.idle(true);
    idleTimer = setTimeout(shut, ms);
  };
  idle(s.headerTimeoutMs);
  h2.on("stream", (stream: http2.ServerHttp2Stream, _headers: unknown, flags: number, raw: string[]) => {
    if (open++ === 0) {
      clearTimeout(idleTimer!);
      deps.idle(false);
    }
    void serveStream(stream, (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0, raw, conn, deps)
      .catch((e) => {
        // A failure of ours, not the client's: logged, and the stream reset so the client is
        // not left waiting on it.
        requestLogger("-", deps.sink).log("error", "connection_failed", { detail: e instanceof Error ? e.stack : String(e) });
        if (!stream.destroyed) stream.destroy(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        if (--open === 0 && !h2.closed) idle(s.keepaliveTimeoutMs);
      });
  });
  const done = new Promise<void>((resolve) => h2.once("close", resolve)).then(() => {
    clearTimeout(idleTimer!);
    sock.destroy();
  });
  return { done, drain: shut };
}

interface Conn {
  peer: string | undefined;
  peerPort: string | undefined;
  serverAddr: string | undefined;
  local: { addr: string; port: number };
  tls: ClientTls | undefined;
}

async function serveStream(stream: http2.ServerHttp2Stream, endStream: boolean, raw: string[], conn: Conn, deps: H2Deps): Promise<void> {
  const s = deps.settings;
  // A reset by the client ends the stream; what was waiting on it hears of the close.
  stream.on("error", () => {});
  const requestId = randomId();
  const log = requestLogger(requestId, deps.sink);
  const started = performance.now();
  deps.observe?.started();
  const head = headOf(raw, deps.codec, s.maxHeader);
  if (head instanceof GatewayError) {
    // Refused before the gateway, which writes the request line: this one is written here.
    const res = errorAnswer(head, requestId, log);
    await writeH2Response(stream, res, { method: "GET", sendTimeoutMs: s.sendTimeoutMs, log });
    deps.observe?.answered(null, head.status, 0, res.length ?? 0);
    logRefused(deps.requestLog(), log, requestId, conn.peer, head, res.length ?? 0, started);
    return;
  }
  const awaitsContinue = head.expectContinue && !endStream;
  const state: BodyState = { complete: endStream, failure: null };
  const cont = () => {
    if (awaitsContinue && !stream.closed) stream.additionalHeaders({ ":status": 100 });
  };
  const reader = endStream ? null : h2Body(stream, s.bodyTimeoutMs, state, cont);
  const body = reader?.body ?? null;
  const gone = new ClientGone();
  let finished = false;
  stream.once("close", () => {
    if (!finished) gone.abort(new GatewayError(Codes.CLIENT_GONE, 499, "The client closed the stream."));
  });
  const fields = new FieldMap(head.headers, HOP_ONLY);
  let request: ServeRequest | GatewayError;
  try {
    request = toRequest(head, fields, body, conn.local, gone, deps.scheme);
  } catch (e) {
    request = e instanceof GatewayError ? e : new GatewayError(Codes.REQUEST_INVALID, head.method === "CONNECT" ? 405 : 400, `The request cannot be served: ${e instanceof Error ? e.message : String(e)}`);
  }
  let res: ClientResponse;
  let release = () => {};
  try {
    if (request instanceof GatewayError) throw request;
    const handled = deps.handle(request, {
      requestId,
      remoteAddr: realClientAddress(conn.peer, request.headers.get("x-forwarded-for"), s.realIpFrom),
      remotePort: conn.peerPort,
      serverAddr: conn.serverAddr,
      tls: conn.tls,
      // What nginx passes an app for an HTTP/2 request (SERVER_PROTOCOL).
      protocol: "HTTP/2.0",
      url: request.parsed,
      awaitsContinue,
    });
    release = handled.release;
    res = await handled.answer;
  } catch (e) {
    res = errorAnswer(e, requestId, log);
  }
  if (state.failure) {
    discardResponse(res);
    res = errorAnswer(state.failure, requestId, log);
  }
  if (res.tunnel) {
    // A switch needs Upgrade, a field HTTP/2 refuses (RFC 9113 8.2.2), so no origin is asked
    // for one from here; should one answer 101 anyway, the client hears it failed.
    res.tunnel.close();
    discardResponse(res);
    res = errorAnswer(new GatewayError(Codes.UPSTREAM_BAD_RESPONSE, 502, "The origin switched protocols, which an HTTP/2 request cannot."), requestId, log);
  }
  const compress = { settings: s, acceptEncoding: fields.get("accept-encoding") };
  const out = await writeH2Response(stream, res, { method: head.method, sendTimeoutMs: s.sendTimeoutMs, log, compress });
  finished = true;
  release();
  deps.observe?.answered(request instanceof GatewayError ? null : request, res.status, reader?.received() ?? 0, out.sent);
  if (body && !state.complete && !stream.closed) {
    // Answered before the body was read to its end (a refusal, a redirect, or a reader that
    // stopped at the declared length): the rest is dropped as it comes, and a client still
    // sending a moment later is asked to stop, without an error (RFC 9113 8.1), as nginx asks.
    body.cancel();
    if (!stream.readableEnded) {
      const asked = setTimeout(() => stream.close(http2.constants.NGHTTP2_NO_ERROR), DISCARD_MS);
      stream.once("close", () => clearTimeout(asked));
    }
  }
}

/** How long the rest of a body the answer did not need is read and dropped before the client
 *  is asked to stop sending it. */
const DISCARD_MS = 1000;

/** The stream's request as an HTTP/1.1 head, read by the Wasm parser (see the top). Cookie
 *  fields, which HTTP/2 sends one per cookie, are joined with "; " (RFC 9113 8.2.3); the
 *  authority is the Host, and a Host field that names another is refused (RFC 9113 8.3.1).
 *  A CR, LF or NUL anywhere is refused before the head is written: HTTP/2 carries any byte,
 *  and such a byte would let one field or the path write lines of its own into the head.
 *  nghttp2 refuses them first (it drops such a field, or resets the stream); this does not
 *  rest on it. */
export function headOf(raw: string[], codec: Codec, maxHeader: number): HttpRequestHead | GatewayError {
  let method = "";
  let path = "";
  let authority: string | null = null;
  let host: string | null = null;
  let cookies: string | null = null;
  let lines = "";
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i];
    const v = raw[i + 1];
    if (LINE_BREAKING.test(k) || LINE_BREAKING.test(v)) {
      return new GatewayError(Codes.REQUEST_INVALID, 400, "The request holds a CR, LF or NUL in a field's name or value, or in its method or path.");
    }
    if (k.charCodeAt(0) === 58 /* ":" */) {
      if (k === ":method") method = v;
      else if (k === ":path") path = v;
      else if (k === ":authority") authority = v;
      continue;
    }
    if (k === "cookie") {
      cookies = cookies === null ? v : `${cookies}; ${v}`;
      continue;
    }
    if (k === "host") host = v;
    lines += `${k}: ${v}\r\n`;
  }
  if (authority !== null && host !== null && host !== authority) {
    return new GatewayError(Codes.REQUEST_INVALID, 400, "The request's Host field names another server than its :authority.");
  }
  if (authority !== null && host === null) lines = `host: ${authority}\r\n${lines}`;
  if (cookies !== null) lines += `cookie: ${cookies}\r\n`;
  // CONNECT names an authority, not a path (RFC 9113 8.5).
  const target = method === "CONNECT" ? (authority ?? "") : path;
  const text = `${method} ${target} HTTP/1.1\r\n${lines}\r\n`;
  try {
    const head = codec.parseHttpRequestHead(Buffer.from(text, "latin1"), maxHeader);
    if (head) return head;
    return new GatewayError(Codes.REQUEST_INVALID, 400, "The request is malformed.");
  } catch (e) {
    return headError(e, maxHeader);
  }
}

const LINE_BREAKING = /[\r\n\0]/;

/** The stream's DATA as the pipeline reads a body: what arrived since the last read, at most
 *  64 KiB held before the stream stops reading (flow control then holds the client back).
 *  A body that stops for body_timeout fails (408), one the client resets fails (400). */
function h2Body(stream: http2.ServerHttp2Stream, timeoutMs: number, state: BodyState, beforeFirstRead: () => void): { body: PiecesBody; received: () => number } {
  let queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let listening = false;
  let wake: (() => void) | null = null;
  const woken = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  let received = 0;
  const onData = (d: Buffer) => {
    queue.push(d);
    queued += d.byteLength;
    received += d.byteLength;
    if (queued >= HELD_MAX) stream.pause();
    woken();
  };
  const onEnd = () => {
    ended = true;
    woken();
  };
  const body = clientBody(state, beforeFirstRead, {
    async read() {
      if (!listening) {
        listening = true;
        stream.on("data", onData);
        stream.once("end", onEnd);
        stream.once("close", woken);
      }
      for (;;) {
        if (queue.length > 0) {
          const out = queue;
          queue = [];
          queued = 0;
          stream.resume();
          return out;
        }
        if (ended) {
          state.complete = true;
          return null;
        }
        if (stream.closed || stream.destroyed) throw new GatewayError(Codes.BODY_READ_FAILED, 400, "The client reset the stream before the request body ended.");
        let timer: NodeJS.Timeout | undefined;
        const timedOut = await new Promise<boolean>((resolve) => {
          wake = () => (clearTimeout(timer), resolve(false));
          timer = setTimeout(() => ((wake = null), resolve(true)), timeoutMs);
        });
        if (timedOut) throw bodyTimedOut(timeoutMs);
      }
    },
    stop() {
      queue = [];
      // What still comes is dropped as it arrives (no 'data' listener, flowing).
      stream.off("data", onData);
      stream.resume();
    },
  });
  return { body, received: () => received };
}

/** What a stream holds of its body before it stops reading. */
const HELD_MAX = 64 * 1024;
