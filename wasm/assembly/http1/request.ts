// The request head (RFC 9112 3, 5, 6), parsed strictly: the Node host puts it in front of app
// servers that trust us to have framed the request the one way every parser agrees on
// (SECURITY.md "Client request framing"). CRLF only, one SP between the parts of the request
// line, one Host on HTTP/1.1, and at most one of Content-Length (a plain number) and
// Transfer-Encoding (exactly "chunked", HTTP/1.1 only). Results go to the head table.

import {
  BAD_ARGUMENT, HTTP_BAD_METHOD, HTTP_BAD_REQUEST_LINE, HTTP_BAD_TARGET, HTTP_CL_AND_TE, HTTP_MISSING_HOST,
  HTTP_TE_HTTP10,
} from "../../abi/codes";
import {
  H1_FIELDS, H1_FLAGS, H1_FRAMING, H1_FRAMING_CHUNKED, H1_FRAMING_LENGTH, H1_FRAMING_NONE, H1_LENGTH_HI,
  H1_LENGTH_LO, H1_METHOD_END, H1_METHOD_START, H1_TARGET_END, H1_TARGET_START, H1_VERSION, H1F_EXPECT_CONTINUE,
  H1F_KEEP_ALIVE, H1F_UPGRADE,
} from "../../abi/http1";
import { isTchar } from "../util/tables";
import {
  beginFields, clSeen, clValue, connClose, connKeepAlive, connUpgrade, expectContinue, hostCount, scanFields,
  teSeen, upgradeSeen,
} from "./fields";
import { validHost } from "./host";
import { findLine, lineEnd, lineNext, parseVersion } from "./lines";
import { isAlpha, isRegNameByte, isTargetByte } from "./tables";
import { skipVchar } from "../util/scan";

const SP: u32 = 0x20;

/** "CONNECT" and "OPTIONS": methods are case-sensitive (RFC 9110 9.1). */
function isMethod(p: usize, n: u32, a: u64): bool {
  // Both are 7 bytes; compare them as one little-endian u64 of which 7 bytes count.
  return n == 7 && (load<u64>(p) & 0x00ffffffffffffff) == a;
}
const CONNECT_LE: u64 = 0x005443454e4e4f43; // "CONNECT"
const OPTIONS_LE: u64 = 0x00534e4f4954504f; // "OPTIONS"

/** RFC 9112 3.2: which request-target forms the method allows. */
function checkTargetForm(buf: usize, ms: u32, me: u32, ts: u32, te: u32): i32 {
  // Loading 8 bytes at the method start stays inside the line: a 7-byte method is followed by SP.
  const connect = isMethod(buf + ms, me - ms, CONNECT_LE);
  if (connect) return validHost(buf + ts, te - ts, true); // 3.2.3 authority-form only
  const first = <u32>load<u8>(buf + ts);
  if (first == 0x2f) return 0; // 3.2.1 origin-form
  if (first == 0x2a && te - ts == 1) {
    // 3.2.4 asterisk-form: OPTIONS only.
    return isMethod(buf + ms, me - ms, OPTIONS_LE) ? 0 : HTTP_BAD_TARGET;
  }
  return absoluteForm(buf, ts, te);
}

/** RFC 9112 3.2.2 absolute-form, as a proxy receives it for http(s): scheme "://" authority
 *  [ path-abempty ] [ "?" query ]. Narrower than RFC 3986 absolute-URI in two ways llhttp is
 *  narrower too, so the gateway is never the lenient hop: the scheme is letters only and the
 *  authority is required ("http:@//x" is a valid URI and no HTTP request). */
function absoluteForm(buf: usize, ts: u32, te: u32): i32 {
  let i = ts;
  while (i < te && isAlpha(load<u8>(buf + i))) i++;
  if (i == ts || te - i < 3 || load<u8>(buf + i) != 0x3a || load<u16>(buf + i + 1) != 0x2f2f) return HTTP_BAD_TARGET;
  i += 3;
  // authority = [ userinfo "@" ] host [ ":" port ] (RFC 3986 3.2): reg-name bytes, ":", "[",
  // "]" and at most one "@", up to the path or query.
  let at = false;
  for (; i < te; i++) {
    const b = <u32>load<u8>(buf + i);
    if (b == 0x2f || b == 0x3f) break;
    if (b == 0x40) {
      if (at) return HTTP_BAD_TARGET;
      at = true;
    } else if (!isRegNameByte(b) && b != 0x3a && b != 0x5b && b != 0x5d) return HTTP_BAD_TARGET;
  }
  return 0;
}

