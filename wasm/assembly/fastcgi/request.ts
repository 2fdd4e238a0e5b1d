// A whole FastCGI request in one call, the bytes a web server writes for it (spec 5.1, 3.3):
// BEGIN_REQUEST, the PARAMS stream and its closing empty record, the STDIN stream and its
// closing empty record. The parameters come either as a pair list, encoded straight into the
// PARAMS records, or as an already encoded name-value stream (e.g. from cgi_build_params).

import { BAD_ARGUMENT, OUTPUT_TOO_SMALL } from "../../abi/codes";
import { FCGI_HEADER_LEN, FCGI_MAX_CONTENT, FCGI_PARAMS, FCGI_STDIN } from "../../abi/fastcgi";
import { beginRequest, streamRecords, streamSize } from "./encode";
import { encodedPairsSize, encodePairs } from "./pairs";
import { paddingFor, putHeader } from "./record";

/** Bytes of the name-value stream the parameters make: a pair list's encoded size (or
 *  BAD_LIST), an encoded stream's own length. */
function paramsLength(params: usize, paramsLen: u32, isList: bool): i32 {
  if (!isList) return paramsLen > 0x7fffffff ? BAD_ARGUMENT : <i32>paramsLen;
  return encodedPairsSize(params, paramsLen);
}

/** One stream and its closing empty record. */
// @ts-ignore: decorator
@inline function closedStreamSize(len: u32): u64 {
  return <u64>(len > 0 ? streamSize(len) : 0) + FCGI_HEADER_LEN;
}

/** Exact size requestRecords writes, or a code (BAD_LIST, BAD_ARGUMENT when over 2^31 - 1). */
export function requestSize(params: usize, paramsLen: u32, isList: bool, stdinLen: u32): i32 {
  const p = paramsLength(params, paramsLen, isList);
  if (p < 0) return p;
  const size = 16 + closedStreamSize(<u32>p) + closedStreamSize(stdinLen);
  return size > 0x7fffffff ? BAD_ARGUMENT : <i32>size;
}

/** Writes the request; returns the bytes written or a code. */
export function requestRecords(
  out: usize, cap: u32, id: u32, role: u32, flags: u32, params: usize, paramsLen: u32, isList: bool, stdin: usize,
  stdinLen: u32,
): i32 {
  const size = requestSize(params, paramsLen, isList, stdinLen);
  if (size < 0) return size;
  if (<u32>size > cap) return OUTPUT_TOO_SMALL;
  const begin = beginRequest(out, cap, id, role, flags);
  if (begin < 0) return begin;
  let q = out + <usize>begin;
  const p = <u32>paramsLength(params, paramsLen, isList);
  if (isList && p <= <u32>FCGI_MAX_CONTENT) {
    // The common case: one record, the pairs encoded in place.
    if (p > 0) {
      const pad = paddingFor(p);
      putHeader(q, FCGI_PARAMS, id, p, pad);
      encodePairs(q + FCGI_HEADER_LEN, p, params, paramsLen);
      memory.fill(q + FCGI_HEADER_LEN + p, 0, pad);
      q += FCGI_HEADER_LEN + p + pad;
    }
  } else {
    let src = params;
    if (isList) {
      // Encoded at the end of the request's bytes first, then split into records in front of
      // it: the records never catch up with bytes not yet copied (each record is only its
      // header and padding longer, and the rest of the request still follows), and
      // memory.copy may overlap.
      src = out + <usize>size - p;
      encodePairs(src, p, params, paramsLen);
    }
    if (p > 0) q += <usize>streamRecords(q, <u32>(out + cap - q), FCGI_PARAMS, id, src, p);
  }
  q += <usize>streamRecords(q, FCGI_HEADER_LEN, FCGI_PARAMS, id, 0, 0);
  if (stdinLen > 0) q += <usize>streamRecords(q, <u32>(out + cap - q), FCGI_STDIN, id, stdin, stdinLen);
  q += <usize>streamRecords(q, FCGI_HEADER_LEN, FCGI_STDIN, id, 0, 0);
  return <i32>(q - out);
}
