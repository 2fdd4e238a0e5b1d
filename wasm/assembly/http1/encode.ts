// The chunked coding on the sending side (RFC 9112 7.1): the gateway streams request bodies of
// unknown length to HTTP/1.1 origins as chunks. One call frames one chunk,
// chunk = chunk-size CRLF chunk-data CRLF (lower-case hex, no extensions); an empty chunk is
// the last-chunk plus the empty trailer section, "0" CRLF CRLF, which ends the body.

import { BAD_ARGUMENT, OUTPUT_TOO_SMALL } from "../../abi/codes";

const HEX_DIGITS: usize = memory.data<u8>([
  0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66,
]); // "0123456789abcdef"

/** Largest `len` whose framed size still fits an i32 result (8 hex digits + 4 bytes of CRLF). */
const MAX_DATA: u32 = 0x7fffffff - 12;

function hexDigits(len: u32): u32 {
  let d: u32 = 1;
  while (len >= 16) {
    len >>= 4;
    d++;
  }
  return d;
}

/** Exact bytes encodeChunk writes for `len` data bytes, or BAD_ARGUMENT. */
export function chunkSize(len: u32): i32 {
  if (len > MAX_DATA) return BAD_ARGUMENT;
  if (len == 0) return 5;
  return <i32>(hexDigits(len) + 2 + len + 2);
}

/** Writes one chunk for [data, data + len) at `out`. `data` may overlap `out` (the copy has
 *  memmove semantics), so a host can place the data where it belongs in the output and frame it
 *  in place. Returns the bytes written, OUTPUT_TOO_SMALL or BAD_ARGUMENT. */
export function encodeChunk(out: usize, cap: u32, data: usize, len: u32): i32 {
  const size = chunkSize(len);
  if (size < 0) return size;
  if (cap < <u32>size) return OUTPUT_TOO_SMALL;
  if (len == 0) {
    store<u8>(out, 0x30);
    store<u32>(out + 1, 0x0a0d0a0d); // CR LF CR LF in memory order
    return 5;
  }
  const digits = hexDigits(len);
  // The data first: when it overlaps the output, writing the size line first could clobber it.
  memory.copy(out + digits + 2, data, len);
  for (let i: u32 = 0, v = len; i < digits; i++, v >>= 4) {
    store<u8>(out + digits - 1 - i, load<u8>(HEX_DIGITS + (v & 15)));
  }
  store<u16>(out + digits, 0x0a0d);
  store<u16>(out + digits + 2 + len, 0x0a0d);
  return size;
}
