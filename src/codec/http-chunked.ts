// ChunkedDecoder over the Wasm chunked decoder. Only framing crosses into Wasm memory: the
// decoder copies a small window of the chunk, lets the module scan sizes, extensions and small
// chunks there, and when the module stops at the start of a large run of chunk data it hands
// that run back as a view of the caller's chunk and tells the module how much it passed over.
// Payload is never copied, so a body of large chunks costs a few calls per chunk.

import {
  CH_CONSUMED, CH_DATA_LEFT_HI, CH_DATA_LEFT_LO, CH_DIRECT_MIN, CH_DONE, CH_SPAN_SIZE, CH_SPANS,
} from "../../wasm/abi/http1.js";
import { check, codecError } from "./errors.js";
import { CopyWindow, type Scratch, type WasmHeap } from "./memory.js";
import type { ChunkedDecoder, CodecError } from "./types.js";

/** Bytes copied into Wasm memory per scan: small after large chunk data (only the next size
 *  line is needed), growing while chunks are small (many fit one scan). */
const WINDOW_MIN = 64;
const WINDOW_MAX = 16384;
// Read once: under some loaders imported constants are getters (wasm/abi is append-only).
const CONSUMED = CH_CONSUMED >>> 2;
const DONE = CH_DONE >>> 2;
const LEFT_LO = CH_DATA_LEFT_LO >>> 2;
const LEFT_HI = CH_DATA_LEFT_HI >>> 2;
const SPANS = CH_SPANS >>> 2;
const SPAN = CH_SPAN_SIZE >>> 2;
const DIRECT_MIN = CH_DIRECT_MIN;

export class WasmChunkedDecoder implements ChunkedDecoder {
  private state: number;
  private failure: CodecError | null = null;
  private done = false;
  /** Chunk data the module has announced and the host has not passed over yet. */
  private left = 0;
  private readonly window: CopyWindow;

  constructor(
    private readonly heap: WasmHeap,
    input: Scratch,
  ) {
    this.state = check(heap.wasm.http_chunked_new(), "chunkedDecoder");
    this.window = new CopyWindow(heap, input, WINDOW_MIN, WINDOW_MAX);
  }

  push(chunk: Uint8Array): { data: Uint8Array[]; done: boolean; consumed: number } {
    const state = this.state;
    if (state === 0) throw new Error("ChunkedDecoder: used after free()");
    if (this.failure) throw this.failure;
    const data: Uint8Array[] = [];
    if (this.done) return { data, done: true, consumed: 0 };
    const wasm = this.heap.wasm;
    const { buffer, byteOffset } = chunk;
    const len = chunk.length;
    let pos = 0;
    while (pos < len && !this.done) {
      if (this.left > 0) {
        const take = Math.min(this.left, len - pos);
        data.push(new Uint8Array(buffer, byteOffset + pos, take));
        const r = wasm.http_chunked_skip(state, take);
        if (r < 0) throw (this.failure = codecError(r, "chunked body"));
        this.left -= take;
        pos += take;
        continue;
      }
      const size = this.window.load(chunk, pos);
      const ptr = this.window.ptr;
      let off = 0;
      while (off < size) {
        const n = wasm.http_chunked_scan(state, ptr + off, size - off);
        if (n < 0) throw (this.failure = codecError(n, "chunked body"));
        const i32 = this.heap.i32();
        const s = state >>> 2;
        const consumed = i32[s + CONSUMED];
        const at = byteOffset + pos + off;
        for (let k = 0, e = s + SPANS; k < n; k++, e += SPAN) {
          data.push(new Uint8Array(buffer, at + i32[e], i32[e + 1] - i32[e]));
        }
        off += consumed;
        this.done = i32[s + DONE] === 1;
        this.left = (i32[s + LEFT_LO] >>> 0) + (i32[s + LEFT_HI] >>> 0) * 2 ** 32;
        if (this.done) break;
        if (this.left >= DIRECT_MIN) {
          // Large chunk data follows: taken from the caller's chunk above, and only the next
          // size line needs copying after it.
          this.window.reset();
          break;
        }
        if (n === 0 && consumed === 0) throw new Error("ChunkedDecoder: no progress (module bug)");
      }
      if (off >= size) this.window.grow();
      pos += off;
    }
    return { data, done: this.done, consumed: pos };
  }

  get dataLeft(): number {
    return this.left;
  }

  free(): void {
    if (this.state !== 0) this.heap.wasm.http_chunked_free(this.state);
    this.state = 0;
  }
}
