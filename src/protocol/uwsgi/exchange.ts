// The uwsgi protocol (uWSGI docs, "The uwsgi protocol"): a 4-byte header — modifier1, the
// vars block size as a little-endian 16-bit number, modifier2 — then the vars block, then the
// body. The size field caps the block at 65,535 bytes: a request whose variables do not fit
// is refused with 431 rather than truncated.
import { Codes, GatewayError } from "../../core/errors.js";
import type { Exchange } from "../../core/exchange.js";
import { forwardCgiStream } from "../cgi-stream.js";
import { concatBytes } from "../../core/bytes.js";

/** The request head: the packet header and the vars block. Throws 431 past 65,535 bytes. */
export function uwsgiFrame(vars: Uint8Array, modifier1: number, modifier2: number): Uint8Array {
  if (vars.byteLength > 0xffff) {
    throw new GatewayError(
      Codes.HEADERS_TOO_LARGE,
      431,
      `The request's headers and variables take ${vars.byteLength} bytes; the uwsgi protocol carries at most 65,535. Send fewer or smaller headers (cookies are the usual cause).`,
    );
  }
  return concatBytes([new Uint8Array([modifier1, vars.byteLength & 0xff, vars.byteLength >> 8, modifier2]), vars]);
}

export const uwsgiExchange: Exchange = {
  cgi: true,
  needsLength: () => true,
  forward: (req, ctx) =>
    forwardCgiStream(
      {
        format: "uwsgi",
        frame: (vars, c) => uwsgiFrame(vars, c.upstream.uwsgi?.modifier1 ?? 0, c.upstream.uwsgi?.modifier2 ?? 0),
      },
      req,
      ctx,
    ),
};
