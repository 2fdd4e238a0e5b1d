// The CGI "Status" response field (RFC 3875 6.3.3): Status = "Status:" status-code SP
// reason-phrase. status-code is three digits; RFC 9110 15 defines 100..599, and a code
// outside that range cannot be forwarded to an HTTP client, so it is an origin error.

import { CGI_HEAD_BAD_STATUS, CGI_HEAD_STATUS_RANGE } from "../../abi/codes";

// @ts-ignore: decorator
@inline function isDigit(b: u32): bool {
  return b - 0x30 < 10;
}

// @ts-ignore: decorator
@inline export function isOws(b: u32): bool {
  return b == 0x20 || b == 0x09;
}

/** Parses the (already OWS-trimmed) value at [p, p + n). Returns the code 100..599 or a
 *  negative code; the reason phrase, if any, starts after the whitespace that follows the
 *  digits (the caller trims it). Rejects "20", "2000", "200OK", "abc". */
export function parseStatus(p: usize, n: u32): i32 {
  if (n < 3) return CGI_HEAD_BAD_STATUS;
  const d0 = <u32>load<u8>(p);
  const d1 = <u32>load<u8>(p + 1);
  const d2 = <u32>load<u8>(p + 2);
  if (!isDigit(d0) || !isDigit(d1) || !isDigit(d2)) return CGI_HEAD_BAD_STATUS;
  if (n > 3 && !isOws(load<u8>(p + 3))) return CGI_HEAD_BAD_STATUS;
  const code = <i32>((d0 - 0x30) * 100 + (d1 - 0x30) * 10 + (d2 - 0x30));
  if (code < 100 || code > 599) return CGI_HEAD_STATUS_RANGE;
  return code;
}
