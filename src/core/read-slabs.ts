// Memory for what origins send, used again, on every host. Left to itself a host gives every
// read of an origin's socket memory of its own: a 4 MiB response is some 70 buffers of up to
// 64 KiB. On Node the ones waiting in a slow client's write queue lived long enough that only
// a full collection freed them (after a minute idle, V8's memory reducer made those run ten
// times a second); in workerd making each buffer cost a third of a 4 MiB page's CPU. Instead a
// read goes into a slab, and a slab is used again only when its reader has settled it (said
// which pieces of it went on as they are) and each of those pieces was given back by the one
// writer that took it. Otherwise it is left to the collector like any buffer.

/** Slab size: the most one read brings. */
export const SLAB_BYTES = 64 * 1024;
/** Free slabs kept for reuse (16 MiB); more go to the collector. */
const KEEP = 256;

class Slab {
  /** The pieces of this slab handed on and not given back yet. */
  readonly lent = new Set<Uint8Array>();
  /** Views its reader will settle that went on as a part of themselves (narrowed()). */
  narrowed: Map<Uint8Array, Uint8Array> | null = null;
  /** Its reader is done with it (settle): only then can the last give-back free it. */
  settled = false;
  constructor(readonly memory: ArrayBufferLike) {}
}

const free: ArrayBufferLike[] = [];
const slabs = new WeakMap<ArrayBufferLike, Slab>();

/** SLAB_BYTES of memory to read into: a free slab's, or new. Pass the view that holds the read
 *  to lend(): memory that is not lent is never used again. */
export function slabMemory(): Uint8Array {
  const m = free.pop();
  return m ? new Uint8Array(m) : new Uint8Array(SLAB_BYTES);
}

/** Memory from slabMemory() that was never lent (a socket closed before reading into it): free
 *  again at once. */
export function unused(memory: Uint8Array): void {
  keep(memory.buffer);
}

/** `read`, a view of slabMemory() now holding what a read brought, goes to its reader. Its
 *  memory (the view's buffer: a BYOB read hands the bytes back in a buffer of its own) comes
 *  back through settle and giveBack. */
export function lend(read: Uint8Array): Uint8Array {
  slabs.set(read.buffer, new Slab(read.buffer));
  return read;
}

/** The reader of `chunk` (lent) is done with it, but for `views`: the pieces of it it handed
 *  on (others of the same memory are ignored). Anything else keeps no view of it. */
export function settle(chunk: Uint8Array, views: Iterable<Uint8Array>): void {
  const slab = slabs.get(chunk.buffer);
  if (!slab || slab.settled) return;
  // An empty view holds no bytes (the empty STDOUT record that ends a FastCGI stream).
  for (const view of views) {
    const v = slab.narrowed?.get(view) ?? view;
    if (v.buffer === chunk.buffer && v.byteLength > 0) slab.lent.add(v);
  }
  slab.narrowed = null;
  slab.settled = true;
  if (slab.lent.size === 0) recycle(slab);
}

/** Before its reader settles them: `view`, one of the views it will settle, went on only as
 *  `piece`, the part of it from some offset to its end (an empty one: nothing of it went on).
 *  The rest was read and is not kept (a FastCGI record that holds the CGI head and the first
 *  bytes of the body), so giving back `piece` is giving back all of it that is out. */
export function narrowed(view: Uint8Array, piece: Uint8Array): void {
  const slab = slabs.get(view.buffer);
  if (!slab || slab.settled || piece.buffer !== view.buffer) return;
  (slab.narrowed ??= new Map()).set(view, piece);
}

/** A writer that alone held `pieces` is done with them and keeps none (written, or copied by
 *  the write): their memory may be used again. A piece not handed on as it is (a part of one,
 *  a copy) frees nothing. */
export function giveBack(pieces: readonly Uint8Array[]): void {
  for (const p of pieces) {
    const slab = slabs.get(p.buffer);
    if (slab && slab.settled && slab.lent.delete(p) && slab.lent.size === 0) recycle(slab);
  }
}

function recycle(slab: Slab): void {
  // Forgotten at once, so a late settle or give-back of its old pieces cannot free it twice.
  slabs.delete(slab.memory);
  keep(slab.memory);
}

function keep(memory: ArrayBufferLike): void {
  if (free.length < KEEP) free.push(memory);
}
