// Header name -> CGI meta-variable name (RFC 3875 4.1.18): "HTTP_" + the field name upper-cased
// with "-" replaced by "_". Comparisons work on the original bytes through cgiByte(), so no
// derived name is ever built in scratch memory.

import { skipNoLineBreakOrNul } from "../util/scan";
import { isTchar } from "../util/tables";

export const HTTP_PREFIX_LEN: u32 = 5; // "HTTP_"

/** The byte a header-name byte becomes in the CGI name. */
// @ts-ignore: decorator
@inline export function cgiByte(b: u32): u32 {
  if (b == 0x2d) return 0x5f; // "-" -> "_"
  return b - 0x61 < 26 ? b & 0xdf : b; // a-z -> A-Z
}

/** True when both header names map to the same CGI name ("X-Foo", "x-foo" and, when
 *  underscores are allowed, "X_Foo" all become HTTP_X_FOO). */
export function sameCgiName(a: usize, an: u32, b: usize, bn: u32): bool {
  if (an != bn) return false;
  for (let i: u32 = 0; i < an; i++) {
    if (cgiByte(load<u8>(a + i)) != cgiByte(load<u8>(b + i))) return false;
  }
  return true;
}

/** True when the header name maps to "HTTP_" + `lit` (an upper-case ASCII literal). */
export function cgiNameIs(p: usize, n: u32, lit: string): bool {
  if (n != <u32>lit.length) return false;
  for (let i: u32 = 0; i < n; i++) {
    if (cgiByte(load<u8>(p + i)) != <u32>lit.charCodeAt(i)) return false;
  }
  return true;
}

/** True when the header name maps exactly to the owned parameter name at `o`. */
export function derivesTo(p: usize, n: u32, o: usize, on: u32): bool {
  if (on != n + HTTP_PREFIX_LEN) return false;
  if (load<u32>(o) != 0x50545448 || load<u8>(o + 4) != 0x5f) return false; // "HTTP" "_"
  for (let i: u32 = 0; i < n; i++) {
    if (cgiByte(load<u8>(p + i)) != <u32>load<u8>(o + HTTP_PREFIX_LEN + i)) return false;
  }
  return true;
}

/** Writes "HTTP_" + the mapped name at `q`. */
export function putCgiName(q: usize, p: usize, n: u32): void {
  store<u32>(q, 0x50545448); // "HTTP" in memory order
  store<u8>(q + 4, 0x5f);
  for (let i: u32 = 0; i < n; i++) store<u8>(q + HTTP_PREFIX_LEN + i, <u8>cgiByte(load<u8>(p + i)));
}

/** RFC 9110 5.1: a field name is a token (1*tchar). */
export function isToken(p: usize, n: u32): bool {
  if (n == 0) return false;
  for (let i: u32 = 0; i < n; i++) if (!isTchar(load<u8>(p + i))) return false;
  return true;
}

export function hasUnderscore(p: usize, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) if (load<u8>(p + i) == 0x5f) return true;
  return false;
}

/** CR, LF or NUL: the bytes that let a value end a line or a C string early and so smuggle a
 *  second header or parameter (Apache CVE-2023-25690; SCGI uses NUL as its delimiter). */
export function hasLineBreakOrNul(p: usize, n: u32): bool {
  for (let i = skipNoLineBreakOrNul(p, 0, n); i < n; i++) {
    const b = load<u8>(p + i);
    if (b == 0x0d || b == 0x0a || b == 0) return true;
  }
  return false;
}