/** RFC 9112 3: request-line = method SP request-target SP HTTP-version, on [s, e). */
function requestLine(buf: usize, s: u32, e: u32, table: usize): i32 {
  let i = s;
  while (i < e && <u32>load<u8>(buf + i) != SP) {
    if (!isTchar(load<u8>(buf + i))) return HTTP_BAD_METHOD; // RFC 9110 9.1: method = token
    i++;
  }
  if (i == s || i == e) return HTTP_BAD_REQUEST_LINE;
  const ms = s;
  const me = i;
  const ts = ++i;
  i = skipVchar(buf, i, e); // every VCHAR is a target byte, and none is SP
  while (i < e && <u32>load<u8>(buf + i) != SP) {
    if (!isTargetByte(load<u8>(buf + i))) return HTTP_BAD_TARGET;
    i++;
  }
  // An empty target is two SPs in a row; RFC 9112 3 allows a lenient parse of other
  // whitespace, which is exactly what a gateway must not do.
  if (i == ts || i == e) return HTTP_BAD_REQUEST_LINE;
  const te = i;
  const vs = ++i;
  for (; i < e; i++) if (<u32>load<u8>(buf + i) == SP) return HTTP_BAD_REQUEST_LINE;
  const version = parseVersion(buf + vs, e - vs);
  if (version < 0) return version;
  const form = checkTargetForm(buf, ms, me, ts, te);
  if (form < 0) return form;
  store<u32>(table + H1_VERSION, version);
  store<u32>(table + H1_METHOD_START, ms);
  store<u32>(table + H1_METHOD_END, me);
  store<u32>(table + H1_TARGET_START, ts);
  store<u32>(table + H1_TARGET_END, te);
  return 0;
}

/** RFC 9112 6.1-6.3 for requests, once the head is complete. */
function requestFraming(table: usize): i32 {
  const version = load<u32>(table + H1_VERSION);
  if (version == 11 && hostCount == 0) return HTTP_MISSING_HOST; // RFC 9112 3.2
  let framing = H1_FRAMING_NONE;
  if (teSeen) {
    // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    if (version == 10) return HTTP_TE_HTTP10;
    // RFC 9112 6.1: a server MAY reject CL together with TE; a gateway must, because the
    // two are read differently by different servers (the original request smuggling).
    if (clSeen) return HTTP_CL_AND_TE;
    framing = H1_FRAMING_CHUNKED;
  } else if (clSeen) {
    framing = H1_FRAMING_LENGTH;
    store<u32>(table + H1_LENGTH_LO, <u32>clValue);
    store<u32>(table + H1_LENGTH_HI, <u32>(clValue >> 32));
  }
  store<u32>(table + H1_FRAMING, framing);
  // RFC 9112 9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  const keepAlive = version == 11 ? !connClose : connKeepAlive && !connClose;
  let flags: u32 = keepAlive ? H1F_KEEP_ALIVE : 0;
  // RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored.
  if (version == 11 && expectContinue) flags |= H1F_EXPECT_CONTINUE;
  if (connUpgrade && upgradeSeen) flags |= H1F_UPGRADE;
  store<u32>(table + H1_FLAGS, flags);
  return 0;
}

/** Parses the request head at the start of [buf, buf + len). Returns the body offset (> 0),
 *  0 when more bytes are needed, or a code. The table (H1_FIELDS + cap * FIELD_SIZE bytes) is
 *  rewritten on every call, so the host calls again with a longer buffer. */
export function parseRequestHead(buf: usize, len: u32, limit: u32, table: usize, cap: u32): i32 {
  if (limit == 0 || limit > 0x7fffffff) return BAD_ARGUMENT;
  memory.fill(table, 0, H1_FIELDS);
  beginFields();
  let pos: u32 = 0;
  while (true) {
    const r = findLine(buf, pos, len, limit, false);
    if (r <= 0) return r;
    // RFC 9112 2.2: a server SHOULD ignore empty lines before the request-line (clients used
    // to send a CRLF after a POST body).
    if (lineEnd != pos) break;
    pos = lineNext;
  }
  const line = requestLine(buf, pos, lineEnd, table);
  if (line < 0) return line;
  const body = scanFields(buf, lineNext, len, limit, table, cap, true);
  if (body <= 0) return body;
  const framing = requestFraming(table);
  if (framing < 0) return framing;
  return body;
}
