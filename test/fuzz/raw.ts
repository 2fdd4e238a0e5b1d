// Out-of-bounds checks at the Wasm boundary. Wasm itself only traps outside linear memory, so
// a parser that reads past the `len` it was given, or writes past the `cap` of its table,
// would go unnoticed inside the codec's scratch buffers. Here the input is followed by guard
// bytes and the call is made three times with different guard contents (NULs, 0xFF, CRLFs:
// the bytes most likely to change a parse); every answer and every table must be the same,
// and the guard after the output table must be untouched.

import {
  DEC_CONSUMED, DEC_EVENT_CAP, DEC_EVENTS, EVENT_SIZE, FIELD_SIZE, HEAD_FIELDS, MODE_CLIENT, MODE_SERVER,
  PAIR_SIZE, PARAMS_FORMAT_SHIFT, PARAMS_UNDERSCORES,
} from "../../wasm/abi/layout";
import { CH_CONSUMED, CH_DONE, CH_SPAN_SIZE, CH_SPANS, H1_FIELDS } from "../../wasm/abi/http1";
import type { WasmExports } from "../../src/codec/exports";
import { fail } from "./stream";

const GUARD = 64;
const PATTERNS = [0x00, 0xff, -1]; // -1: "\r\n" repeated

function fillGuard(u8: Uint8Array, at: number, pattern: number): void {
  for (let i = 0; i < GUARD; i++) u8[at + i] = pattern >= 0 ? pattern : i % 2 === 0 ? 0x0d : 0x0a;
}

/** Runs `call` with the input at `buf` and a zeroed table of `tableBytes` at `table`, under
 *  each guard pattern; returns nothing, fails on any difference or guard write. */
function guarded(
  wasm: WasmExports,
  input: Uint8Array,
  tableBytes: number,
  call: (buf: number, table: number) => number[],
  what: string,
): void {
  const buf = wasm.alloc(input.length + GUARD);
  const table = wasm.alloc(tableBytes + GUARD);
  try {
    let first: string | null = null;
    for (const pattern of PATTERNS) {
      let u8 = new Uint8Array(wasm.memory.buffer);
      u8.set(input, buf);
      fillGuard(u8, buf + input.length, pattern);
      u8.fill(0, table, table + tableBytes);
      fillGuard(u8, table + tableBytes, 0x5a);
      const result = call(buf, table);
      u8 = new Uint8Array(wasm.memory.buffer);
      for (let i = 0; i < GUARD; i++) {
        if (u8[table + tableBytes + i] !== 0x5a) fail(`${what}: wrote past the end of its ${tableBytes}-byte table (byte ${i} after it)`);
      }
      const got = JSON.stringify([result, Array.from(u8.subarray(table, table + tableBytes))]);
      if (first === null) first = got;
      else if (got !== first) fail(`${what}: the answer depends on the bytes after the input (read past len = ${input.length}); guard ${pattern}`);
    }
  } finally {
    wasm.free(buf);
    wasm.free(table);
  }
}

const headCap = (limit: number) => Math.min(Math.floor(limit / 3) + 1, 1000);

export function rawRequestHead(wasm: WasmExports, input: Uint8Array, limit: number): void {
  const cap = headCap(limit);
  const len = Math.min(input.length, limit);
  guarded(wasm, input.subarray(0, len), H1_FIELDS + cap * FIELD_SIZE, (buf, t) => [wasm.http_parse_request_head(buf, len, limit, t, cap)], "http_parse_request_head");
}

export function rawResponseHead(wasm: WasmExports, input: Uint8Array, limit: number, request: number): void {
  const cap = headCap(limit);
  const len = Math.min(input.length, limit);
  guarded(wasm, input.subarray(0, len), H1_FIELDS + cap * FIELD_SIZE, (buf, t) => [wasm.http_parse_response_head(buf, len, limit, request, t, cap)], "http_parse_response_head");
}

export function rawCgiHead(wasm: WasmExports, input: Uint8Array, limit: number): void {
  const cap = headCap(limit);
  const len = Math.min(input.length, limit);
  guarded(wasm, input.subarray(0, len), HEAD_FIELDS + cap * FIELD_SIZE, (buf, t) => [wasm.cgi_parse_head(buf, len, limit, t, cap)], "cgi_parse_head");
}

