// The chunked transfer coding (RFC 9112 7.1), decoded incrementally: chunks of input of any
// size and split, state carried in a fixed block allocated once per body. Data is reported as
// spans of the fed buffer (no copy); chunk extensions are checked against the grammar, counted
// against a per-line and a per-body cap (Node CVE-2024-22019 was an unbounded extension read)
// and dropped; the trailer section is checked field line by field line (framing fields are
// refused), capped and dropped, so a trailer can neither smuggle a request or a length (Puma
// CVE-2023-40175) nor grow without bound.
// Every line end is CRLF: a bare CR or LF in framing is where parsers disagree.
// Extensions follow llhttp's reading of RFC 9112 7.1.1: no BWS around ";" and "=" (the RFC
// allows it, no sender emits it, and a gateway must not accept what the server behind it
// might reject).

import {
  BAD_ARGUMENT, HTTP_CHUNK_BAD_EXTENSION, HTTP_CHUNK_BAD_LINE_END, HTTP_CHUNK_BAD_SIZE, HTTP_CHUNK_BAD_TRAILER,
  HTTP_CHUNK_EXTENSIONS_TOO_LARGE, HTTP_CHUNK_FRAMING_TRAILER, HTTP_CHUNK_MISSING_CRLF, HTTP_CHUNK_SIZE_TOO_LARGE,
  HTTP_CHUNK_TRAILERS_TOO_LARGE,
} from "../../abi/codes";
import {
  CH_CONSUMED, CH_DATA_LEFT_HI, CH_DATA_LEFT_LO, CH_DIGITS, CH_DIRECT_MIN, CH_DONE, CH_ERROR, CH_EXT_LEN, CH_EXT_MAX, CH_EXT_TOTAL, CH_EXT_TOTAL_MAX, CH_NAME_LEN,
  CH_NAME_MATCH, CH_PHASE, CH_REMAINING, CH_SIZE_MAX_DIGITS, CH_SPAN_CAP, CH_SPAN_SIZE, CH_SPANS, CH_STATE_SIZE, CH_TRAILER_LEN,
  CH_TRAILER_MAX,
} from "../../abi/http1";
import { lowerAscii } from "../util/bytes";
import { isFieldValueByte, isTchar } from "../util/tables";
import { CONTENT_LENGTH, TRANSFER_ENCODING } from "./fields";
import { MAX_LENGTH } from "./length";
import { hexValue, isQdtext } from "./tables";

const PH_SIZE_START = 0; // expecting the first hex digit of a chunk-size
const PH_SIZE = 1; // in the hex digits
const PH_EXT_NAME_START = 2; // after ";"
const PH_EXT_NAME = 3;
const PH_EXT_VALUE_START = 4; // after "="
const PH_EXT_TOKEN = 5;
const PH_EXT_QUOTED = 6;
const PH_EXT_QUOTED_PAIR = 7; // after a backslash inside quotes
const PH_EXT_QUOTED_END = 8; // after the closing quote
const PH_SIZE_LF = 9; // after the CR that ends a chunk-size line
const PH_DATA = 10;
const PH_DATA_CR = 11; // chunk data read, CRLF expected
const PH_DATA_LF = 12;
const PH_TRAILER_START = 13; // at the start of a trailer field line or of the final CRLF
const PH_TRAILER_NAME = 14;
const PH_TRAILER_VALUE = 15;
const PH_TRAILER_LF = 16;
const PH_END_LF = 17; // after the CR of the final empty line
const PH_DONE = 18;

const CR: u32 = 0x0d;
const LF: u32 = 0x0a;

/** Allocates a zeroed decoder state and returns its address. Fixed size, allocated once per
 *  body (like the FastCGI decoder): nothing is allocated while decoding. */
export function chunkedNew(): i32 {
  const s = heap.alloc(CH_STATE_SIZE);
  memory.fill(s, 0, CH_STATE_SIZE);
  return <i32>s;
}

