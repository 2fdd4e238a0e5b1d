// Strings <-> bytes at the codec boundary, and the host input list format (wasm/ABI.md
// "Input lists": entries of u32 little-endian length + bytes).
//
// Header names and values are ByteStrings in the fetch API (one char per byte, U+0000..U+00FF),
// so they are written byte-for-byte and read back as latin-1; anything else (configured and
// computed parameters, paths) is UTF-8.

import type { Scratch, WasmHeap } from "./memory.js";

export type Encoding = "utf8" | "bytestring";

const utf8Encoder = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// Not fatal, and the BOM kept: only used where the result is checked to be plain ASCII.
const utf8Lenient = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Bytes as latin-1: byte n becomes U+00nn, exactly reversible. */
export function latin1(bytes: Uint8Array): string {
  // Heads are almost always ASCII, where UTF-8 and latin-1 agree, and the host's native
  // decoder is an order of magnitude faster than fromCharCode over a typed array. A non-ASCII
  // byte either shortens the decoded string (a multi-byte sequence) or becomes U+FFFD, so
  // equal lengths and no U+FFFD mean every byte was ASCII.
  if (bytes.length >= 32) {
    const s = utf8Lenient.decode(bytes);
    if (s.length === bytes.length && s.indexOf("\ufffd") < 0) return s;
  }
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  }
  return s;
}

/** UTF-8 when the bytes are valid UTF-8, else latin-1 (header-derived parameters carry raw
 *  header bytes, which need not be UTF-8). */
export function text(bytes: Uint8Array): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return latin1(bytes);
  }
}

/** Writes `s` at `p` (room for 3 bytes per UTF-16 unit); returns the bytes written. */
function put(u8: Uint8Array, p: number, s: string, enc: Encoding): number {
  // Chars below 0x80 are the same byte in UTF-8 and as a ByteString, and below 0x100 the same
  // byte as a ByteString: a plain loop writes those faster than a call into the host's encoder
  // (most parameters and header values are ASCII).
  const max = enc === "bytestring" ? 0xff : 0x7f;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > max) break;
    u8[p + i] = c;
  }
  if (i === s.length) return i;
  // Not a ByteString after all (a caller built it by hand): UTF-8 keeps every char, all of
  // them UTF-8 as before.
  if (enc === "bytestring") return utf8Encoder.encodeInto(s, u8.subarray(p, p + 3 * s.length)).written;
  // Not ASCII: the ASCII prefix is already written as UTF-8 would write it.
  return i + utf8Encoder.encodeInto(s.slice(i), u8.subarray(p + i, p + 3 * s.length)).written;
}

/** Writes one input list per group into `scratch`, back to back, each pair as its name then
 *  its value; returns where they start and each list's byte length. `extra` bytes stay free
 *  after the lists for the caller. */
export function writeLists(
  heap: WasmHeap,
  scratch: Scratch,
  groups: ReadonlyArray<{ pairs: ReadonlyArray<readonly [string, string]>; enc: Encoding }>,
  extra = 0,
): { ptr: number; lengths: number[] } {
  let bound = 0;
  for (let g = 0; g < groups.length; g++) {
    const pairs = groups[g].pairs;
    for (let i = 0; i < pairs.length; i++) bound += 8 + 3 * (pairs[i][0].length + pairs[i][1].length);
  }
  const ptr = scratch.ensure(bound + extra);
  const u8 = heap.u8();
  return asciiLists(u8, ptr, bound, groups) ?? charLists(u8, ptr, groups);
}

/** Room for a length, filled in once the bytes are in place. */
const HOLE = "\0\0\0\0";

/** When every string is ASCII (most lists are): all of them in one encodeInto, each after room
 *  for its length, then the lengths written in. One call into the host's encoder for the whole
 *  list costs less than a char loop over it. */
function asciiLists(u8: Uint8Array, ptr: number, bound: number, groups: ReadonlyArray<{ pairs: ReadonlyArray<readonly [string, string]> }>): { ptr: number; lengths: number[] } | null {
  // Joined, not added up: one flat string, where `+=` made a tree of a node per piece that
  // the encoder had to flatten again.
  const parts: string[] = [""];
  for (let g = 0; g < groups.length; g++) {
    const pairs = groups[g].pairs;
    for (let i = 0; i < pairs.length; i++) parts.push(pairs[i][0], pairs[i][1]);
  }
  const all = parts.join(HOLE);
  // One byte per UTF-16 unit means every char was below 0x80, where UTF-8 and ByteString
  // bytes agree.
  if (utf8Encoder.encodeInto(all, u8.subarray(ptr, ptr + bound)).written !== all.length) return null;
  const lengths: number[] = [];
  let p = ptr;
  for (let g = 0; g < groups.length; g++) {
    const pairs = groups[g].pairs;
    const start = p;
    for (let i = 0; i < pairs.length; i++) {
      p = putLength(u8, p, pairs[i][0].length);
      p = putLength(u8, p, pairs[i][1].length);
    }
    lengths.push(p - start);
  }
  return { ptr, lengths };
}

/** Any list, char by char (ASCII and ByteString chars) or through the encoder (the rest). */
function charLists(u8: Uint8Array, ptr: number, groups: ReadonlyArray<{ pairs: ReadonlyArray<readonly [string, string]>; enc: Encoding }>): { ptr: number; lengths: number[] } {
  const lengths: number[] = [];
  let p = ptr;
  for (let g = 0; g < groups.length; g++) {
    const { pairs, enc } = groups[g];
    const start = p;
    for (let i = 0; i < pairs.length; i++) {
      p = putLength(u8, p, put(u8, p + 4, pairs[i][0], enc));
      p = putLength(u8, p, put(u8, p + 4, pairs[i][1], enc));
    }
    lengths.push(p - start);
  }
  return { ptr, lengths };
}

/** The length `n` (u32 little-endian, byte by byte: cheaper than a DataView made per call)
 *  before the `n` bytes at `p + 4`; returns where the next entry goes. */
function putLength(u8: Uint8Array, p: number, n: number): number {
  u8[p] = n & 0xff;
  u8[p + 1] = (n >>> 8) & 0xff;
  u8[p + 2] = (n >>> 16) & 0xff;
  u8[p + 3] = n >>> 24;
  return p + 4 + n;
}
