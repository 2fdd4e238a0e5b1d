// HTTP/1.1 heads and chunk framing over the Wasm exports: copies the head bytes into the input
// scratch, lets the module fill an offset table, and turns the table into strings only here,
// at the edge (header names and values as latin-1 ByteStrings, like the fetch API).

import { FIELD_SIZE } from "../../wasm/abi/layout.js";
import {
  H1_FIELD_COUNT, H1_FIELDS, H1_FLAGS, H1_FRAMING, H1_FRAMING_CHUNKED, H1_FRAMING_CLOSE, H1_FRAMING_LENGTH,
  H1_FRAMING_NONE, H1_LENGTH_HI, H1_LENGTH_LO, H1_METHOD_END, H1_METHOD_START, H1_REASON_END, H1_REASON_START,
  H1_REQ_CONNECT, H1_REQ_HEAD, H1_REQ_OTHER, H1_STATUS, H1_TARGET_END, H1_TARGET_START, H1_VERSION,
  H1F_EXPECT_CONTINUE, H1F_KEEP_ALIVE,
} from "../../wasm/abi/http1.js";
import { MAX_HEAD_FIELDS } from "./cgi.js";
import { check } from "./errors.js";
import { PIECES_MIN, type Scratch, type WasmHeap } from "./memory.js";
import { readFields } from "./fields.js";
import { latin1 } from "./text.js";
import type { BodyFraming, HttpHeadOffsets, HttpRequestHead, HttpResponseHead } from "./types.js";

// i32 indices into the head table, read once: under some loaders imported constants are
// getters, and these are read on every parse (wasm/abi is append-only, so they never change).
const T_VERSION = H1_VERSION >>> 2;
const T_STATUS = H1_STATUS >>> 2;
const T_REASON_START = H1_REASON_START >>> 2;
const T_REASON_END = H1_REASON_END >>> 2;
const T_METHOD_START = H1_METHOD_START >>> 2;
const T_METHOD_END = H1_METHOD_END >>> 2;
const T_TARGET_START = H1_TARGET_START >>> 2;
const T_TARGET_END = H1_TARGET_END >>> 2;
const T_FRAMING = H1_FRAMING >>> 2;
const T_LENGTH_LO = H1_LENGTH_LO >>> 2;
const T_LENGTH_HI = H1_LENGTH_HI >>> 2;
const T_FLAGS = H1_FLAGS >>> 2;
const T_FIELD_COUNT = H1_FIELD_COUNT >>> 2;
const T_FIELDS = H1_FIELDS >>> 2;
const FIELD_INTS = FIELD_SIZE >>> 2;
const F_KEEP_ALIVE = H1F_KEEP_ALIVE;
const F_EXPECT_CONTINUE = H1F_EXPECT_CONTINUE;
const REQ_HEAD = H1_REQ_HEAD;
const REQ_CONNECT = H1_REQ_CONNECT;
const REQ_OTHER = H1_REQ_OTHER;
const FRAMING_NONE = H1_FRAMING_NONE;
const FRAMING_LENGTH = H1_FRAMING_LENGTH;
const FRAMING_CHUNKED = H1_FRAMING_CHUNKED;
const FRAMING_CLOSE = H1_FRAMING_CLOSE;
const TABLE_FIELDS = H1_FIELDS;

const ENTRY_SIZE = FIELD_SIZE;

/** A copy of n i32s from `at`, as a plain array: allocating a typed array costs more than
 *  the whole parse of a small head, a small array of small integers almost nothing. */
function copyInts(i32: Int32Array, at: number, n: number): number[] {
  // Sized up front: filling by index skips the growth steps push() takes.
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) out[k] = i32[at + k];
  return out;
}

/** Bytes of a buffer tried first: most heads end well within it. */
const PREFIX = 4096;

const NONE: BodyFraming = Object.freeze({ kind: "none" });
const CHUNKED: BodyFraming = Object.freeze({ kind: "chunked" });
const CLOSE: BodyFraming = Object.freeze({ kind: "close" });

