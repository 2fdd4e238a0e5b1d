// ChunkedDecoder over the Wasm chunked decoder: copies each chunk into the input scratch in
// windows, feeds until the window is consumed or the body ends, and turns the span table into
// views of the caller's chunk.

import { CH_CONSUMED, CH_DONE, CH_SPAN_SIZE, CH_SPANS } from "../../wasm/abi/http1.js";
import { check, codecError } from "./errors.js";
import type { Scratch, WasmHeap } from "./memory.js";
import type { ChunkedDecoder, CodecError } from "./types.js";

/** Largest slice of a chunk copied into Wasm memory at once. */
const WINDOW = 64 * 1024;

export class WasmChunkedDecoder implements ChunkedDecoder {
  private state: number;
  private failure: CodecError | null = null;
  private done = false;

  constructor(
    private readonly heap: WasmHeap,
    private readonly input: Scratch,
  ) {
    this.state = check(heap.wasm.http_chunked_new(), "chunkedDecoder");
  }

  push(chunk: Uint8Array): { data: Uint8Array[]; done: boolean; consumed: number } {
    const state = this.state;
    if (state === 0) throw new Error("ChunkedDecoder: used after free()");
    if (this.failure) throw this.failure;
    const data: Uint8Array[] = [];
    if (this.done) return { data, done: true, consumed: 0 };
    let base = 0;
    while (base < chunk.length && !this.done) {
      const piece = chunk.subarray(base, base + WINDOW);
      const ptr = this.input.ensure(piece.length);
      this.heap.u8().set(piece, ptr);
      let off = 0;
      while (off < piece.length && !this.done) {
        const n = this.heap.wasm.http_chunked_feed(state, ptr + off, piece.length - off);
        if (n < 0) throw (this.failure = codecError(n, "chunked body"));
        const i32 = this.heap.i32();
        const consumed = i32[(state + CH_CONSUMED) >>> 2];
        const at = base + off;
        for (let k = 0; k < n; k++) {
          const e = (state + CH_SPANS + k * CH_SPAN_SIZE) >>> 2;
          data.push(chunk.subarray(at + i32[e], at + i32[e + 1]));
        }
        this.done = i32[(state + CH_DONE) >>> 2] === 1;
        if (consumed === 0 && !this.done) throw new Error("ChunkedDecoder: no progress (module bug)");
        off += consumed;
      }
      base += off;
    }
    return { data, done: this.done, consumed: base };
  }

  free(): void {
    if (this.state !== 0) this.heap.wasm.http_chunked_free(this.state);
    this.state = 0;
  }
}
