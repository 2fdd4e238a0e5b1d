// HTTP/1.1 to an origin: over a connect() socket with our own client (the Wasm response
// parser and chunked decoder), or, with via = "fetch", through the platform's fetch() for
// origins reachable by URL. Request bodies stream as they arrive (chunked when the client
// did not say how long); responses stream back.
import type { Codec, Http1Codec } from "../../codec/types.js";
import { withTimeout } from "../../core/deadline.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { Exchange, ExchangeContext, ForwardRequest, ForwardResponse } from "../../core/exchange.js";
import { connectUpstream } from "../connect.js";
import { UpstreamIO } from "../io.js";
import { raw, sendBody } from "../send-body.js";
import { readStreamResponse, stripHopByHop } from "../stream-response.js";
import { encodeRequestHead, requestHeaders } from "./request-head.js";

export const httpExchange: Exchange = {
  needsLength: (u) => u.http?.requestBuffering === true,
  forward(req, ctx) {
    return ctx.upstream.http?.via === "fetch" ? viaFetch(req, ctx) : viaSocket(req, ctx);
  },
};

async function viaSocket(req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse> {
  const codec = ctx.codec as Codec & Http1Codec;
  let head: Uint8Array;
  try {
    head = encodeRequestHead(req, { host: ctx.upstream.http?.host, connection: "close" });
  } catch (e) {
    throw new GatewayError(Codes.REQUEST_INVALID, 400, "The request cannot be forwarded: its request line or a header holds forbidden bytes.", String(e));
  }
  const { conn, origin } = await connectUpstream(ctx, req.log);
  const io = new UpstreamIO(conn, origin, ctx.upstream.readTimeoutMs, ctx.upstream.sendTimeoutMs);
  let released = false;
  const release = () => {
    if (!released) {
      released = true;
      void io.close();
    }
  };
  let sendError: unknown = null;
  const frame = req.body?.length === null ? (d: Uint8Array) => codec.encodeChunk(d) : raw;
  void (async () => {
    await io.write(head);
    if (req.body) await sendBody(req.body, io, frame);
  })().catch((e) => {
    sendError = e;
    if (!released) req.log.log("warn", "upstream_send_failed", { origin, error: e instanceof GatewayError ? e.code : String(e) });
    release();
  });
  return readStreamResponse({
    io,
    codec,
    origin,
    mode: "http",
    method: req.method,
    headLimit: ctx.settings.responseHeadLimit,
    log: req.log,
    release,
    sendError: () => sendError,
  });
}

async function viaFetch(req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse> {
  const base = ctx.upstream.http!.url!;
  const headers = new Headers();
  // fetch() sets Host from the URL and owns framing; everything else is ours to send.
  for (const [n, v] of requestHeaders(req, {})) if (n !== "Host") headers.append(n, v);
  if (ctx.upstream.http?.host) headers.set("X-Forwarded-Host", ctx.upstream.http.host);
  const init: RequestInit & { duplex?: "half" } = { method: req.method, headers, redirect: "manual" };
  if (req.body) {
    init.body = req.body.stream;
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
  return { status: res.status, statusText: res.statusText, headers: stripHopByHop(out), body: res.body };
}