/** Records a framing error; the state stays failed from now on. */
function fail(s: usize, pos: u32, code: i32): i32 {
  store<i32>(s + CH_ERROR, code);
  store<u32>(s + CH_CONSUMED, pos);
  return code;
}

/** Counts one chunk-extension byte against both caps. Returns 0 or a code. */
function extByte(s: usize): i32 {
  const line = load<u32>(s + CH_EXT_LEN) + 1;
  const total = load<u32>(s + CH_EXT_TOTAL) + 1;
  store<u32>(s + CH_EXT_LEN, line);
  store<u32>(s + CH_EXT_TOTAL, total);
  return line > <u32>CH_EXT_MAX || total > <u32>CH_EXT_TOTAL_MAX ? HTTP_CHUNK_EXTENSIONS_TOO_LARGE : 0;
}

// A trailer name is matched against the framing fields as its bytes arrive (it may span
// feeds): bit 0 "content-length", bit 1 "transfer-encoding" while still possible.
const MATCH_CL: u32 = 1;
const MATCH_TE: u32 = 2;

/** Takes the next byte `b` of a trailer field name (`first`: its first byte). */
function trailerNameByte(s: usize, b: u32, first: bool): void {
  const i = first ? 0 : load<u32>(s + CH_NAME_LEN);
  let match = first ? MATCH_CL | MATCH_TE : load<u32>(s + CH_NAME_MATCH);
  const l = lowerAscii(b);
  if (i >= 14 || l != <u32>load<u8>(CONTENT_LENGTH + i)) match &= ~MATCH_CL;
  if (i >= 17 || l != <u32>load<u8>(TRANSFER_ENCODING + i)) match &= ~MATCH_TE;
  store<u32>(s + CH_NAME_LEN, i + 1);
  store<u32>(s + CH_NAME_MATCH, match);
}

/** At the colon: a trailer named exactly Content-Length or Transfer-Encoding is an error. */
function trailerNameEnd(s: usize): i32 {
  const n = load<u32>(s + CH_NAME_LEN);
  const match = load<u32>(s + CH_NAME_MATCH);
  if ((match & MATCH_CL && n == 14) || (match & MATCH_TE && n == 17)) return HTTP_CHUNK_FRAMING_TRAILER;
  return PH_TRAILER_VALUE;
}

/** The phase after an extension name or value: ";" starts another, CR ends the line. */
function afterExtension(b: u32): i32 {
  if (b == 0x3b) return PH_EXT_NAME_START;
  if (b == CR) return PH_SIZE_LF;
  return b == LF ? HTTP_CHUNK_BAD_LINE_END : HTTP_CHUNK_BAD_EXTENSION;
}

