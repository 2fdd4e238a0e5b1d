// FastCGI record encoders, both directions: what a web server sends (BEGIN_REQUEST, PARAMS,
// STDIN, ABORT_REQUEST, GET_VALUES) and what an application sends (STDOUT, STDERR,
// END_REQUEST, GET_VALUES_RESULT, UNKNOWN_TYPE). Every encoder takes (out, cap) and returns the
// bytes written, or a negative code; sizes are computable up front (fcgiStreamSize etc.).

import { BAD_ARGUMENT, FCGI_RECORD_TOO_LARGE, OUTPUT_TOO_SMALL } from "../../abi/codes";
import {
  FCGI_ABORT_REQUEST, FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT,
  FCGI_HEADER_LEN, FCGI_MAX_CONTENT, FCGI_NULL_REQUEST_ID, FCGI_UNKNOWN_TYPE,
} from "../../abi/fastcgi";
import { putU16BE, putU32BE } from "../util/bytes";
import { encodedPairsSize, encodePairs } from "./pairs";
import { isStreamType, paddingFor, putHeader, putRecord, recordSize } from "./record";

// @ts-ignore: decorator
@inline function validId(id: u32): bool {
  return id >= 1 && id <= 0xffff;
}

/** A record with an 8-byte body: BEGIN_REQUEST (5.1), END_REQUEST (5.5), UNKNOWN_TYPE (4.2). */
function putFixed8(out: usize, cap: u32, type: u32, id: u32): i32 {
  if (cap < 16) return OUTPUT_TOO_SMALL;
  putHeader(out, type, id, 8, 0);
  store<u64>(out + FCGI_HEADER_LEN, 0);
  return 16;
}

/** FCGI_BeginRequestBody (spec 5.1): roleB1 roleB0 flags reserved[5]. */
export function beginRequest(out: usize, cap: u32, id: u32, role: u32, flags: u32): i32 {
  if (!validId(id) || role > 0xffff || flags > 0xff) return BAD_ARGUMENT;
  const r = putFixed8(out, cap, FCGI_BEGIN_REQUEST, id);
  if (r < 0) return r;
  putU16BE(out + 8, role);
  store<u8>(out + 10, <u8>flags);
  return r;
}

/** FCGI_EndRequestBody (spec 5.5): appStatus (u32 big-endian), protocolStatus, reserved[3]. */
export function endRequest(out: usize, cap: u32, id: u32, appStatus: u32, protocolStatus: u32): i32 {
  if (!validId(id) || protocolStatus > 0xff) return BAD_ARGUMENT;
  const r = putFixed8(out, cap, FCGI_END_REQUEST, id);
  if (r < 0) return r;
  putU32BE(out + 8, appStatus);
  store<u8>(out + 12, <u8>protocolStatus);
  return r;
}

/** FCGI_UnknownTypeBody (spec 4.2): type, reserved[7]; a management record (id 0). */
export function unknownType(out: usize, cap: u32, type: u32): i32 {
  if (type > 0xff) return BAD_ARGUMENT;
  const r = putFixed8(out, cap, FCGI_UNKNOWN_TYPE, FCGI_NULL_REQUEST_ID);
  if (r < 0) return r;
  store<u8>(out + 8, <u8>type);
  return r;
}

/** ABORT_REQUEST (spec 5.4): header only. */
export function abortRequest(out: usize, cap: u32, id: u32): i32 {
  if (!validId(id)) return BAD_ARGUMENT;
  if (cap < <u32>FCGI_HEADER_LEN) return OUTPUT_TOO_SMALL;
  putHeader(out, FCGI_ABORT_REQUEST, id, 0, 0);
  return FCGI_HEADER_LEN;
}

/** Exact size of streamRecords(len): ceil(len / 65535) records, or one empty record for 0. */
export function streamSize(len: u32): u32 {
  if (len == 0) return FCGI_HEADER_LEN;
  const full = len / FCGI_MAX_CONTENT;
  const rest = len % FCGI_MAX_CONTENT;
  return full * recordSize(FCGI_MAX_CONTENT) + (rest ? recordSize(rest) : 0);
}

/** Splits [data, data + len) into records of `type` holding at most 65,535 bytes each (the
 *  16-bit contentLength, spec 3.3), each padded to 8. len 0 writes the single empty record
 *  that closes a stream (spec 3.3 "stream records"). */
export function streamRecords(out: usize, cap: u32, type: u32, id: u32, data: usize, len: u32): i32 {
  if (!isStreamType(type) || !validId(id)) return BAD_ARGUMENT;
  const size = streamSize(len);
  if (size > cap) return OUTPUT_TOO_SMALL;
  if (len == 0) {
    putHeader(out, type, id, 0, 0);
    return FCGI_HEADER_LEN;
  }
  let q = out;
  let off: u32 = 0;
  while (off < len) {
    const n = min<u32>(len - off, FCGI_MAX_CONTENT);
    q += putRecord(q, type, id, data + off, n);
    off += n;
  }
  return <i32>size;
}

/** Size of valuesRecord for the pair list, or BAD_LIST. */
export function valuesSize(list: usize, listLen: u32): i32 {
  const n = encodedPairsSize(list, listLen);
  if (n < 0) return n;
  return <i32>recordSize(<u32>n);
}

/** GET_VALUES (web server -> app, names with empty values) or GET_VALUES_RESULT (app -> web
 *  server) from a pair list, in one management record (spec 4.1). Management records are not
 *  streams, so content that does not fit one record is an error rather than a split. */
export function valuesRecord(out: usize, cap: u32, type: u32, list: usize, listLen: u32): i32 {
  if (type != FCGI_GET_VALUES && type != FCGI_GET_VALUES_RESULT) return BAD_ARGUMENT;
  const n = encodedPairsSize(list, listLen);
  if (n < 0) return n;
  if (<u32>n > <u32>FCGI_MAX_CONTENT) return FCGI_RECORD_TOO_LARGE;
  const size = recordSize(<u32>n);
  if (size > cap) return OUTPUT_TOO_SMALL;
  const pad = paddingFor(<u32>n);
  putHeader(out, type, FCGI_NULL_REQUEST_ID, <u32>n, pad);
  encodePairs(out + FCGI_HEADER_LEN, <u32>n, list, listLen);
  memory.fill(out + FCGI_HEADER_LEN + <u32>n, 0, pad);
  return <i32>size;
}