/** What the table says about framing. */
function framingOf(i32: Int32Array, t: number): BodyFraming {
  switch (i32[t + T_FRAMING]) {
    case FRAMING_NONE:
      return NONE;
    case FRAMING_LENGTH:
      // Two u32 halves of a value <= 2^53-1: exact as a number.
      return { kind: "length", length: (i32[t + T_LENGTH_HI] >>> 0) * 2 ** 32 + (i32[t + T_LENGTH_LO] >>> 0) };
    case FRAMING_CHUNKED:
      return CHUNKED;
    case FRAMING_CLOSE:
      return CLOSE;
    default:
      throw new Error(`http1: unknown framing ${i32[t + T_FRAMING]} (module newer than the codec?)`);
  }
}

function checkLimit(limit: number, what: string): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 0x7fffffff) {
    throw new RangeError(`${what}: limit must be an integer in 1..2^31-1, got ${limit}`);
  }
}

export class Http1 {
  /** Where the last run() left its table. */
  private table = 0;

  constructor(
    private readonly heap: WasmHeap,
    private readonly input: Scratch,
    private readonly output: Scratch,
  ) {}

  /** Runs the request parser (`request` < 0) or the response parser on `buf`; returns the body
   *  offset (0: incomplete) with the table at `this.table`. Only a prefix is copied first: a
   *  read often carries body bytes after the head, and a parse of a prefix is either
   *  incomplete or the parse of the whole buffer (the parsers are restartable). */
  private run(buf: Uint8Array, limit: number, request: number, context: string): number {
    const all = Math.min(buf.length, limit); // bytes past the limit never belong to a head
    const cap = Math.min(Math.floor(limit / 3) + 1, MAX_HEAD_FIELDS); // "a:\n" is the shortest field line
    const table = this.output.ensure(TABLE_FIELDS + cap * ENTRY_SIZE);
    this.table = table;
    const wasm = this.heap.wasm;
    let len = Math.min(all, PREFIX);
    for (;;) {
      const ptr = this.input.ensure(len);
      this.heap.u8().set(len === buf.length ? buf : buf.subarray(0, len), ptr);
      const r = request < 0
        ? wasm.http_parse_request_head(ptr, len, limit, table, cap)
        : wasm.http_parse_response_head(ptr, len, limit, request, table, cap);
      if (r !== 0 || len === all) return check(r, context);
      len = all;
    }
  }

  private headers(head: string, table: number): Array<[string, string]> {
    const i32 = this.heap.i32();
    return readFields(i32, table + TABLE_FIELDS, i32[(table >>> 2) + T_FIELD_COUNT], head);
  }

  /** The head table as offsets: the fixed part read into numbers, the field entries copied
   *  out of Wasm memory in one slice (the table is overwritten by the next call). */
  private offsets(table: number, bodyOffset: number): HttpHeadOffsets {
    const i32 = this.heap.i32();
    const t = table >>> 2;
    const flags = i32[t + T_FLAGS];
    const f = t + T_FIELDS;
    const count = i32[t + T_FIELD_COUNT];
    return {
      version: i32[t + T_VERSION],
      status: i32[t + T_STATUS],
      methodStart: i32[t + T_METHOD_START],
      methodEnd: i32[t + T_METHOD_END],
      targetStart: i32[t + T_TARGET_START],
      targetEnd: i32[t + T_TARGET_END],
      reasonStart: i32[t + T_REASON_START],
      reasonEnd: i32[t + T_REASON_END],
      bodyOffset,
      framing: framingOf(i32, t),
      keepAlive: (flags & F_KEEP_ALIVE) !== 0,
      expectContinue: (flags & F_EXPECT_CONTINUE) !== 0,
      fieldCount: count,
      fields: copyInts(i32, f, count * FIELD_INTS),
    };
  }

