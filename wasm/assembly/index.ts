// The whole export surface of edgepass.wasm: thin functions over the pointer-level code in
// util/, fastcgi/, cgi/ and http1/. Only numbers cross this boundary (ARCHITECTURE.md rule 1): pointers
// and lengths in, an i32 out (>= 0 a result, < 0 a code from wasm/abi/codes.ts), structured
// results in offset tables in linear memory. Documented for other hosts in wasm/ABI.md; an
// export, once published, keeps its name and signature.

import { ABI_VERSION } from "../abi/layout";
import { buildParams, paramsBound } from "./cgi/params";
import { parseHead } from "./cgi/head";
import {
  abortRequest, beginRequest, endRequest, streamRecords, streamSize, unknownType, valuesRecord, valuesSize,
} from "./fastcgi/encode";
import { decodePairs, encodedPairsSize, encodePairs } from "./fastcgi/pairs";
import { requestRecords, requestSize } from "./fastcgi/request";
import { decoderAtBoundary, decoderFeed, decoderNew, decoderSkip } from "./fastcgi/decoder";
import { setInFlight } from "./fastcgi/inflight";
import { BAD_ARGUMENT } from "../abi/codes";
import { parseRequestHead } from "./http1/request";
import { parseResponseHead } from "./http1/response";
import { chunkedFeed, chunkedNew, chunkedSkip } from "./http1/chunked";
import { chunkSize, encodeChunk } from "./http1/encode";

// --- module ---

export function abi_version(): i32 {
  return ABI_VERSION;
}

/** 1 in the SIMD build, 0 in its scalar twin: the two export the same functions with the same
 *  results, so a host only asks this to report which one it loaded. */
export function simd_build(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}

/** Host-owned buffers (inputs, outputs, tables). 16-byte aligned; may grow memory. */
export function alloc(size: u32): usize {
  return heap.alloc(size);
}

export function free(ptr: usize): void {
  if (ptr != 0) heap.free(ptr);
}

// --- FastCGI encoders ---

export function fcgi_begin_request(out: usize, cap: u32, id: u32, role: u32, flags: u32): i32 {
  return beginRequest(out, cap, id, role, flags);
}

export function fcgi_abort_request(out: usize, cap: u32, id: u32): i32 {
  return abortRequest(out, cap, id);
}

export function fcgi_end_request(out: usize, cap: u32, id: u32, appStatus: u32, protocolStatus: u32): i32 {
  return endRequest(out, cap, id, appStatus, protocolStatus);
}

export function fcgi_unknown_type(out: usize, cap: u32, type: u32): i32 {
  return unknownType(out, cap, type);
}

export function fcgi_stream_size(len: u32): i32 {
  return <i32>streamSize(len);
}

export function fcgi_stream(out: usize, cap: u32, type: u32, id: u32, data: usize, len: u32): i32 {
  return streamRecords(out, cap, type, id, data, len);
}

/** Size of fcgi_request's output; `isList` 1: `params` is a pair list, 0: an encoded stream. */
export function fcgi_request_size(params: usize, paramsLen: u32, isList: u32, stdinLen: u32): i32 {
  if (isList > 1) return BAD_ARGUMENT;
  return requestSize(params, paramsLen, isList == 1, stdinLen);
}

/** A whole request: BEGIN_REQUEST, PARAMS (from a pair list or an encoded stream), STDIN. */
export function fcgi_request(
  out: usize, cap: u32, id: u32, role: u32, flags: u32, params: usize, paramsLen: u32, isList: u32, stdin: usize,
  stdinLen: u32,
): i32 {
  if (isList > 1) return BAD_ARGUMENT;
  return requestRecords(out, cap, id, role, flags, params, paramsLen, isList == 1, stdin, stdinLen);
}

export function fcgi_values_size(list: usize, listLen: u32): i32 {
  return valuesSize(list, listLen);
}

export function fcgi_values(out: usize, cap: u32, type: u32, list: usize, listLen: u32): i32 {
  return valuesRecord(out, cap, type, list, listLen);
}

export function fcgi_pairs_size(list: usize, listLen: u32): i32 {
  return encodedPairsSize(list, listLen);
}

export function fcgi_encode_pairs(out: usize, cap: u32, list: usize, listLen: u32): i32 {
  return encodePairs(out, cap, list, listLen);
}

export function fcgi_decode_pairs(buf: usize, len: u32, table: usize, cap: u32): i32 {
  return decodePairs(buf, len, table, cap);
}

// --- FastCGI decoder ---

export function fcgi_decoder_new(mode: i32): i32 {
  return decoderNew(mode);
}

export function fcgi_decoder_free(state: usize): void {
  if (state != 0) heap.free(state);
}

export function fcgi_decoder_track(state: usize, id: u32): i32 {
  if (id < 1 || id > 0xffff) return BAD_ARGUMENT;
  setInFlight(state, id, true);
  return 0;
}

export function fcgi_decoder_untrack(state: usize, id: u32): i32 {
  if (id < 1 || id > 0xffff) return BAD_ARGUMENT;
  setInFlight(state, id, false);
  return 0;
}

export function fcgi_decoder_feed(state: usize, buf: usize, len: u32): i32 {
  return decoderFeed(state, buf, len, false);
}

export function fcgi_decoder_scan(state: usize, buf: usize, len: u32): i32 {
  return decoderFeed(state, buf, len, true);
}

export function fcgi_decoder_skip(state: usize, n: u32): i32 {
  return decoderSkip(state, n);
}

export function fcgi_decoder_at_boundary(state: usize): i32 {
  return decoderAtBoundary(state) ? 1 : 0;
}

// --- CGI ---

export function cgi_params_bound(ownedLen: u32, headersLen: u32): i32 {
  return <i32>paramsBound(ownedLen, headersLen);
}

export function cgi_build_params(out: usize, cap: u32, list: usize, ownedLen: u32, headersLen: u32, options: u32): i32 {
  return buildParams(out, cap, list, ownedLen, headersLen, options);
}

export function cgi_parse_head(buf: usize, len: u32, limit: u32, table: usize, cap: u32): i32 {
  return parseHead(buf, len, limit, table, cap);
}

// --- HTTP/1.1 ---

export function http_parse_request_head(buf: usize, len: u32, limit: u32, table: usize, cap: u32): i32 {
  return parseRequestHead(buf, len, limit, table, cap);
}

export function http_parse_response_head(buf: usize, len: u32, limit: u32, request: u32, table: usize, cap: u32): i32 {
  return parseResponseHead(buf, len, limit, request, table, cap);
}

export function http_chunked_new(): i32 {
  return chunkedNew();
}

export function http_chunked_free(state: usize): void {
  if (state != 0) heap.free(state);
}

export function http_chunked_feed(state: usize, buf: usize, len: u32): i32 {
  return chunkedFeed(state, buf, len, false);
}

export function http_chunked_scan(state: usize, buf: usize, len: u32): i32 {
  return chunkedFeed(state, buf, len, true);
}

export function http_chunked_skip(state: usize, n: u32): i32 {
  return chunkedSkip(state, n);
}

export function http_chunk_size(len: u32): i32 {
  return chunkSize(len);
}

export function http_encode_chunk(out: usize, cap: u32, data: usize, len: u32): i32 {
  return encodeChunk(out, cap, data, len);
}