export function rawDecodePairs(wasm: WasmExports, input: Uint8Array): void {
  const cap = (input.length >>> 1) + 1;
  guarded(wasm, input, cap * PAIR_SIZE, (buf, t) => [wasm.fcgi_decode_pairs(buf, input.length, t, cap)], "fcgi_decode_pairs");
}

/** Feeds the whole input to a fresh FastCGI decoder; the events are the "table". */
export function rawFcgiDecoder(wasm: WasmExports, input: Uint8Array, mode: "client" | "server", track: number[]): void {
  guarded(wasm, input, 4, (buf) => {
    const state = wasm.fcgi_decoder_new(mode === "client" ? MODE_CLIENT : MODE_SERVER);
    try {
      for (const id of track) wasm.fcgi_decoder_track(state, id);
      const out: number[] = [];
      let off = 0;
      for (let guard = 0; guard < input.length + 2 * DEC_EVENT_CAP + 2; guard++) {
        const n = wasm.fcgi_decoder_feed(state, buf + off, input.length - off);
        out.push(n);
        if (n < 0) break;
        const i32 = new Int32Array(wasm.memory.buffer);
        out.push(...i32.subarray((state + DEC_EVENTS) >>> 2, (state + DEC_EVENTS + n * EVENT_SIZE) >>> 2));
        off += i32[(state + DEC_CONSUMED) >>> 2];
        if (off >= input.length && n < DEC_EVENT_CAP) break;
      }
      out.push(wasm.fcgi_decoder_at_boundary(state));
      return out;
    } finally {
      wasm.fcgi_decoder_free(state);
    }
  }, `fcgi_decoder_feed (${mode})`);
}

export function rawChunked(wasm: WasmExports, input: Uint8Array): void {
  guarded(wasm, input, 4, (buf) => {
    const state = wasm.http_chunked_new();
    try {
      const out: number[] = [];
      let off = 0;
      while (off < input.length) {
        const n = wasm.http_chunked_feed(state, buf + off, input.length - off);
        out.push(n);
        if (n < 0) break;
        const i32 = new Int32Array(wasm.memory.buffer);
        out.push(...i32.subarray((state + CH_SPANS) >>> 2, (state + CH_SPANS + n * CH_SPAN_SIZE) >>> 2));
        const consumed = i32[(state + CH_CONSUMED) >>> 2];
        off += consumed;
        if (i32[(state + CH_DONE) >>> 2] === 1 || consumed === 0) break;
      }
      out.push(off);
      return out;
    } finally {
      wasm.http_chunked_free(state);
    }
  }, "http_chunked_feed");
}

/** The parameter builder, on an input list written here (wasm/ABI.md "Input lists"): it reads
 *  only the list and writes only within the bound it promised. */
export function rawParams(wasm: WasmExports, c: { owned: Array<[string, string]>; headers: Array<[string, string]>; format: string; underscores: boolean }): void {
  const entries: Uint8Array[] = [];
  const put = (b: Uint8Array) => entries.push(Uint8Array.of(b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24), b);
  const utf8 = new TextEncoder();
  for (const [n, v] of c.owned) (put(utf8.encode(n)), put(utf8.encode(v)));
  const ownedLen = entries.reduce((n, e) => n + e.length, 0);
  for (const [n, v] of c.headers) (put(Uint8Array.from(n, (x) => x.charCodeAt(0))), put(Uint8Array.from(v, (x) => x.charCodeAt(0))));
  const list = new Uint8Array(entries.reduce((n, e) => n + e.length, 0));
  let o = 0;
  for (const e of entries) (list.set(e, o), (o += e.length));
  if (list.length > 16_384) return; // the big-value cases are for the builder's limits, not for this
  const headersLen = list.length - ownedLen;
  const options = (c.underscores ? PARAMS_UNDERSCORES : 0) | ({ fastcgi: 0, scgi: 1, uwsgi: 2 }[c.format]! << PARAMS_FORMAT_SHIFT);
  const bound = wasm.cgi_params_bound(ownedLen, headersLen);
  guarded(wasm, list, bound, (buf, out) => [wasm.cgi_build_params(out, bound, buf, ownedLen, headersLen, options)], "cgi_build_params");
}

/** An encoder must write within `cap`: the guard after the output stays untouched. */
export function rawEncodeGuard(wasm: WasmExports, cap: number, call: (out: number) => number, what: string): void {
  guarded(wasm, new Uint8Array(0), cap, (_buf, out) => [call(out)], what);
}
