// Maps a codec refusal of the request's variables to what the client sees: too many or too
// large headers is 431 (RFC 6585), anything else (CR/LF/NUL injection, bad names) is 400.
import { CodecError } from "../codec/types.js";
import { Codes, GatewayError } from "../core/errors.js";

export function paramsError(e: unknown): unknown {
  if (!(e instanceof CodecError)) return e;
  if (e.code === "CGI_PARAM_TOO_LONG" || e.code === "CGI_TOO_MANY_HEADERS") {
    return new GatewayError(Codes.HEADERS_TOO_LARGE, 431, `The request's headers are too large to forward: ${e.message}`, e.code);
  }
  return new GatewayError(Codes.REQUEST_INVALID, 400, `The request cannot be forwarded: ${e.message}`, e.code);
}
