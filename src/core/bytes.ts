// Joining and copying byte arrays: one copy per part; a single part is returned as it is.

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  return fill(new Uint8Array(total(parts)), parts);
}

/** Pieces together this small are written joined: one plain write is cheaper than a writev. */
const JOIN_MAX = 16 * 1024;

/** `parts` to write: joined into one buffer when they are small together, else as they are,
 *  with no copy. */
export function joinSmall(parts: readonly Uint8Array[]): Uint8Array | readonly Uint8Array[] {
  return total(parts) <= JOIN_MAX ? concatBytes(parts) : parts;
}

/** Joins parts in memory used again from one call to the next (a single part is returned as
 *  it is): for a writer whose sink copies what it is given before the next join (workerd's
 *  stream write()). A result is valid only until the next call. */
export class Joiner {
  private buf: Uint8Array | undefined;

  /** `size`: the memory's first size (grown when a join needs more). */
  constructor(private readonly size: number) {}

  join(parts: readonly Uint8Array[]): Uint8Array {
    if (parts.length === 1) return parts[0];
    const n = total(parts);
    if (!this.buf || this.buf.byteLength < n) this.buf = new Uint8Array(Math.max(n, this.size));
    return fill(this.buf.subarray(0, n), parts);
  }
}

function total(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}

function fill(out: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/** Copies up to this size share blocks of SHARED_BLOCK bytes; a block lives while any copy in
 *  it does, so the cap keeps what one long-kept copy can hold small. */
export const SHARED_MAX = 8192;
const SHARED_BLOCK = 65536;
let block = new ArrayBuffer(0);
let blockUsed = 0;

/** A copy of `src` that the caller owns. A small one is a view into a block it shares with
 *  other copies: a fresh ArrayBuffer costs several times the copy (the engine gets its memory
 *  from the C allocator, registers it and later sweeps it), and a small request makes several
 *  (its encoded records, each short read of a socket). Its bytes are never written again;
 *  only its `.buffer` is shared, so copy it before transferring that buffer. */
export function ownCopy(src: Uint8Array): Uint8Array {
  const len = src.byteLength;
  if (len > SHARED_MAX) return src.slice();
  const out = sharedBytes(len);
  out.set(src);
  return out;
}

/** `len` bytes (up to SHARED_MAX) for the caller to fill once, in a block shared as ownCopy's
 *  copies share it: not zeroed, never handed out again. */
export function sharedBytes(len: number): Uint8Array {
  if (blockUsed + len > block.byteLength) {
    block = new ArrayBuffer(SHARED_BLOCK);
    blockUsed = 0;
  }
  const out = new Uint8Array(block, blockUsed, len);
  // 8-aligned, so a copy can carry a view of any element type.
  blockUsed = (blockUsed + len + 7) & ~7;
  return out;
}
