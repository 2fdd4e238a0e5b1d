// Memory for what origins send, used again. Left to itself Node gives every socket read a new
// buffer of up to 64 KiB: a 4 MiB response is some 70 of them, and the ones waiting in a slow
// client's write queue live long enough that only a full collection frees them. After a minute
// idle (V8's memory reducer shrinks the heap's limits) such collections ran ten times a second
// and took half the CPU. Instead every socket reads into one shared buffer (Node's `onread`),
// and a read is copied into a slab; a slab comes back only when each piece of it that a reader
// handed on was given back by the one writer that took it, and is otherwise left to the
// collector like any buffer.

/** Slab size: the most one read brings. */
export const SLAB_BYTES = 64 * 1024;
/** A read shorter than this gets a buffer of its own: no slab is held for a few bytes. */
const SMALL = 4096;
/** Free slabs kept for reuse (16 MiB); more go to the collector. */
const KEEP = 256;

class Slab {
  /** The pieces of this slab handed on and not given back yet. */
  readonly lent = new Set<Uint8Array>();
  /** Its reader is done with it (settle): only then can the last give-back free it. */
  settled = false;
  constructor(readonly bytes: Uint8Array) {}
}

const free: Slab[] = [];
const slabs = new WeakMap<ArrayBufferLike, Slab>();

/** The one buffer every socket reads into; each read is copied out before the next. */
export const READ_BUFFER = new Uint8Array(SLAB_BYTES);

/** The `n` bytes just read into `buf`, in memory of their own. */
export function exactCopy(buf: Uint8Array, n: number): Uint8Array {
  return buf.slice(0, n);
}

/** The `n` bytes just read into `buf`, in a slab when they are many. */
export function slabCopy(buf: Uint8Array, n: number): Uint8Array {
  if (n < SMALL) return buf.slice(0, n);
  let slab = free.pop();
  if (!slab) {
    slab = new Slab(new Uint8Array(SLAB_BYTES));
    slabs.set(slab.bytes.buffer, slab);
  }
  slab.bytes.set(n === buf.byteLength ? buf : buf.subarray(0, n));
  return slab.bytes.subarray(0, n);
}

/** The reader of `chunk` (from slabCopy) is done with it, but for `views`: the pieces of it
 *  it handed on (others of the same memory are ignored). */
export function settle(chunk: Uint8Array, views: Iterable<Uint8Array>): void {
  const slab = slabs.get(chunk.buffer);
  if (!slab || slab.settled) return;
  // An empty view holds no bytes (the empty STDOUT record that ends a FastCGI stream).
  for (const v of views) if (v.buffer === chunk.buffer && v.byteLength > 0) slab.lent.add(v);
  slab.settled = true;
  if (slab.lent.size === 0) recycle(slab);
}

/** A writer that alone held `pieces` has written them and keeps none: their memory may be
 *  used again. A piece not handed on as it is (a part of one, a copy) frees nothing. */
export function giveBack(pieces: readonly Uint8Array[]): void {
  for (const p of pieces) {
    const slab = slabs.get(p.buffer);
    if (slab && slab.settled && slab.lent.delete(p) && slab.lent.size === 0) recycle(slab);
  }
}

function recycle(slab: Slab): void {
  slab.settled = false;
  if (free.length < KEEP) free.push(slab);
}
