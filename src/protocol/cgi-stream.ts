// The exchange shared by SCGI and uwsgi: both send a block of CGI variables, then the body,
// and read back an HTTP status line or a CGI head on a connection that closes after each
// response. Only the framing of the variable block differs.
import { CodecError, type Codec, type Http1Codec } from "../codec/types.js";
import { Codes, GatewayError } from "../core/errors.js";
import type { ExchangeContext, ForwardRequest, ForwardResponse } from "../core/exchange.js";
import { connectUpstream } from "./connect.js";
import { UpstreamIO } from "./io.js";
import { paramsError } from "./params-error.js";
import { raw, sendBody } from "./send-body.js";
import { readStreamResponse } from "./stream-response.js";

export interface CgiStreamProtocol {
  format: "scgi" | "uwsgi";
  /** Wraps the encoded variable block into the protocol's request head. */
  frame(vars: Uint8Array, ctx: ExchangeContext): Uint8Array;
}

export async function forwardCgiStream(p: CgiStreamProtocol, req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse> {
  const codec = ctx.codec as Codec & Http1Codec;
  // SCGI requires CONTENT_LENGTH first and always present ("0" without a body); uWSGI reads
  // exactly CONTENT_LENGTH bytes of body. Either way it leads the block.
  const length = String(req.body?.length ?? 0);
  const owned: Array<[string, string]> = [["CONTENT_LENGTH", length]];
  if (p.format === "scgi") owned.push(["SCGI", "1"]);
  for (const kv of req.cgi) if (kv[0] !== "CONTENT_LENGTH") owned.push(kv);
  let vars: Uint8Array;
  try {
    vars = codec.buildCgiParams({
      owned,
      headers: req.headers,
      underscoresInHeaders: ctx.settings.underscoresInHeaders,
      format: p.format,
    });
  } catch (e) {
    throw paramsError(e);
  }
  const head = p.frame(vars, ctx);

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
  void (async () => {
    // One write for head and a small body; large bodies follow as they arrive.
    await io.write(head);
    if (req.body) await sendBody(req.body, io, raw);
  })().catch((e) => {
    sendError = e;
    if (!released) req.log.log("warn", "upstream_send_failed", { origin, error: e instanceof GatewayError ? e.code : String(e) });
    release();
  });
  return readStreamResponse({
    io,
    codec,
    origin,
    mode: "cgi-or-http",
    method: req.method,
    headLimit: ctx.settings.responseHeadLimit,
    log: req.log,
    release,
    sendError: () => sendError,
  });
}
