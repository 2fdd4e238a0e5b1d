// The CGI response head an app writes before its body (RFC 3875 6.2-6.3): header lines up to
// an empty line, "Status: NNN reason" for the status, "Location" alone meaning a redirect
// (302, what nginx and Apache send for a client redirect), 200 otherwise. The origin is treated
// as fallible, sometimes hostile (SECURITY.md "Upstream responses"): anything that could split
// or smuggle a header on the way to the client is an error, never repaired.
// Lines end in CRLF or a bare LF (RFC 9112 2.2 lets a recipient accept a bare LF; CGI apps
// commonly write "\n"). Results go to an offset table; no string is built.

import {
  BAD_ARGUMENT, CGI_HEAD_BAD_NAME, CGI_HEAD_BAD_VALUE, CGI_HEAD_BARE_CR, CGI_HEAD_DUPLICATE_STATUS,
  CGI_HEAD_NO_COLON, CGI_HEAD_NUL, CGI_HEAD_OBS_FOLD, CGI_HEAD_SPACE_BEFORE_COLON, CGI_HEAD_TOO_LARGE,
  CGI_HEAD_TOO_MANY_FIELDS,
} from "../../abi/codes";
import {
  FIELD_NAME_END, FIELD_NAME_START, FIELD_SIZE, FIELD_VALUE_END, FIELD_VALUE_START, HEAD_FIELD_COUNT,
  HEAD_FIELDS, HEAD_REASON_END, HEAD_REASON_START, HEAD_STATUS,
} from "../../abi/layout";
import { equalsLowerLiteral } from "../util/bytes";
import { isFieldValueByte, isTchar } from "../util/tables";
import { skipPlainValue } from "../util/scan";
import { isOws, parseStatus } from "./status";

const STATUS_LIT: usize = memory.data<u8>([0x73, 0x74, 0x61, 0x74, 0x75, 0x73]); // "status"
const LOCATION_LIT: usize = memory.data<u8>([0x6c, 0x6f, 0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e]); // "location"

const CR: u32 = 0x0d;
const LF: u32 = 0x0a;

/** Checks one complete line [s, e) (terminator excluded) and records it. Returns 0 or a code. */
function onLine(buf: usize, s: u32, e: u32, table: usize, cap: u32): i32 {
  // RFC 9112 5.2: obs-fold is deprecated; a proxy must reject it or replace it, and
  // replacing hides what the app meant, so reject. A leading space on the first line is the
  // same shape (RFC 9112 2.2 forbids whitespace before the first field).
  if (isOws(load<u8>(buf + s))) return CGI_HEAD_OBS_FOLD;
  let c = s;
  while (c < e && load<u8>(buf + c) != 0x3a) c++;
  if (c == e) return CGI_HEAD_NO_COLON;
  if (c == s) return CGI_HEAD_BAD_NAME;
  // RFC 9112 5.1: "No whitespace is allowed between the field name and colon"; a proxy must
  // reject it, since recipients disagree on whether "Name :" is "Name" (request smuggling).
  if (isOws(load<u8>(buf + c - 1))) return CGI_HEAD_SPACE_BEFORE_COLON;
  for (let i = s; i < c; i++) if (!isTchar(load<u8>(buf + i))) return CGI_HEAD_BAD_NAME;

  // RFC 9110 5.5: leading and trailing OWS is not part of the value.
  let vs = c + 1;
  let ve = e;
  while (vs < ve && isOws(load<u8>(buf + vs))) vs++;
  while (ve > vs && isOws(load<u8>(buf + ve - 1))) ve--;
  for (let i = skipPlainValue(buf, vs, ve); i < ve; i++) if (!isFieldValueByte(load<u8>(buf + i))) return CGI_HEAD_BAD_VALUE;

  if (equalsLowerLiteral(buf + s, c - s, STATUS_LIT, 6)) {
    // Two Status fields cannot both be honoured; picking one would hide what the app meant.
    if (load<i32>(table + HEAD_STATUS) != 0) return CGI_HEAD_DUPLICATE_STATUS;
    const code = parseStatus(buf + vs, ve - vs);
    if (code < 0) return code;
    let rs = vs + 3;
    while (rs < ve && isOws(load<u8>(buf + rs))) rs++;
    store<i32>(table + HEAD_STATUS, code);
    store<u32>(table + HEAD_REASON_START, rs);
    store<u32>(table + HEAD_REASON_END, ve);
    return 0;
  }
  const count = load<u32>(table + HEAD_FIELD_COUNT);
  if (count >= cap) return CGI_HEAD_TOO_MANY_FIELDS;
  const f = table + HEAD_FIELDS + count * FIELD_SIZE;
  store<u32>(f + FIELD_NAME_START, s);
  store<u32>(f + FIELD_NAME_END, c);
  store<u32>(f + FIELD_VALUE_START, vs);
  store<u32>(f + FIELD_VALUE_END, ve);
  store<u32>(table + HEAD_FIELD_COUNT, count + 1);
  return 0;
}

