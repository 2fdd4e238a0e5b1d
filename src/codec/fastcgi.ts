// FastCGI encoders and the name-value pair decoder, over the Wasm exports. Each call copies its
// input into the input scratch, lets the module frame it into the output scratch, and returns
// a fresh copy the caller owns.

import { FCGI_GET_VALUES, FCGI_GET_VALUES_RESULT, FCGI_HEADER_LEN, FCGI_MAX_CONTENT, FCGI_PARAMS, FCGI_VERSION_1 } from "../../wasm/abi/fastcgi.js";
import { PAIR_NAME_END, PAIR_NAME_START, PAIR_SIZE, PAIR_VALUE_END, PAIR_VALUE_START } from "../../wasm/abi/layout.js";
import { check } from "./errors.js";
import { PIECES_MIN, type Scratch, type WasmHeap } from "./memory.js";
import { text, writeLists } from "./text.js";

/** Zero bytes that pad a record's content to a multiple of 8, by length. */
const PADDING = Array.from({ length: 8 }, (_, n) => new Uint8Array(n));

export class FastcgiCodec {
  constructor(
    private readonly heap: WasmHeap,
    private readonly input: Scratch,
    private readonly output: Scratch,
  ) {}

  private get wasm() {
    return this.heap.wasm;
  }

  private fixed(size: number, context: string, write: (out: number) => number): Uint8Array {
    const out = this.output.ensure(size);
    const n = check(write(out), context);
    return this.heap.copyOut(out, n);
  }

  beginRequest(requestId: number, role: number, flags: number): Uint8Array {
    return this.fixed(16, "fcgiBeginRequest", (out) => this.wasm.fcgi_begin_request(out, 16, requestId, role, flags));
  }

  abortRequest(requestId: number): Uint8Array {
    return this.fixed(8, "fcgiAbortRequest", (out) => this.wasm.fcgi_abort_request(out, 8, requestId));
  }

  endRequest(requestId: number, appStatus: number, protocolStatus: number): Uint8Array {
    return this.fixed(16, "fcgiEndRequest", (out) =>
      this.wasm.fcgi_end_request(out, 16, requestId, appStatus >>> 0, protocolStatus),
    );
  }

  unknownType(type: number): Uint8Array {
    return this.fixed(16, "fcgiUnknownType", (out) => this.wasm.fcgi_unknown_type(out, 16, type));
  }

  /** Copies `data` into the input scratch; returns its address there. */
  private load(data: Uint8Array): number {
    const ptr = this.input.ensure(data.length);
    this.heap.u8().set(data, ptr);
    return ptr;
  }

  stream(type: number, requestId: number, data: Uint8Array): Uint8Array {
    const inPtr = this.load(data);
    const size = this.wasm.fcgi_stream_size(data.length);
    const out = this.output.ensure(size);
    const n = check(this.wasm.fcgi_stream(out, size, type, requestId, inPtr, data.length), "fcgiStream");
    return this.heap.copyOut(out, n);
  }

  /** stream()'s bytes as pieces written in order. Data of PIECES_MIN bytes or more is not
   *  copied (into Wasm memory and out again, an upload's largest cost): its own views go
   *  between record headers and padding made here (spec 3.3), split where stream() splits it,
   *  so the bytes on the wire are the same. The views hold `data`'s memory until written. */
  streamPieces(type: number, requestId: number, data: Uint8Array): Uint8Array[] {
    const len = data.length;
    if (len < PIECES_MIN) return [this.stream(type, requestId, data)];
    const out: Uint8Array[] = [];
    for (let at = 0; at < len; at += FCGI_MAX_CONTENT) {
      const n = Math.min(FCGI_MAX_CONTENT, len - at);
      const pad = (8 - (n & 7)) & 7;
      const head = new Uint8Array(FCGI_HEADER_LEN);
      head[0] = FCGI_VERSION_1;
      head[1] = type;
      head[2] = requestId >> 8;
      head[3] = requestId & 0xff;
      head[4] = n >> 8;
      head[5] = n & 0xff;
      head[6] = pad;
      out.push(head, data.subarray(at, at + n));
      if (pad > 0) out.push(PADDING[pad]);
    }
    return out;
  }

