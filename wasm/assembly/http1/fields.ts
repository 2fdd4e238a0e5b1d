// Field lines (RFC 9112 5, RFC 9110 5), shared by request and response heads: each line is
// checked, recorded in the caller's table as four offsets, and the few fields that decide
// framing and connection reuse are noted in module globals (the parsers are not re-entrant and
// a head is parsed in one call). Names are compared case-insensitively at their full length, so
// a long name never aliases a short one (HAProxy CVE-2021-40346 kept the length in 8 bits).

import {
  HTTP_BAD_CONTENT_LENGTH, HTTP_BAD_NAME, HTTP_BAD_VALUE, HTTP_DUPLICATE_HOST, HTTP_NO_COLON, HTTP_OBS_FOLD,
  HTTP_SPACE_BEFORE_COLON, HTTP_TE_NOT_CHUNKED, HTTP_TOO_MANY_FIELDS,
} from "../../abi/codes";
import { FIELD_NAME_END, FIELD_NAME_START, FIELD_SIZE, FIELD_VALUE_END, FIELD_VALUE_START } from "../../abi/layout";
import { H1_FIELD_COUNT, H1_FIELDS } from "../../abi/http1";
import { equalsLowerLiteral } from "../util/bytes";
import { isFieldValueByte, isTchar } from "../util/tables";
import { findLine, lineEnd, lineNext } from "./lines";
import { skipPlainValue, skipTchar } from "../util/scan";
import { contentLength, parsedLength } from "./length";
import { validHost } from "./host";

export const CONTENT_LENGTH: usize = memory.data<u8>([0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x65, 0x6e, 0x67, 0x74, 0x68]); // "content-length"
export const TRANSFER_ENCODING: usize = memory.data<u8>([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72, 0x2d, 0x65, 0x6e, 0x63, 0x6f, 0x64, 0x69, 0x6e, 0x67]); // "transfer-encoding"
const HOST: usize = memory.data<u8>([0x68, 0x6f, 0x73, 0x74]); // "host"
const CONNECTION: usize = memory.data<u8>([0x63, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e]); // "connection"
const EXPECT: usize = memory.data<u8>([0x65, 0x78, 0x70, 0x65, 0x63, 0x74]); // "expect"
const UPGRADE: usize = memory.data<u8>([0x75, 0x70, 0x67, 0x72, 0x61, 0x64, 0x65]); // "upgrade"
const CHUNKED: usize = memory.data<u8>([0x63, 0x68, 0x75, 0x6e, 0x6b, 0x65, 0x64]); // "chunked"
const CLOSE: usize = memory.data<u8>([0x63, 0x6c, 0x6f, 0x73, 0x65]); // "close"
const KEEP_ALIVE: usize = memory.data<u8>([0x6b, 0x65, 0x65, 0x70, 0x2d, 0x61, 0x6c, 0x69, 0x76, 0x65]); // "keep-alive"
const CONTINUE_100: usize = memory.data<u8>([0x31, 0x30, 0x30, 0x2d, 0x63, 0x6f, 0x6e, 0x74, 0x69, 0x6e, 0x75, 0x65]); // "100-continue"

// --- facts about the head being parsed (reset by beginFields) ---
export let clSeen: bool = false;
export let clValue: u64 = 0;
export let teSeen: bool = false;
export let hostCount: u32 = 0;
export let connClose: bool = false;
export let connKeepAlive: bool = false;
export let connUpgrade: bool = false;
export let upgradeSeen: bool = false;
export let expectContinue: bool = false;

export function beginFields(): void {
  clSeen = false;
  clValue = 0;
  teSeen = false;
  hostCount = 0;
  connClose = false;
  connKeepAlive = false;
  connUpgrade = false;
  upgradeSeen = false;
  expectContinue = false;
}

// @ts-ignore: decorator
@inline export function isOws(b: u32): bool {
  return b == 0x20 || b == 0x09;
}

