// The exchange shared by SCGI and uwsgi: both send a block of CGI variables, then the body,
// and read back an HTTP status line or a CGI head on a connection that closes after each
// response. Only the framing of the variable block differs.
import type { ExchangeContext, ForwardRequest, ForwardResponse } from "../core/exchange.js";
import { paramsError } from "./params-error.js";
import { raw } from "./send-body.js";
import { streamExchange } from "./stream-exchange.js";

export interface CgiStreamProtocol {
  format: "scgi" | "uwsgi";
  /** Wraps the encoded variable block into the protocol's request head. */
  frame(vars: Uint8Array, ctx: ExchangeContext): Uint8Array;
}

export async function forwardCgiStream(p: CgiStreamProtocol, req: ForwardRequest, ctx: ExchangeContext): Promise<ForwardResponse> {
  const codec = ctx.codec;
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
  return streamExchange(req, ctx, p.frame(vars, ctx), raw, "cgi-or-http");
}
