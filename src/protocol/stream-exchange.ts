// One exchange over a byte-stream connection (SCGI, uwsgi, HTTP/1.1): connect, send the
// request head and then the body while the response is read (send-body.ts), release the
// connection once.
import type { ExchangeContext, ForwardRequest, ForwardResponse } from "../core/exchange.js";
import { connectUpstream } from "./connect.js";
import { UpstreamIO } from "../core/upstream-io.js";
import { sendWhileReading, type Frame } from "./send-body.js";
import { readStreamResponse } from "./stream-response.js";
import { Tunnel } from "../core/tunnel.js";

export async function streamExchange(
  req: ForwardRequest,
  ctx: ExchangeContext,
  head: Uint8Array,
  frameBody: Frame,
  mode: "http" | "cgi-or-http",
): Promise<ForwardResponse> {
  const { conn, origin } = await connectUpstream(ctx, req.log, req.record);
  const io = new UpstreamIO(conn, origin, ctx.upstream.readTimeoutMs, ctx.upstream.sendTimeoutMs);
  let released = false;
  const release = () => {
    if (!released) {
      released = true;
      void io.close();
    }
  };
  const sendError = sendWhileReading(req, io, origin, head, frameBody, () => released, release);
  return readStreamResponse({
    io,
    codec: ctx.codec,
    origin,
    mode,
    method: req.method,
    headLimit: ctx.settings.responseHeadLimit,
    log: req.log,
    release,
    sendError,
    // A switched connection is the tunnel's to close, with no read_timeout from now on.
    switched: req.upgrade
      ? (rest) => {
          released = true;
          io.untimed();
          return new Tunnel(rest, io, origin);
        }
      : undefined,
  });
}
