// Pointer-level helpers for the byte orders the wire formats use. FastCGI is big-endian
// (spec 3.3: "B1" is the high byte); uwsgi and our own host lists are little-endian, which is
// Wasm's native order, so those use plain load/store.

// @ts-ignore: decorator
@inline export function getU16BE(p: usize): u32 {
  return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p + 1);
}

// @ts-ignore: decorator
@inline export function getU32BE(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

// @ts-ignore: decorator
@inline export function putU16BE(p: usize, v: u32): void {
  store<u8>(p, <u8>(v >> 8));
  store<u8>(p + 1, <u8>v);
}

// @ts-ignore: decorator
@inline export function putU32BE(p: usize, v: u32): void {
  store<u32>(p, bswap<u32>(v));
}

/** ASCII lower-casing for case-insensitive field-name comparison (RFC 9110 5.1). */
// @ts-ignore: decorator
@inline export function lowerAscii(b: u32): u32 {
  return b - 0x41 < 26 ? b | 0x20 : b;
}

/** Case-insensitive equality of the bytes at `p` (length `n`) and a lower-case ASCII literal
 *  stored at `lit` (length `litLen`). */
export function equalsLowerLiteral(p: usize, n: u32, lit: usize, litLen: u32): bool {
  if (n != litLen) return false;
  for (let i: u32 = 0; i < n; i++) {
    if (lowerAscii(<u32>load<u8>(p + i)) != <u32>load<u8>(lit + i)) return false;
  }
  return true;
}

/** memory.copy for the short strings of parameter lists. V8 compiles memory.copy to a call out
 *  of the module, whatever the size; below 64 bytes, words copied here cost less (a CGI
 *  request's 40 names and values: about 3% of building it). Overlapping ranges are left to
 *  memory.copy. */
export function copyBytes(dst: usize, src: usize, n: u32): void {
  if (n >= 64 || (dst > src && dst < src + n)) {
    memory.copy(dst, src, n);
    return;
  }
  let i: u32 = 0;
  while (i + 8 <= n) {
    store<u64>(dst + i, load<u64>(src + i));
    i += 8;
  }
  while (i < n) {
    store<u8>(dst + i, load<u8>(src + i));
    i++;
  }
}