/** Notes the tokens of a Connection value (RFC 9110 7.6.1: a comma list, case-insensitive). */
function noteConnection(p: usize, n: u32): void {
  let i: u32 = 0;
  while (i < n) {
    while (i < n && (isOws(load<u8>(p + i)) || load<u8>(p + i) == 0x2c)) i++;
    const s = i;
    while (i < n && load<u8>(p + i) != 0x2c) i++;
    let e = i;
    while (e > s && isOws(load<u8>(p + e - 1))) e--;
    if (equalsLowerLiteral(p + s, e - s, CLOSE, 5)) connClose = true;
    else if (equalsLowerLiteral(p + s, e - s, KEEP_ALIVE, 10)) connKeepAlive = true;
    else if (equalsLowerLiteral(p + s, e - s, UPGRADE, 7)) connUpgrade = true;
  }
}

/** True when the trimmed-off whitespace after a value, [p, end), holds an HTAB. */
function tabAfter(p: usize, end: usize): bool {
  for (let q = p; q < end; q++) if (load<u8>(q) == 0x09) return true;
  return false;
}

/** Applies what a field means for framing; the value [p, p + n) is already OWS-trimmed and
 *  byte-checked, `end` is where the line's raw value ended. Returns 0 or a code. */
function noteField(name: usize, nameLen: u32, p: usize, n: u32, end: usize, request: bool): i32 {
  // Only names of a length we care about are compared at all; the comparison then covers every
  // byte, so "Content-Length" followed by 256 more characters is just an unknown field.
  switch (nameLen) {
    case 14:
      if (equalsLowerLiteral(name, nameLen, CONTENT_LENGTH, 14)) {
        // OWS is SP or HTAB, but llhttp rejects an HTAB after the digits (and after "chunked"
        // below); in a request's framing fields the gateway is not the more lenient hop.
        if (request && tabAfter(p + n, end)) return HTTP_BAD_CONTENT_LENGTH;
        const r = contentLength(p, n, request, clSeen, clValue);
        if (r < 0) return r;
        clSeen = true;
        clValue = parsedLength;
      }
      break;
    case 17:
      if (equalsLowerLiteral(name, nameLen, TRANSFER_ENCODING, 17)) {
        // Only one coding is accepted: a single "chunked" (RFC 9112 7: never applied twice;
        // any other coding would have to be undone here, and a list is where parsers differ).
        // A second field line would make the list "chunked, chunked" or "x, chunked".
        if (teSeen || !equalsLowerLiteral(p, n, CHUNKED, 7) || (request && tabAfter(p + n, end))) return HTTP_TE_NOT_CHUNKED;
        teSeen = true;
      }
      break;
    case 4:
      if (request && equalsLowerLiteral(name, nameLen, HOST, 4)) {
        // RFC 9112 3.2: more than one Host line, or an invalid value, is a 400.
        if (++hostCount > 1) return HTTP_DUPLICATE_HOST;
        return validHost(p, n, false);
      }
      break;
    case 10:
      if (equalsLowerLiteral(name, nameLen, CONNECTION, 10)) noteConnection(p, n);
      break;
    case 7:
      if (equalsLowerLiteral(name, nameLen, UPGRADE, 7)) upgradeSeen = true;
      break;
    case 6:
      // RFC 9110 10.1.1: the only expectation defined; compared case-insensitively.
      if (request && equalsLowerLiteral(name, nameLen, EXPECT, 6) && equalsLowerLiteral(p, n, CONTINUE_100, 12)) {
        expectContinue = true;
      }
      break;
  }
  return 0;
}

/** Checks one complete field line [s, e) (terminator excluded), records it in the table and
 *  notes its meaning. Returns 0 or a code. */
