// FastCGI record framing (FastCGI 1.0 spec, section 3.3):
//   version(1) type(1) requestIdB1 requestIdB0 contentLengthB1 contentLengthB0
//   paddingLength(1) reserved(1), then contentLength bytes of content and paddingLength bytes
//   of padding. Big-endian 16-bit fields.

import {
  FCGI_DATA, FCGI_HEADER_LEN, FCGI_PARAMS, FCGI_STDERR, FCGI_STDIN, FCGI_STDOUT, FCGI_VERSION_1,
} from "../../abi/fastcgi";
import { putU16BE } from "../util/bytes";

/** Padding that brings `contentLength` to a multiple of 8. The spec (3.3) recommends records
 *  "placed on boundaries that are multiples of eight bytes" so the receiver can align data. */
// @ts-ignore: decorator
@inline export function paddingFor(contentLength: u32): u32 {
  return (8 - (contentLength & 7)) & 7;
}

/** Size of a whole record carrying `contentLength` bytes, padding included. */
// @ts-ignore: decorator
@inline export function recordSize(contentLength: u32): u32 {
  return FCGI_HEADER_LEN + contentLength + paddingFor(contentLength);
}

/** Writes a record header at `p`. */
export function putHeader(p: usize, type: u32, requestId: u32, contentLength: u32, padding: u32): void {
  store<u8>(p, FCGI_VERSION_1);
  store<u8>(p + 1, <u8>type);
  putU16BE(p + 2, requestId);
  putU16BE(p + 4, contentLength);
  store<u8>(p + 6, <u8>padding);
  store<u8>(p + 7, 0);
}

/** Writes a whole record (header, `contentLength` bytes copied from `src`, zeroed padding) at
 *  `p` and returns its size. Padding is zeroed because output buffers are reused. */
export function putRecord(p: usize, type: u32, requestId: u32, src: usize, contentLength: u32): u32 {
  const pad = paddingFor(contentLength);
  putHeader(p, type, requestId, contentLength, pad);
  memory.copy(p + FCGI_HEADER_LEN, src, contentLength);
  memory.fill(p + FCGI_HEADER_LEN + contentLength, 0, pad);
  return FCGI_HEADER_LEN + contentLength + pad;
}

/** The stream record types (spec 3.3): content is a byte stream closed by an empty record. */
export function isStreamType(type: u32): bool {
  return type == FCGI_PARAMS || type == FCGI_STDIN || type == FCGI_STDOUT ||
    type == FCGI_STDERR || type == FCGI_DATA;
}
