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

/** Bytes as latin-1: byte n becomes U+00nn, exactly reversible. */
export function latin1(bytes: Uint8Array): string {
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
  if (enc === "bytestring") {
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0xff) break;
      u8[p + i] = c;
    }
    if (i === s.length) return i;
    // Not a ByteString after all (a caller built it by hand): UTF-8 keeps every char.
  }
  return utf8Encoder.encodeInto(s, u8.subarray(p, p + 3 * s.length)).written;
}

/** Writes one input list per group into `scratch`, back to back; returns where they start
 *  and each list's byte length. */
export function writeLists(
  heap: WasmHeap,
  scratch: Scratch,
  groups: Array<{ strings: string[]; enc: Encoding }>,
): { ptr: number; lengths: number[] } {
  let bound = 0;
  for (const g of groups) for (const s of g.strings) bound += 4 + 3 * s.length;
  const ptr = scratch.ensure(bound);
  const u8 = heap.u8();
  const dv = new DataView(u8.buffer);
  const lengths: number[] = [];
  let p = ptr;
  for (const g of groups) {
    const start = p;
    for (const s of g.strings) {
      const n = put(u8, p + 4, s, g.enc);
      dv.setUint32(p, n, true);
      p += 4 + n;
    }
    lengths.push(p - start);
  }
  return { ptr, lengths };
}

/** Flattens pairs to [name, value, name, value, ...]. */
export function flatten(pairs: Array<[string, string]>): string[] {
  const out: string[] = [];
  for (const [n, v] of pairs) out.push(n, v);
  return out;
}
