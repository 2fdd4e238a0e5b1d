// HTTP/1.1 to an origin: over a connect() socket with our own client (the Wasm response
// parser and chunked decoder), or, with via = "fetch", through the platform's fetch() for
// origins reachable by URL. Request bodies stream as they arrive (chunked when the client
// did not say how long); responses stream back. When the context carries the upstream's
// keep-alive pool (ctx.connections: pool = "pooled", held by the host) the socket is leased
// from it (pooled.ts) instead of dialed per request. A WebSocket handshake (req.upgrade) goes
// on a connection of its own, or through the Worker's fetch(), and may come back switched
// (core/tunnel.ts).
import { withTimeout } from "../../core/deadline.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { Exchange, ExchangeContext, ForwardRequest, ForwardResponse } from "../../core/exchange.js";
import { streamOf } from "../../core/respond.js";
import { raw } from "../send-body.js";
import { streamExchange } from "../stream-exchange.js";
import { pooledHttp } from "./pooled.js";
import { encodeRequestHead, requestHeaders } from "./request-head.js";
import { FetchedWebSocket } from "../../core/tunnel.js";

export const httpExchange: Exchange = {
  cgi: false,
  needsLength: (u) => u.requestBuffering === true,
  forward(req, ctx) {
    return ctx.upstream.http?.via === "fetch" ? viaFetch(req, ctx) : viaSocket(req, ctx);
  },
};

async function viaSocket(req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse> {
  const codec = ctx.codec;
  // A WebSocket handshake never leases a kept connection: once switched it is the client's.
  const pool = ctx.connections?.kind === "stream" && !req.upgrade ? ctx.connections : undefined;
  let head: Uint8Array;
  try {
    // A kept connection (the keep-alive pool) asks the server to keep it too.
    head = encodeRequestHead(req, { host: ctx.upstream.http?.host, connection: req.upgrade ? "upgrade" : pool ? "keep-alive" : "close" });
  } catch (e) {
    throw new GatewayError(Codes.REQUEST_INVALID, 400, "The request cannot be forwarded: its request line or a header holds forbidden bytes.", String(e));
  }
  const frame = req.body?.length === null ? (d: Uint8Array) => codec.encodeChunkPieces(d) : raw;
  if (pool) return pooledHttp(req, ctx, pool, head, frame);
  return streamExchange(req, ctx, head, frame, "http");
}

async function viaFetch(req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse> {
  const base = ctx.upstream.http!.url!;
  // A body on a GET or HEAD is allowed on the wire, and a socket upstream sends it; fetch()
  // refuses to (a TypeError that would read as an unreachable origin). Dropping the body
  // would change the request, so the client hears why instead.
  if (req.body && (req.method === "GET" || req.method === "HEAD")) {
    throw new GatewayError(
      Codes.FETCH_CANNOT_SEND_BODY,
      501,
      `A ${req.method} request with a body cannot be forwarded to ${base}: the platform's fetch() (via = "fetch") sends no body with ${req.method}. Send it with another method, or reach the origin through a socket (servers = [...]).`,
    );
  }
  const headers = new Headers();
  // fetch() sets Host from the URL and owns framing; everything else is ours to send.
  for (const [n, v] of requestHeaders(req, {})) if (n !== "Host") headers.append(n, v);
  if (ctx.upstream.http?.host) headers.set("X-Forwarded-Host", ctx.upstream.http.host);
  if (req.upgrade) {
    // The Worker's fetch() opens a WebSocket of the platform's own when asked with Upgrade,
    // and makes the handshake itself (its own key: the client's key and version were the
    // client's hop). The subprotocols offered pass on.
    for (const own of ["sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions"]) headers.delete(own);
    headers.set("Upgrade", "websocket");
  }
  // encodeResponseBody "manual": an encoded body arrives as the origin sent it, so it can pass
  // to the client byte for byte (or be decoded by the one policy in core/respond.ts).
  const init: RequestInit & { duplex?: "half" } = { method: req.method, headers, redirect: "manual", encodeResponseBody: "manual" };
  if (req.body) {
    init.body = streamOf(req.body.stream);
    init.duplex = "half";
  }
  let res: Response;
  try {
    res = await withTimeout(fetch(base + req.target, init), ctx.upstream.readTimeoutMs, () =>
      new GatewayError(Codes.UPSTREAM_READ_TIMEOUT, 504, `The origin ${base} did not answer within ${ctx.upstream.readTimeoutMs / 1000} s (read_timeout).`),
    );
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    throw new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, `Could not reach the origin ${base}.`, String(e));
  }
  const out: Array<[string, string]> = [];
  res.headers.forEach((v, k) => {
    if (k !== "set-cookie") out.push([k, v]);
  });
  for (const c of (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie()) out.push(["set-cookie", c]);
  const socket = req.upgrade ? (res as Response & { webSocket?: WebSocket | null }).webSocket : null;
  if (res.status === 101 && socket) return { status: 101, statusText: res.statusText, headers: out, body: null, tunnel: new FetchedWebSocket(socket) };
  return { status: res.status, statusText: res.statusText, headers: out, body: res.body };
}
