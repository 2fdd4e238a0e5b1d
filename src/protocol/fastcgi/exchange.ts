// FastCGI responder exchange (FastCGI 1.0 spec): BEGIN_REQUEST, PARAMS, STDIN out;
// STDOUT, STDERR, END_REQUEST in. When the context carries the upstream's pool
// (ctx.connections: pool = "pooled", held by the host) the request takes a place on a kept
// connection (pooled.ts); otherwise, here, it opens a connection of its own, which the app
// closes after END_REQUEST. The records (records.ts) and the reading of the answer
// (response.ts) are the same either way.
import { FcgiFlags } from "../../codec/types.js";
import type { Exchange, ExchangeContext, ForwardRequest, ForwardResponse } from "../../core/exchange.js";
import { UpstreamIO } from "../../core/upstream-io.js";
import { connectUpstream } from "../connect.js";
import { endedEarly, sendWhileReading } from "../send-body.js";
import { pooledFastcgi } from "./pooled.js";
import { requestRecords, preamble, stdin } from "./records.js";
import { fcgiAnswer, FcgiResponse } from "./response.js";

const REQUEST_ID = 1;

export const fastcgiExchange: Exchange = {
  cgi: true,
  needsLength: () => true,
  forward(req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse> {
    const pool = ctx.connections?.kind === "records" ? ctx.connections : undefined;
    const request = requestRecords(req, ctx, pool ? FcgiFlags.KEEP_CONN : 0);
    return pool ? pooledFastcgi(req, ctx, pool, request) : direct(req, ctx, request);
  },
};

async function direct(req: ForwardRequest, ctx: ExchangeContext, request: Uint8Array): Promise<ForwardResponse> {
  const { codec, settings, upstream } = ctx;
  const { conn, origin } = await connectUpstream(ctx, req.log, req.record);
  const io = new UpstreamIO(conn, origin, upstream.readTimeoutMs, upstream.sendTimeoutMs);
  const decoder = codec.fcgiDecoder("client");
  decoder.track(REQUEST_ID);
  const res = new FcgiResponse(codec, decoder, REQUEST_ID, settings.responseHeadLimit, req.log, origin);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // Close first: php-fpm drains the connection until we close it, so a worker stays
    // pinned to this request until then.
    void io.close();
    decoder.free();
  };

  const first = preamble(request, REQUEST_ID, req.body !== null);
  const sendError = sendWhileReading(req, io, origin, first, stdin(codec, REQUEST_ID), () => released, release);

  const step = async () => {
    const chunk = await io.read(decoder.contentLeft);
    if (chunk === null) throw endedEarly(origin, "before the end of the response", sendError);
    res.feed(chunk, io.settle);
    // END_REQUEST: everything is in memory now. Let go of the connection at once — php-fpm
    // keeps a worker pinned until we close, and a slow client must not hold it.
    if (res.ended) release();
  };
  return fcgiAnswer(res, { step, release }, req.method, req.log, origin);
}