/** One byte of the framing outside chunk data. Returns the next phase or a code. */
function step(s: usize, phase: i32, b: u32): i32 {
  switch (phase) {
    case PH_SIZE_START: {
      const v = hexValue(b);
      if (v > 15) return HTTP_CHUNK_BAD_SIZE; // chunk-size = 1*HEXDIG
      store<u64>(s + CH_REMAINING, <u64>v);
      store<u32>(s + CH_DIGITS, 1);
      return PH_SIZE;
    }
    case PH_SIZE: {
      const v = hexValue(b);
      if (v <= 15) {
        // Leading zeros count: "more than 16 digits" is a flood, whatever their value.
        const digits = load<u32>(s + CH_DIGITS) + 1;
        const size = (load<u64>(s + CH_REMAINING) << 4) | <u64>v;
        if (digits > <u32>CH_SIZE_MAX_DIGITS || size > MAX_LENGTH) return HTTP_CHUNK_SIZE_TOO_LARGE;
        store<u32>(s + CH_DIGITS, digits);
        store<u64>(s + CH_REMAINING, size);
        return PH_SIZE;
      }
      if (b == 0x3b) {
        const r = extByte(s);
        return r < 0 ? r : PH_EXT_NAME_START;
      }
      if (b == CR) return PH_SIZE_LF;
      // Whitespace after the size included (llhttp without lenient flags agrees): "1 \r\n"
      // and "1 ;x" are not what any sender we know writes.
      return b == LF ? HTTP_CHUNK_BAD_LINE_END : HTTP_CHUNK_BAD_SIZE;
    }
    case PH_SIZE_LF:
      if (b != LF) return HTTP_CHUNK_BAD_LINE_END;
      store<u32>(s + CH_EXT_LEN, 0);
      return load<u64>(s + CH_REMAINING) == 0 ? PH_TRAILER_START : PH_DATA;
    case PH_DATA_CR:
      if (b == CR) return PH_DATA_LF;
      return b == LF ? HTTP_CHUNK_BAD_LINE_END : HTTP_CHUNK_MISSING_CRLF;
    case PH_DATA_LF:
      return b == LF ? PH_SIZE_START : HTTP_CHUNK_BAD_LINE_END;
    case PH_TRAILER_START:
      if (b == CR) return PH_END_LF;
      if (b == LF) return HTTP_CHUNK_BAD_LINE_END;
      // A trailer line is a field line (RFC 9112 7.1.2): name token, no obs-fold.
      if (!isTchar(b)) return HTTP_CHUNK_BAD_TRAILER;
      trailerNameByte(s, b, true);
      return PH_TRAILER_NAME;
    case PH_TRAILER_NAME:
      if (isTchar(b)) {
        trailerNameByte(s, b, false);
        return PH_TRAILER_NAME;
      }
      // RFC 9110 6.5.1: framing fields cannot be trailers. Dropping them would be safe here,
      // but a server behind us that merges trailers would re-frame (Puma CVE-2023-40175).
      return b == 0x3a ? trailerNameEnd(s) : HTTP_CHUNK_BAD_TRAILER;
    case PH_TRAILER_VALUE:
      if (b == CR) return PH_TRAILER_LF;
      if (b == LF) return HTTP_CHUNK_BAD_LINE_END;
      return isFieldValueByte(b) ? PH_TRAILER_VALUE : HTTP_CHUNK_BAD_TRAILER;
    case PH_TRAILER_LF:
      return b == LF ? PH_TRAILER_START : HTTP_CHUNK_BAD_LINE_END;
    case PH_END_LF:
      return b == LF ? PH_DONE : HTTP_CHUNK_BAD_LINE_END;
  }
  // Chunk extensions: chunk-ext = *( ";" chunk-ext-name [ "=" chunk-ext-val ] ),
  // chunk-ext-name = token, chunk-ext-val = token / quoted-string (RFC 9112 7.1.1, no BWS).
  if (b != CR) {
    const r = extByte(s);
    if (r < 0) return r;
  }
  switch (phase) {
    case PH_EXT_NAME_START:
      return isTchar(b) ? PH_EXT_NAME : b == LF ? HTTP_CHUNK_BAD_LINE_END : HTTP_CHUNK_BAD_EXTENSION;
    case PH_EXT_NAME:
      if (isTchar(b)) return PH_EXT_NAME;
      return b == 0x3d ? PH_EXT_VALUE_START : afterExtension(b);
    case PH_EXT_VALUE_START:
      if (b == 0x22) return PH_EXT_QUOTED;
      return isTchar(b) ? PH_EXT_TOKEN : b == LF ? HTTP_CHUNK_BAD_LINE_END : HTTP_CHUNK_BAD_EXTENSION;
    case PH_EXT_TOKEN:
      return isTchar(b) ? PH_EXT_TOKEN : afterExtension(b);
    case PH_EXT_QUOTED:
      // RFC 9110 5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE.
      if (b == 0x22) return PH_EXT_QUOTED_END;
      if (b == 0x5c) return PH_EXT_QUOTED_PAIR;
      return isQdtext(b) ? PH_EXT_QUOTED : HTTP_CHUNK_BAD_EXTENSION;
    case PH_EXT_QUOTED_PAIR:
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): the field-value bytes.
      return isFieldValueByte(b) ? PH_EXT_QUOTED : HTTP_CHUNK_BAD_EXTENSION;
    default:
      assert(phase == PH_EXT_QUOTED_END);
      return afterExtension(b);
  }
}

