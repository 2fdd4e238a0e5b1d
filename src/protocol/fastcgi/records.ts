// What a FastCGI request puts on the wire (FastCGI 1.0, sections 5.1 and 6.2), the same on a
// connection of its own and on a kept one: the CGI variables, and the records that open the
// request. Only the request id and FCGI_KEEP_CONN differ between the two.
import { FcgiRole, FcgiType, type Codec } from "../../codec/types.js";
import type { ExchangeContext, ForwardRequest } from "../../core/exchange.js";
import { paramsError } from "../params-error.js";

/** The request whole, as a web server writes it: BEGIN_REQUEST (`flags`: FCGI_KEEP_CONN on a
 *  kept connection, else 0, and the app closes it), the CGI variables as PARAMS, and the
 *  empty STDIN that ends a request without a body, for request id 1 (preamble() gives it
 *  another). Built once for every try; a refusal (a header that cannot be passed on) becomes
 *  the client's 400 or 431 before any connection is taken. */
export function requestRecords(req: ForwardRequest, ctx: ExchangeContext, flags: number): Uint8Array {
  try {
    return ctx.codec.fcgiRequestFromCgi(
      { owned: req.cgi, headers: req.headers, underscoresInHeaders: ctx.settings.underscoresInHeaders },
      req.role ?? FcgiRole.RESPONDER,
      flags,
    );
  } catch (e) {
    throw paramsError(e);
  }
}

/** What opens request `id`: the whole request when it has no body; else all but the empty
 *  STDIN, which comes after the body's STDIN records. */
export function preamble(request: Uint8Array, id: number, hasBody: boolean): Uint8Array {
  const out = id === BUILT_ID ? request : withId(request, id);
  return hasBody ? out.subarray(0, out.length - 8) : out;
}

const BUILT_ID = 1;

/** A copy with `id` in every record's header (FastCGI 1.0, 3.3: bytes 2 and 3); the built
 *  bytes may still be queued on a connection an earlier try used. */
function withId(request: Uint8Array, id: number): Uint8Array {
  const out = request.slice();
  for (let at = 0; at + 8 <= out.length; at += 8 + ((out[at + 4] << 8) | out[at + 5]) + out[at + 6]) {
    out[at + 2] = id >> 8;
    out[at + 3] = id & 0xff;
  }
  return out;
}

/** Frames a piece of the body as STDIN; the empty piece is the end of it. A large piece is not
 *  copied: its records are views of it (Codec.fcgiStreamPieces). */
export const stdin = (codec: Codec, id: number) => (d: Uint8Array): Uint8Array[] => codec.fcgiStreamPieces(FcgiType.STDIN, id, d);
