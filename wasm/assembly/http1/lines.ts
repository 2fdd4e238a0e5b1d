// Line scanning shared by the request and response head parsers (RFC 9112 2.2). A head is
// parsed from its first byte on every call (the host calls again with a longer buffer), so the
// scanner keeps no state between calls: it finds where one line ends or says why it cannot.

import { HTTP_BAD_VERSION, HTTP_BARE_CR, HTTP_BARE_LF, HTTP_HEAD_TOO_LARGE, HTTP_VERSION_UNSUPPORTED } from "../../abi/codes";

const CR: u32 = 0x0d;
const LF: u32 = 0x0a;

/** Index of the CR (or bare LF) that ended the line found by the last findLine(). */
export let lineEnd: u32 = 0;
/** Index of the first byte after that line's terminator. */
export let lineNext: u32 = 0;

/** Finds the end of the line starting at `pos` in [buf, buf + len). Returns 1 when a line was
 *  found (lineEnd, lineNext set), 0 when more bytes are needed, or a code. Nothing at or past
 *  byte `limit` can belong to the head: reaching it is HTTP_HEAD_TOO_LARGE even while the
 *  buffer is still short. `bareLf` allows LF alone as a terminator (RFC 9112 2.2 "MAY"). */
export function findLine(buf: usize, pos: u32, len: u32, limit: u32, bareLf: bool): i32 {
  let i = pos;
  while (true) {
    if (i >= limit) return HTTP_HEAD_TOO_LARGE;
    if (i >= len) return 0;
    const b = <u32>load<u8>(buf + i);
    if (b == LF) {
      // Parsers disagree on a lone LF; a request reaches servers behind us that may not treat
      // it as a line end, so requests need CRLF (llhttp, since CVE-2021-22959's family).
      if (!bareLf) return HTTP_BARE_LF;
      lineEnd = i;
      lineNext = i + 1;
      return 1;
    }
    if (b == CR) {
      if (i + 1 >= limit) return HTTP_HEAD_TOO_LARGE;
      if (i + 1 >= len) return 0;
      // RFC 9112 2.2: a bare CR must be rejected (or replaced); it ends a line for some
      // parsers and not for others, the classic header-smuggling shape.
      if (<u32>load<u8>(buf + i + 1) != LF) return HTTP_BARE_CR;
      lineEnd = i;
      lineNext = i + 2;
      return 1;
    }
    i++;
  }
}

/** RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive, exactly 8 bytes.
 *  Returns 10 or 11, HTTP_VERSION_UNSUPPORTED for another well-formed version, or
 *  HTTP_BAD_VERSION. */
export function parseVersion(p: usize, n: u32): i32 {
  // "HTTP" as a little-endian u32 is 0x50545448.
  if (n != 8 || load<u32>(p) != 0x50545448 || load<u8>(p + 4) != 0x2f || load<u8>(p + 6) != 0x2e) return HTTP_BAD_VERSION;
  const major = <u32>load<u8>(p + 5) - 0x30;
  const minor = <u32>load<u8>(p + 7) - 0x30;
  if (major > 9 || minor > 9) return HTTP_BAD_VERSION;
  if (major != 1 || minor > 1) return HTTP_VERSION_UNSUPPORTED;
  return <i32>(10 + minor);
}