/** Feeds [buf, buf + len). Returns the number of data spans written to the span table and
 *  stores the bytes consumed at CH_CONSUMED; CH_DONE becomes 1 when the body ended (bytes after
 *  it are not consumed). Stops early when the span table is full, and with `direct` at the
 *  start of chunk data of CH_DIRECT_MIN bytes or more (the host takes those from its own buffer
 *  and reports them with chunkedSkip). After an error every call returns it. */
export function chunkedFeed(s: usize, buf: usize, len: u32, direct: bool): i32 {
  const failed = load<i32>(s + CH_ERROR);
  if (failed < 0) return failed;
  let phase = load<i32>(s + CH_PHASE);
  let pos: u32 = 0;
  let n: u32 = 0;
  while (pos < len && phase != PH_DONE) {
    if (phase == PH_DATA) {
      if (n == <u32>CH_SPAN_CAP) break;
      const remaining = load<u64>(s + CH_REMAINING);
      if (direct && remaining >= <u64>CH_DIRECT_MIN) break;
      const avail = <u64>(len - pos);
      const take = <u32>(remaining < avail ? remaining : avail);
      const e = s + CH_SPANS + n * CH_SPAN_SIZE;
      store<u32>(e, pos);
      store<u32>(e + 4, pos + take);
      n++;
      pos += take;
      store<u64>(s + CH_REMAINING, remaining - <u64>take);
      if (remaining == <u64>take) phase = PH_DATA_CR;
      continue;
    }
    if (phase >= PH_TRAILER_START) {
      // Every byte of the trailer section counts, its line ends included.
      const t = load<u32>(s + CH_TRAILER_LEN) + 1;
      if (t > <u32>CH_TRAILER_MAX) return fail(s, pos, HTTP_CHUNK_TRAILERS_TOO_LARGE);
      store<u32>(s + CH_TRAILER_LEN, t);
    }
    const next = step(s, phase, <u32>load<u8>(buf + pos));
    if (next < 0) return fail(s, pos, next);
    phase = next;
    pos++;
  }
  store<i32>(s + CH_PHASE, phase);
  store<u32>(s + CH_DONE, phase == PH_DONE ? 1 : 0);
  store<u32>(s + CH_CONSUMED, pos);
  storeDataLeft(s, phase);
  return <i32>n;
}

function storeDataLeft(s: usize, phase: i32): void {
  const left = phase == PH_DATA ? load<u64>(s + CH_REMAINING) : 0;
  store<u32>(s + CH_DATA_LEFT_LO, <u32>left);
  store<u32>(s + CH_DATA_LEFT_HI, <u32>(left >> 32));
}

/** The host passed over `n` bytes of chunk data itself (never more than CH_DATA_LEFT). Returns
 *  0, the decoder's error, or BAD_ARGUMENT when `n` is more than the data left. */
export function chunkedSkip(s: usize, n: u32): i32 {
  const failed = load<i32>(s + CH_ERROR);
  if (failed < 0) return failed;
  let phase = load<i32>(s + CH_PHASE);
  if (n == 0) return 0;
  const remaining = load<u64>(s + CH_REMAINING);
  if (phase != PH_DATA || <u64>n > remaining) return BAD_ARGUMENT;
  store<u64>(s + CH_REMAINING, remaining - <u64>n);
  if (remaining == <u64>n) phase = PH_DATA_CR;
  store<i32>(s + CH_PHASE, phase);
  storeDataLeft(s, phase);
  return 0;
}
