// Content-Length (RFC 9110 8.6): 1*DIGIT, at most 2^53-1 here so every host (JavaScript
// included) holds it exactly. What a recipient may forgive depends on the side:
// - requests (SECURITY.md "Client request framing"): exactly one field with one plain number;
//   a list, a sign, hex, an empty value or a second field is an error, because a server behind
//   us might read it differently (request smuggling);
// - responses: RFC 9110 8.6 lets a recipient accept a list of identical numbers ("5, 5") and
//   repeated identical fields as one; values that differ are an error.

import { HTTP_BAD_CONTENT_LENGTH, HTTP_CONTENT_LENGTH_TOO_LARGE, HTTP_DUPLICATE_CONTENT_LENGTH } from "../../abi/codes";
import { isDigit } from "./tables";

/** 2^53-1 (Number.MAX_SAFE_INTEGER). */
export const MAX_LENGTH: u64 = 0x1fffffffffffff;

/** The value found by the last successful contentLength(). */
export let parsedLength: u64 = 0;

/** Parses the digits [p, p + n) (n > 0, all digits). Returns 0 or HTTP_CONTENT_LENGTH_TOO_LARGE. */
function number(p: usize, n: u32): i32 {
  let v: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    v = v * 10 + <u64>(load<u8>(p + i) - 0x30);
    // Leading zeros are digits like any other ("007" is 7), so the bound is on the value.
    if (v > MAX_LENGTH) return HTTP_CONTENT_LENGTH_TOO_LARGE;
  }
  parsedLength = v;
  return 0;
}

/** Parses an OWS-trimmed Content-Length value. `seen`/`previous`: an earlier Content-Length
 *  field of the same head. Returns 0 (value in parsedLength) or a code. */
export function contentLength(p: usize, n: u32, request: bool, seen: bool, previous: u64): i32 {
  if (request) {
    if (seen) return HTTP_DUPLICATE_CONTENT_LENGTH;
    if (n == 0) return HTTP_BAD_CONTENT_LENGTH;
    for (let i: u32 = 0; i < n; i++) if (!isDigit(load<u8>(p + i))) return HTTP_BAD_CONTENT_LENGTH;
    return number(p, n);
  }
  // Response: a comma list of numbers that must all be equal (and equal to an earlier field).
  // Every element is checked for shape before any is compared, so "5, x" is a bad value
  // rather than a conflict.
  let i: u32 = 0;
  while (true) {
    while (i < n && (load<u8>(p + i) == 0x20 || load<u8>(p + i) == 0x09)) i++;
    const s = i;
    while (i < n && isDigit(load<u8>(p + i))) i++;
    if (i == s) return HTTP_BAD_CONTENT_LENGTH;
    while (i < n && (load<u8>(p + i) == 0x20 || load<u8>(p + i) == 0x09)) i++;
    if (i == n) break;
    if (load<u8>(p + i) != 0x2c) return HTTP_BAD_CONTENT_LENGTH;
    i++;
  }
  let have = seen;
  let value = previous;
  i = 0;
  while (i < n) {
    while (i < n && !isDigit(load<u8>(p + i))) i++;
    const s = i;
    while (i < n && isDigit(load<u8>(p + i))) i++;
    const r = number(p + s, i - s);
    if (r < 0) return r;
    if (have && parsedLength != value) return HTTP_DUPLICATE_CONTENT_LENGTH;
    have = true;
    value = parsedLength;
  }
  parsedLength = value;
  return 0;
}