/** True when a recorded field is named Location. */
function hasLocation(buf: usize, table: usize): bool {
  const count = load<u32>(table + HEAD_FIELD_COUNT);
  for (let i: u32 = 0; i < count; i++) {
    const f = table + HEAD_FIELDS + i * FIELD_SIZE;
    const ns = load<u32>(f + FIELD_NAME_START);
    if (equalsLowerLiteral(buf + ns, load<u32>(f + FIELD_NAME_END) - ns, LOCATION_LIT, 8)) return true;
  }
  return false;
}

/** Parses the head at the start of [buf, buf + len). Returns the body offset (> 0) when the
 *  head is complete, 0 when more bytes are needed, or a negative code. A head, its empty line
 *  included, may take at most `limit` bytes. The table (HEAD_FIELDS + cap * FIELD_SIZE bytes)
 *  is rewritten from scratch on every call, so a host may call again with a longer buffer. */
export function parseHead(buf: usize, len: u32, limit: u32, table: usize, cap: u32): i32 {
  if (limit == 0 || limit > 0x7fffffff) return BAD_ARGUMENT;
  memory.fill(table, 0, HEAD_FIELDS);
  let pos: u32 = 0;
  let next: u32 = 0;
  while (true) {
    let i = pos;
    let lineEnd: u32 = 0;
    while (true) {
      if (i >= limit) return CGI_HEAD_TOO_LARGE;
      if (i >= len) return 0;
      const b = <u32>load<u8>(buf + i);
      if (b >= 0x20 && b != 0x7f) {
        // A run of plain bytes (no CR, LF or NUL among them), skipped in blocks.
        i = skipPlainValue(buf, i + 1, len < limit ? len : limit);
        continue;
      }
      if (b == LF) {
        lineEnd = i;
        next = i + 1;
        break;
      }
      if (b == CR) {
        if (i + 1 >= limit) return CGI_HEAD_TOO_LARGE;
        if (i + 1 >= len) return 0;
        // A lone CR ends a line for some parsers and not for others: the classic way to
        // smuggle a header past one of them (RFC 9112 2.2).
        if (<u32>load<u8>(buf + i + 1) != LF) return CGI_HEAD_BARE_CR;
        lineEnd = i;
        next = i + 2;
        break;
      }
      if (b == 0) return CGI_HEAD_NUL; // ends a C string early in the next hop
      i++;
    }
    if (lineEnd == pos) break;
    const r = onLine(buf, pos, lineEnd, table, cap);
    if (r < 0) return r;
    pos = next;
  }
  if (load<i32>(table + HEAD_STATUS) == 0) {
    store<i32>(table + HEAD_STATUS, hasLocation(buf, table) ? 302 : 200);
  }
  return <i32>next;
}
