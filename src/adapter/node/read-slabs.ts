// Node's side of reusing read memory (core/read-slabs.ts): every socket reads into one shared
// buffer (Node's `onread`), and each read is copied out of it, into a slab when it is big.

import { lend, SLAB_BYTES, slabMemory } from "../../core/read-slabs.js";

/** A read shorter than this gets a buffer of its own: no slab is held for a few bytes. */
const SMALL = 4096;

/** The one buffer every socket reads into; each read is copied out before the next. */
export const READ_BUFFER = new Uint8Array(SLAB_BYTES);

/** The `n` bytes just read into `buf`, in memory of their own. */
export function exactCopy(buf: Uint8Array, n: number): Uint8Array {
  return buf.slice(0, n);
}

/** The `n` bytes just read into `buf`, in a slab when they are many. */
export function slabCopy(buf: Uint8Array, n: number): Uint8Array {
  if (n < SMALL) return buf.slice(0, n);
  const slab = slabMemory();
  slab.set(n === buf.byteLength ? buf : buf.subarray(0, n));
  return lend(slab.subarray(0, n));
}
