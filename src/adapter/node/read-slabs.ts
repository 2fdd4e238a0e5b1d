// Node's side of reusing read memory (core/read-slabs.ts): each origin socket reads straight
// into a slab (Node's `onread` with a buffer function), so a large read is handed on where it
// arrived instead of being copied out of a buffer every socket shares; a short read is copied
// out (ownCopy: into a block shared with other short copies) and its slab read into again.

import { ownCopy, SHARED_MAX, sharedBytes } from "../../core/bytes.js";
import { lend, slabMemory, unused } from "../../core/read-slabs.js";

/** A read shorter than this is copied into memory of its own: no slab is held for a few bytes. */
const SMALL = 4096;

/** One socket's read memory: the slab its next read goes into. */
export class ReadMemory {
  private armed: Uint8Array | null = null;

  /** Where the next read goes (Node asks before every read: onread.buffer). */
  readonly next = (): Uint8Array => (this.armed ??= slabMemory());

  /** The `n` bytes a read just brought into `buf`. For a reader that settles what it reads
   *  (`lends`), a big read is lent as it is and the next read gets another slab; anything else
   *  is copied out, and the slab is read into again. */
  take(buf: Uint8Array, n: number, lends: boolean): Uint8Array {
    if (!lends || n < SMALL || buf !== this.armed) return ownCopy(buf.subarray(0, n));
    this.armed = null;
    return lend(buf.subarray(0, n));
  }

  /** The socket is closed: the slab no read reached goes back. */
  release(): void {
    if (this.armed) unused(this.armed);
    this.armed = null;
  }
}

/** `len` bytes to fill once, not zeroed: up to SHARED_MAX from the blocks small copies share
 *  (core/bytes.ts; Node's own pool stops at 4 KiB, and past it each buffer is the C
 *  allocator's, registered with the engine and swept later), else a buffer of their own. */
export function bytesToFill(len: number): Buffer {
  if (len > SHARED_MAX) return Buffer.allocUnsafe(len);
  const b = sharedBytes(len);
  return Buffer.from(b.buffer, b.byteOffset, len);
}
