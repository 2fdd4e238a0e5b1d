// Bulk byte scans for the head parsers' and the CGI parameters' hot loops. The SIMD build (ASC_FEATURE_SIMD, a
// compile-time constant, so the twin not taken is not even compiled) tests 16 bytes per step;
// the scalar build tests 8 at a time in a u64 (SWAR). Both stop at the first byte the caller
// must look at and leave the last few bytes before `end` to the caller's byte loop, so the
// result is the same in both builds and no load reads past `end`.

const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/** From `i`, skips bytes that are neither below 0x20 (CR, LF, HTAB, other CTLs) nor DEL, in
 *  whole blocks before `end`. Returns the first flagged byte's index, or where the blocks ran
 *  out (the caller goes on byte by byte from there). */
export function skipPlainValue(buf: usize, i: u32, end: u32): u32 {
  if (ASC_FEATURE_SIMD) {
    const space = i8x16.splat(0x20);
    const del = i8x16.splat(0x7f);
    while (i + 16 <= end) {
      const v = v128.load(buf + i);
      const mask = i8x16.bitmask(v128.or(i8x16.lt_u(v, space), i8x16.eq(v, del)));
      if (mask != 0) return i + ctz<u32>(mask);
      i += 16;
    }
  }
  while (i + 8 <= end) {
    const x = load<u64>(buf + i);
    const d = x ^ 0x7f7f7f7f7f7f7f7f;
    // A borrow can only flag bytes after a byte that is itself flagged, and obs-text (>= 0x80)
    // never is: the lowest flagged byte (the first in memory, little-endian) is exact.
    const flagged = (((x - 0x20 * ONES) & ~x) | ((d - ONES) & ~d)) & HIGHS;
    if (flagged != 0) return i + <u32>(ctz(flagged) >> 3);
    i += 8;
  }
  return i;
}

/** From `i`, skips VCHAR bytes (%x21-7E: no SP, CTL, DEL or byte >= 0x80) in whole 16-byte
 *  blocks before `end`; the scalar build leaves all of it to the caller's byte loop. */
export function skipVchar(buf: usize, i: u32, end: u32): u32 {
  if (ASC_FEATURE_SIMD) {
    const bang = i8x16.splat(0x21);
    const span = i8x16.splat(0x7e - 0x21);
    while (i + 16 <= end) {
      // Bytes below 0x21 wrap to >= 0xdf: one unsigned compare tests both ends of the range.
      const mask = i8x16.bitmask(i8x16.gt_u(i8x16.sub(v128.load(buf + i), bang), span));
      if (mask != 0) return i + ctz<u32>(mask);
      i += 16;
    }
  }
  return i;
}

/** From `i`, skips tchar bytes (RFC 9110 5.6.2) in whole 16-byte blocks before `end`; the
 *  scalar build leaves all of it to the caller's byte loop. */
export function skipTchar(buf: usize, i: u32, end: u32): u32 {
  if (ASC_FEATURE_SIMD) {
    // Class lookup by nibbles: bit (h - 2) of LO[low nibble] is set when the byte with high
    // nibble h (2..7) and that low nibble is a tchar; HI[h] holds that bit. swizzle answers 0
    // for indices >= 16 and HI is 0 above 7, so bytes >= 0x80 are never tchars.
    const lo = i8x16(58, 63, 62, 63, 63, 63, 63, 63, 62, 62, 61, 21, 52, 21, 61, 28);
    const hi = i8x16(0, 0, 1, 2, 4, 8, 16, 32, 0, 0, 0, 0, 0, 0, 0, 0);
    const nibble = i8x16.splat(0x0f);
    const zero = i8x16.splat(0);
    while (i + 16 <= end) {
      const v = v128.load(buf + i);
      const a = i8x16.swizzle(lo, v128.and(v, nibble));
      const b = i8x16.swizzle(hi, i8x16.shr_u(v, 4));
      const mask = i8x16.bitmask(i8x16.eq(v128.and(a, b), zero));
      if (mask != 0) return i + ctz<u32>(mask);
      i += 16;
    }
  }
  return i;
}

/** From `i`, skips bytes other than NUL, LF and CR in whole blocks before `end`. Returns the
 *  first such byte's index, or where the blocks ran out. */
export function skipNoLineBreakOrNul(buf: usize, i: u32, end: u32): u32 {
  if (ASC_FEATURE_SIMD) {
    const zero = i8x16.splat(0);
    const lf = i8x16.splat(0x0a);
    const cr = i8x16.splat(0x0d);
    while (i + 16 <= end) {
      const v = v128.load(buf + i);
      const mask = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, zero), i8x16.eq(v, lf)), i8x16.eq(v, cr)));
      if (mask != 0) return i + ctz<u32>(mask);
      i += 16;
    }
  }
  while (i + 8 <= end) {
    const x = load<u64>(buf + i);
    const l = x ^ (0x0a * ONES);
    const c = x ^ (0x0d * ONES);
    // A zero byte of x, l or c: each test is exact for the lowest byte it flags.
    const flagged = (((x - ONES) & ~x) | ((l - ONES) & ~l) | ((c - ONES) & ~c)) & HIGHS;
    if (flagged != 0) return i + <u32>(ctz(flagged) >> 3);
    i += 8;
  }
  return i;
}
