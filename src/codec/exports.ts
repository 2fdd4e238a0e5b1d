// The Wasm module's exports as TypeScript sees them (documented for every host in
// wasm/ABI.md). Pointers and lengths are plain numbers; every i32 result >= 0 is a value,
// < 0 a code from wasm/abi/codes.ts.

export interface WasmExports {
  memory: WebAssembly.Memory;
  abi_version(): number;
  simd_build(): number;
  alloc(size: number): number;
  free(ptr: number): void;

  fcgi_begin_request(out: number, cap: number, id: number, role: number, flags: number): number;
  fcgi_abort_request(out: number, cap: number, id: number): number;
  fcgi_end_request(out: number, cap: number, id: number, appStatus: number, protocolStatus: number): number;
  fcgi_unknown_type(out: number, cap: number, type: number): number;
  fcgi_stream_size(len: number): number;
  fcgi_stream(out: number, cap: number, type: number, id: number, data: number, len: number): number;
  fcgi_values_size(list: number, listLen: number): number;
  fcgi_values(out: number, cap: number, type: number, list: number, listLen: number): number;
  fcgi_pairs_size(list: number, listLen: number): number;
  fcgi_encode_pairs(out: number, cap: number, list: number, listLen: number): number;
  fcgi_decode_pairs(buf: number, len: number, table: number, cap: number): number;
  fcgi_request_size(params: number, paramsLen: number, isList: number, stdinLen: number): number;
  fcgi_request(
    out: number, cap: number, id: number, role: number, flags: number, params: number, paramsLen: number, isList: number,
    stdin: number, stdinLen: number,
  ): number;

  fcgi_decoder_new(mode: number): number;
  fcgi_decoder_free(state: number): void;
  fcgi_decoder_track(state: number, id: number): number;
  fcgi_decoder_untrack(state: number, id: number): number;
  fcgi_decoder_feed(state: number, buf: number, len: number): number;
  fcgi_decoder_scan(state: number, buf: number, len: number): number;
  fcgi_decoder_skip(state: number, n: number): number;
  fcgi_decoder_at_boundary(state: number): number;

  cgi_params_bound(ownedLen: number, headersLen: number): number;
  cgi_build_params(out: number, cap: number, list: number, ownedLen: number, headersLen: number, options: number): number;
  cgi_parse_head(buf: number, len: number, limit: number, table: number, cap: number): number;

  http_parse_request_head(buf: number, len: number, limit: number, table: number, cap: number): number;
  http_parse_response_head(buf: number, len: number, limit: number, request: number, table: number, cap: number): number;
  http_chunked_new(): number;
  http_chunked_free(state: number): void;
  http_chunked_feed(state: number, buf: number, len: number): number;
  http_chunked_scan(state: number, buf: number, len: number): number;
  http_chunked_skip(state: number, n: number): number;
  http_chunk_size(len: number): number;
  http_encode_chunk(out: number, cap: number, data: number, len: number): number;
}

const FUNCTIONS = [
  "abi_version", "simd_build", "alloc", "free",
  "fcgi_begin_request", "fcgi_abort_request", "fcgi_end_request", "fcgi_unknown_type",
  "fcgi_stream_size", "fcgi_stream", "fcgi_values_size", "fcgi_values", "fcgi_pairs_size",
  "fcgi_encode_pairs", "fcgi_decode_pairs", "fcgi_request_size", "fcgi_request",
  "fcgi_decoder_new", "fcgi_decoder_free", "fcgi_decoder_track", "fcgi_decoder_untrack",
  "fcgi_decoder_feed", "fcgi_decoder_scan", "fcgi_decoder_skip", "fcgi_decoder_at_boundary",
  "cgi_params_bound", "cgi_build_params", "cgi_parse_head",
  "http_parse_request_head", "http_parse_response_head", "http_chunked_new", "http_chunked_free",
  "http_chunked_feed", "http_chunked_scan", "http_chunked_skip", "http_chunk_size", "http_encode_chunk",
] as const;

/** Checks that an instance has every export this codec calls, so a stale or foreign module
 *  fails at creation with a message instead of later with "x is not a function". */
export function checkExports(exports: WebAssembly.Exports): WasmExports {
  const missing: string[] = FUNCTIONS.filter((name) => typeof exports[name] !== "function");
  if (!(exports.memory instanceof WebAssembly.Memory)) missing.push("memory");
  if (missing.length > 0) {
    throw new Error(
      `edgepass codec: the Wasm module lacks export(s) ${missing.join(", ")}; ` +
        "rebuild it with `npm run build` (wasm/build/edgepass.wasm is stale or not ours)",
    );
  }
  return exports as unknown as WasmExports;
}
