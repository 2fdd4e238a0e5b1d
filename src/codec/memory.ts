// Views over Wasm memory and the codec's reusable scratch buffers. Memory can grow during any
// alloc (TLSF asks memory.grow), which detaches the old ArrayBuffer, so views are re-created
// whenever the buffer changed instead of being cached forever.

import { ownCopy } from "../core/bytes.js";
import type { WasmExports } from "./exports.js";

export class WasmHeap {
  private u8View: Uint8Array;
  private i32View: Int32Array;

  constructor(readonly wasm: WasmExports) {
    this.u8View = new Uint8Array(wasm.memory.buffer);
    this.i32View = new Int32Array(wasm.memory.buffer);
  }

  // Growth detaches the old buffer, and a view of a detached buffer has length 0 (the memory
  // itself never has): checking the length is much cheaper than reading memory.buffer.
  u8(): Uint8Array {
    if (this.u8View.length === 0) this.u8View = new Uint8Array(this.wasm.memory.buffer);
    return this.u8View;
  }

  i32(): Int32Array {
    if (this.i32View.length === 0) this.i32View = new Int32Array(this.wasm.memory.buffer);
    return this.i32View;
  }

  /** The i32 at byte address `ptr` (4-aligned). */
  readI32(ptr: number): number {
    return this.i32()[ptr >>> 2];
  }

  /** A copy of [ptr, ptr + len) that the caller owns (ownCopy: a small one shares its
   *  `.buffer`, see types.ts). */
  copyOut(ptr: number, len: number): Uint8Array {
    return ownCopy(this.u8().subarray(ptr, ptr + len));
  }
}

/** Data this long or longer is framed around by the encoders' *Pieces forms, not copied into
 *  Wasm memory and out: below it one buffer written is cheaper than a list of pieces. */
export const PIECES_MIN = 4096;

/** One reusable buffer in Wasm memory that grows (never shrinks below its first size) when a
 *  call needs more. Returned pointers are valid until the next ensure() on the same scratch. */
export class Scratch {
  private ptr = 0;
  private cap = 0;

  constructor(
    private readonly heap: WasmHeap,
    private readonly initial: number,
  ) {}

  ensure(size: number): number {
    if (size > this.cap) {
      if (this.ptr !== 0) this.heap.wasm.free(this.ptr);
      this.cap = Math.max(size, this.initial, this.cap * 2);
      this.ptr = this.heap.wasm.alloc(this.cap);
    }
    return this.ptr;
  }
}

/** How a decoder copies the caller's chunk into Wasm memory for a scan: a window that starts
 *  small (a record header or a size line may be all that is wanted before content the decoder
 *  hands back as a view of the chunk), grows 4x each time small records fill it, up to `max`,
 *  and starts small again after direct content. */
export class CopyWindow {
  /** Where the last load() put its bytes. */
  ptr = 0;
  private size: number;

  constructor(
    private readonly heap: WasmHeap,
    private readonly input: Scratch,
    private readonly min: number,
    private readonly max: number,
  ) {
    this.size = min;
  }

  /** Copies the next window of `chunk` from `pos` to `ptr`; returns its length. */
  load(chunk: Uint8Array, pos: number): number {
    const size = Math.min(chunk.length - pos, this.size);
    this.ptr = this.input.ensure(size);
    this.heap.u8().set(chunk.subarray(pos, pos + size), this.ptr);
    return size;
  }

  /** Small records filled the window: copy more at once next time. */
  grow(): void {
    this.size = Math.min(this.size * 4, this.max);
  }

  /** Direct content follows: only its end needs copying after it. */
  reset(): void {
    this.size = this.min;
  }
}