  scanResponseHead(buf: Uint8Array, limit: number, requestMethod: string): HttpHeadOffsets | null {
    checkLimit(limit, "scanHttpResponseHead");
    const request = requestMethod === "HEAD" ? REQ_HEAD : requestMethod === "CONNECT" ? REQ_CONNECT : REQ_OTHER;
    const bodyOffset = this.run(buf, limit, request, "HTTP response head");
    return bodyOffset === 0 ? null : this.offsets(this.table, bodyOffset);
  }

  scanRequestHead(buf: Uint8Array, limit: number): HttpHeadOffsets | null {
    checkLimit(limit, "scanHttpRequestHead");
    const bodyOffset = this.run(buf, limit, -1, "HTTP request head");
    return bodyOffset === 0 ? null : this.offsets(this.table, bodyOffset);
  }

  parseResponseHead(buf: Uint8Array, limit: number, requestMethod: string): HttpResponseHead | null {
    checkLimit(limit, "parseHttpResponseHead");
    const request = requestMethod === "HEAD" ? REQ_HEAD : requestMethod === "CONNECT" ? REQ_CONNECT : REQ_OTHER;
    const bodyOffset = this.run(buf, limit, request, "HTTP response head");
    if (bodyOffset === 0) return null;
    const table = this.table;
    const i32 = this.heap.i32();
    const t = table >>> 2;
    const head = latin1(buf.subarray(0, bodyOffset));
    return {
      version: i32[t + T_VERSION],
      status: i32[t + T_STATUS],
      reason: head.slice(i32[t + T_REASON_START], i32[t + T_REASON_END]),
      headers: this.headers(head, table),
      bodyOffset,
      framing: framingOf(i32, t),
      keepAlive: (i32[t + T_FLAGS] & F_KEEP_ALIVE) !== 0,
    };
  }

  parseRequestHead(buf: Uint8Array, limit: number): HttpRequestHead | null {
    checkLimit(limit, "parseHttpRequestHead");
    const bodyOffset = this.run(buf, limit, -1, "HTTP request head");
    if (bodyOffset === 0) return null;
    const table = this.table;
    const i32 = this.heap.i32();
    const t = table >>> 2;
    const flags = i32[t + T_FLAGS];
    const head = latin1(buf.subarray(0, bodyOffset));
    return {
      method: head.slice(i32[t + T_METHOD_START], i32[t + T_METHOD_END]),
      target: head.slice(i32[t + T_TARGET_START], i32[t + T_TARGET_END]),
      version: i32[t + T_VERSION],
      headers: this.headers(head, table),
      bodyOffset,
      framing: framingOf(i32, t),
      keepAlive: (flags & F_KEEP_ALIVE) !== 0,
      expectContinue: (flags & F_EXPECT_CONTINUE) !== 0,
    };
  }

  /** encodeChunk()'s bytes as pieces written in order; data of PIECES_MIN bytes or more is
   *  not copied: its view goes between the size line and the CRLF (RFC 9112 7.1). */
  encodeChunkPieces(data: Uint8Array): Uint8Array[] {
    if (data.length < PIECES_MIN) return [this.encodeChunk(data)];
    return [sizeLine(data.length), data, CRLF];
  }

  encodeChunk(data: Uint8Array): Uint8Array {
    const wasm = this.heap.wasm;
    const size = check(wasm.http_chunk_size(data.length), "encodeChunk");
    const out = this.output.ensure(size);
    // The data goes straight to where it belongs in the chunk; the module frames it in place.
    const at = data.length === 0 ? out : out + size - data.length - 2;
    this.heap.u8().set(data, at);
    const n = check(wasm.http_encode_chunk(out, size, at, data.length), "encodeChunk");
    return this.heap.copyOut(out, n);
  }
}

const CRLF = new Uint8Array([13, 10]);

/** A chunk's size line: its length in hex, then CRLF. */
function sizeLine(n: number): Uint8Array {
  const hex = n.toString(16);
  const out = new Uint8Array(hex.length + 2);
  for (let i = 0; i < hex.length; i++) out[i] = hex.charCodeAt(i);
  out[hex.length] = 13;
  out[hex.length + 1] = 10;
  return out;
}