  params(requestId: number, encodedPairs: Uint8Array): Uint8Array {
    const len = encodedPairs.length;
    const inPtr = this.load(encodedPairs);
    const body = len > 0 ? this.wasm.fcgi_stream_size(len) : 0;
    const size = body + 8;
    const out = this.output.ensure(size);
    if (len > 0) check(this.wasm.fcgi_stream(out, body, FCGI_PARAMS, requestId, inPtr, len), "fcgiParams");
    check(this.wasm.fcgi_stream(out + body, 8, FCGI_PARAMS, requestId, inPtr, 0), "fcgiParams");
    return this.heap.copyOut(out, size);
  }

  private values(type: number, pairs: Array<[string, string]>, context: string): Uint8Array {
    const { ptr, lengths } = writeLists(this.heap, this.input, [{ pairs, enc: "utf8" }]);
    const size = check(this.wasm.fcgi_values_size(ptr, lengths[0]), context);
    const out = this.output.ensure(size);
    const n = check(this.wasm.fcgi_values(out, size, type, ptr, lengths[0]), context);
    return this.heap.copyOut(out, n);
  }

  getValues(names: string[]): Uint8Array {
    return this.values(FCGI_GET_VALUES, names.map((n): [string, string] => [n, ""]), "fcgiGetValues");
  }

  getValuesResult(pairs: Array<[string, string]>): Uint8Array {
    return this.values(FCGI_GET_VALUES_RESULT, pairs, "fcgiGetValuesResult");
  }

  /** A whole request in one call: BEGIN_REQUEST, PARAMS from pairs (UTF-8) or an encoded
   *  name-value stream, the empty PARAMS record, STDIN records of `stdin`, the empty STDIN. */
  request(requestId: number, role: number, flags: number, params: Array<[string, string]> | Uint8Array, stdin: Uint8Array): Uint8Array {
    const wasm = this.wasm;
    let ptr: number;
    let paramsLen: number;
    let isList: number;
    if (params instanceof Uint8Array) {
      ptr = this.input.ensure(params.length + stdin.length);
      this.heap.u8().set(params, ptr);
      paramsLen = params.length;
      isList = 0;
    } else {
      const lists = writeLists(this.heap, this.input, [{ pairs: params, enc: "utf8" }], stdin.length);
      ptr = lists.ptr;
      paramsLen = lists.lengths[0];
      isList = 1;
    }
    const stdinPtr = ptr + paramsLen;
    if (stdin.length > 0) this.heap.u8().set(stdin, stdinPtr);
    const size = check(wasm.fcgi_request_size(ptr, paramsLen, isList, stdin.length), "fcgiRequest");
    const out = this.output.ensure(size);
    const n = check(wasm.fcgi_request(out, size, requestId, role, flags, ptr, paramsLen, isList, stdinPtr, stdin.length), "fcgiRequest");
    return this.heap.copyOut(out, n);
  }

  /** Encodes pairs as a bare FastCGI name-value stream (spec 3.4), e.g. to feed fcgiParams. */
  encodePairs(pairs: Array<[string, string]>): Uint8Array {
    const { ptr, lengths } = writeLists(this.heap, this.input, [{ pairs, enc: "utf8" }]);
    const size = check(this.wasm.fcgi_pairs_size(ptr, lengths[0]), "fcgiEncodePairs");
    const out = this.output.ensure(size);
    const n = check(this.wasm.fcgi_encode_pairs(out, size, ptr, lengths[0]), "fcgiEncodePairs");
    return this.heap.copyOut(out, n);
  }

  decodePairs(encoded: Uint8Array): Array<[string, string]> {
    const inPtr = this.load(encoded);
    const cap = (encoded.length >>> 1) + 1; // a pair takes at least two bytes
    const table = this.output.ensure(cap * PAIR_SIZE);
    const count = check(this.wasm.fcgi_decode_pairs(inPtr, encoded.length, table, cap), "fcgiDecodePairs");
    const i32 = this.heap.i32();
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < count; i++) {
      const t = (table + i * PAIR_SIZE) >>> 2;
      const name = encoded.subarray(i32[t + PAIR_NAME_START / 4], i32[t + PAIR_NAME_END / 4]);
      const value = encoded.subarray(i32[t + PAIR_VALUE_START / 4], i32[t + PAIR_VALUE_END / 4]);
      pairs.push([text(name), text(value)]);
    }
    return pairs;
  }
}