function fieldLine(buf: usize, s: u32, e: u32, table: usize, cap: u32, request: bool): i32 {
  // RFC 9112 5.2: obs-fold must be rejected by a proxy (or replaced; replacing hides what the
  // sender meant). On the first line it is whitespace before the first field (2.2): same code.
  if (isOws(load<u8>(buf + s))) return HTTP_OBS_FOLD;
  let c = s;
  while (c < e && load<u8>(buf + c) != 0x3a) c++;
  if (c == e) return HTTP_NO_COLON;
  if (c == s) return HTTP_BAD_NAME;
  // RFC 9112 5.1: "No whitespace is allowed between the field name and colon"; a server must
  // answer 400 and a proxy must strip it from responses: parsers disagree on "Name :".
  if (isOws(load<u8>(buf + c - 1))) return HTTP_SPACE_BEFORE_COLON;
  for (let i = s; i < c; i++) if (!isTchar(load<u8>(buf + i))) return HTTP_BAD_NAME;

  // RFC 9110 5.5: leading and trailing OWS is not part of the value; inside it, only
  // field-vchar, SP and HTAB. NUL and the other controls would end a C string or a line in
  // the next hop (llhttp CVE-2021-22959's family, HAProxy CVE-2023-25725).
  let vs = c + 1;
  let ve = e;
  while (vs < ve && isOws(load<u8>(buf + vs))) vs++;
  while (ve > vs && isOws(load<u8>(buf + ve - 1))) ve--;
  for (let i = vs; i < ve; i++) if (!isFieldValueByte(load<u8>(buf + i))) return HTTP_BAD_VALUE;

  const count = load<u32>(table + H1_FIELD_COUNT);
  if (count >= cap) return HTTP_TOO_MANY_FIELDS;
  const f = table + H1_FIELDS + count * FIELD_SIZE;
  store<u32>(f + FIELD_NAME_START, s);
  store<u32>(f + FIELD_NAME_END, c);
  store<u32>(f + FIELD_VALUE_START, vs);
  store<u32>(f + FIELD_VALUE_END, ve);
  store<u32>(table + H1_FIELD_COUNT, count + 1);
  return noteField(buf + s, c - s, buf + vs, ve - vs, buf + e, request);
}

const CR: u32 = 0x0d;
const LF: u32 = 0x0a;

/** The common case in one pass: a complete field line that is valid as it stands (token name,
 *  colon, field-value bytes, CRLF, all before `end`). Returns the offset after it, with the line
 *  recorded and noted; 0 when the line is anything else, so the checked path (findLine, then
 *  fieldLine) decides what it is with its own error precedence; or a code from recording it.
 *  Anything accepted here the checked path accepts with the same offsets. */
function fastFieldLine(buf: usize, pos: u32, end: u32, table: usize, cap: u32, request: bool): i32 {
  // A name starts with a tchar: CR (the empty line), OWS (obs-fold) and the rest go the long way.
  let i = skipTchar(buf, pos, end);
  while (i < end && isTchar(load<u8>(buf + i))) i++;
  if (i == pos || i >= end || <u32>load<u8>(buf + i) != 0x3a) return 0;
  const c = i++;
  while (i < end && isOws(load<u8>(buf + i))) i++;
  const vs = i;
  i = skipPlainValue(buf, i, end);
  while (i < end && isFieldValueByte(load<u8>(buf + i))) i++;
  if (i + 1 >= end || <u32>load<u8>(buf + i) != CR || <u32>load<u8>(buf + i + 1) != LF) return 0;
  let ve = i;
  while (ve > vs && isOws(load<u8>(buf + ve - 1))) ve--;
  const count = load<u32>(table + H1_FIELD_COUNT);
  if (count >= cap) return HTTP_TOO_MANY_FIELDS;
  const f = table + H1_FIELDS + count * FIELD_SIZE;
  store<u32>(f + FIELD_NAME_START, pos);
  store<u32>(f + FIELD_NAME_END, c);
  store<u32>(f + FIELD_VALUE_START, vs);
  store<u32>(f + FIELD_VALUE_END, ve);
  store<u32>(table + H1_FIELD_COUNT, count + 1);
  const code = noteField(buf + pos, c - pos, buf + vs, ve - vs, buf + i, request);
  return code < 0 ? code : <i32>(i + 2);
}

/** Scans field lines from `pos` up to and including the empty line that ends the head.
 *  Returns the body offset (> 0), 0 when more bytes are needed, or a code. */
export function scanFields(buf: usize, pos: u32, len: u32, limit: u32, table: usize, cap: u32, request: bool): i32 {
  // Nothing at or past the limit belongs to the head: the fast path stays below both.
  const end = len < limit ? len : limit;
  while (true) {
    const fast = fastFieldLine(buf, pos, end, table, cap, request);
    if (fast < 0) return fast;
    if (fast > 0) {
      pos = <u32>fast;
      continue;
    }
    const r = findLine(buf, pos, len, limit, !request);
    if (r <= 0) return r;
    if (lineEnd == pos) return <i32>lineNext;
    const code = fieldLine(buf, pos, lineEnd, table, cap, request);
    if (code < 0) return code;
    pos = lineNext;
  }
}
