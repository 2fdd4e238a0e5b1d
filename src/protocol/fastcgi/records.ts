// What a FastCGI request puts on the wire (FastCGI 1.0, sections 5.1 and 6.2), the same on a
// connection of its own and on a kept one: the CGI variables, and the records that open the
// request. Only the request id and FCGI_KEEP_CONN differ between the two.
import { FcgiRole, FcgiType, type Codec } from "../../codec/types.js";
import { concatBytes } from "../../core/bytes.js";
import type { ExchangeContext, ForwardRequest } from "../../core/exchange.js";
import { paramsError } from "../params-error.js";

const EMPTY = new Uint8Array(0);

/** The request's CGI variables, encoded as FastCGI name-value pairs; a refusal (a header that
 *  cannot be passed on) becomes the client's 400 or 431 before any connection is taken. */
export function fcgiParams(req: ForwardRequest, ctx: ExchangeContext): Uint8Array {
  try {
    return ctx.codec.buildCgiParams({
      owned: req.cgi,
      headers: req.headers,
      underscoresInHeaders: ctx.settings.underscoresInHeaders,
      format: "fastcgi",
    });
  } catch (e) {
    throw paramsError(e);
  }
}

/** BEGIN_REQUEST, PARAMS and (with no body to follow) the empty STDIN that ends the input,
 *  in one write. `flags`: FCGI_KEEP_CONN on a kept connection, else 0 (the app closes it). */
export function preamble(codec: Codec, id: number, req: ForwardRequest, flags: number, params: Uint8Array, hasBody: boolean): Uint8Array {
  // No body to follow (most requests): the whole request in one call and one copy.
  if (!hasBody) return codec.fcgiRequest(id, req.role ?? FcgiRole.RESPONDER, flags, params, EMPTY);
  return concatBytes([codec.fcgiBeginRequest(id, req.role ?? FcgiRole.RESPONDER, flags), codec.fcgiParams(id, params)]);
}

/** Frames a piece of the body as STDIN; the empty piece is the end of it. */
export const stdin = (codec: Codec, id: number) => (d: Uint8Array): Uint8Array => codec.fcgiStream(FcgiType.STDIN, id, d);
