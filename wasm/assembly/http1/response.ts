// The response head an HTTP/1.x origin sends (RFC 9112 4, 5, 6), parsed as strictly as the
// request head with one tolerance: a bare LF ends a line (RFC 9112 2.2 lets a recipient accept
// it, old CGI-style origins send it, and it cannot hide a line from us). The origin is fallible,
// sometimes hostile (SECURITY.md "Upstream responses"): CL with TE, an unknown coding,
// conflicting lengths, control bytes, obs-fold and a malformed status line are errors.
// Framing follows RFC 9112 6.3, in its order.

import {
  BAD_ARGUMENT, HTTP_BAD_STATUS, HTTP_BAD_STATUS_LINE, HTTP_CL_AND_TE, HTTP_TE_HTTP10,
} from "../../abi/codes";
import {
  H1_FIELDS, H1_FLAGS, H1_FRAMING, H1_FRAMING_CHUNKED, H1_FRAMING_CLOSE, H1_FRAMING_LENGTH, H1_FRAMING_NONE,
  H1_LENGTH_HI, H1_LENGTH_LO, H1_REASON_END, H1_REASON_START, H1_REQ_CONNECT, H1_REQ_HEAD, H1_STATUS, H1_VERSION,
  H1F_KEEP_ALIVE, H1F_UPGRADE,
} from "../../abi/http1";
import { isFieldValueByte } from "../util/tables";
import { beginFields, clSeen, clValue, connClose, connKeepAlive, connUpgrade, scanFields, teSeen, upgradeSeen } from "./fields";
import { findLine, lineEnd, lineNext, parseVersion } from "./lines";
import { isDigit } from "./tables";

const SP: u32 = 0x20;

/** RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ], on [s, e). */
function statusLine(buf: usize, s: u32, e: u32, table: usize): i32 {
  const n = e - s;
  const version = parseVersion(buf + s, min<u32>(n, 8));
  if (version < 0) return version;
  if (n == 8 || <u32>load<u8>(buf + s + 8) != SP) return HTTP_BAD_STATUS_LINE;
  if (n < 12) return HTTP_BAD_STATUS;
  const d0 = <u32>load<u8>(buf + s + 9);
  const d1 = <u32>load<u8>(buf + s + 10);
  const d2 = <u32>load<u8>(buf + s + 11);
  if (!isDigit(d0) || !isDigit(d1) || !isDigit(d2)) return HTTP_BAD_STATUS;
  // Tolerated: no SP after the code when there is no reason ("HTTP/1.1 200"), which many
  // servers send and which is unambiguous. Anything else glued to the code ("2000", "200OK")
  // is not a status.
  if (n > 12 && <u32>load<u8>(buf + s + 12) != SP) return HTTP_BAD_STATUS;
  const status = (d0 - 0x30) * 100 + (d1 - 0x30) * 10 + (d2 - 0x30);
  if (status < 100 || status > 599) return HTTP_BAD_STATUS; // RFC 9110 15
  const rs = n > 12 ? s + 13 : e;
  // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ): the field-value bytes.
  for (let i = rs; i < e; i++) if (!isFieldValueByte(load<u8>(buf + i))) return HTTP_BAD_STATUS_LINE;
  store<u32>(table + H1_VERSION, version);
  store<u32>(table + H1_STATUS, status);
  store<u32>(table + H1_REASON_START, rs);
  store<u32>(table + H1_REASON_END, e);
  return 0;
}

/** RFC 9112 6.3 for responses, once the head is complete. */
function responseFraming(table: usize, request: u32): i32 {
  const version = load<u32>(table + H1_VERSION);
  const status = load<u32>(table + H1_STATUS);
  // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; with CL it is ambiguous.
  // Both are checked whatever the status, so a hostile origin cannot hide them behind a 304.
  if (teSeen && version == 10) return HTTP_TE_HTTP10;
  if (teSeen && clSeen) return HTTP_CL_AND_TE;
  let keepAlive = version == 11 ? !connClose : connKeepAlive && !connClose;
  let framing = H1_FRAMING_NONE;
  if (request == <u32>H1_REQ_HEAD || status < 200 || status == 204 || status == 304) {
    framing = H1_FRAMING_NONE; // 6.3 rule 1: ends at the empty line
  } else if (request == <u32>H1_REQ_CONNECT && status < 300) {
    keepAlive = false; // 6.3 rule 2: the connection is now a tunnel
  } else if (teSeen) {
    framing = H1_FRAMING_CHUNKED; // rule 4
  } else if (clSeen) {
    framing = H1_FRAMING_LENGTH; // rule 6
    store<u32>(table + H1_LENGTH_LO, <u32>clValue);
    store<u32>(table + H1_LENGTH_HI, <u32>(clValue >> 32));
  } else {
    framing = H1_FRAMING_CLOSE; // rule 8: read until the server closes
    keepAlive = false;
  }
  // 101 switches the connection to another protocol: no further HTTP/1.1 exchange on it.
  if (status == 101) keepAlive = false;
  store<u32>(table + H1_FRAMING, framing);
  let flags: u32 = keepAlive ? H1F_KEEP_ALIVE : 0;
  if (connUpgrade && upgradeSeen) flags |= H1F_UPGRADE;
  store<u32>(table + H1_FLAGS, flags);
  return 0;
}

/** Parses the response head at the start of [buf, buf + len). `request` is H1_REQ_HEAD,
 *  H1_REQ_CONNECT or H1_REQ_OTHER (what was asked decides some framing). Returns the body
 *  offset (> 0), 0 when more bytes are needed, or a code. A 1xx head is reported like any
 *  other (framing none); the host parses the next head from the returned offset. */
export function parseResponseHead(buf: usize, len: u32, limit: u32, request: u32, table: usize, cap: u32): i32 {
  if (limit == 0 || limit > 0x7fffffff || request > <u32>H1_REQ_CONNECT) return BAD_ARGUMENT;
  memory.fill(table, 0, H1_FIELDS);
  beginFields();
  const r = findLine(buf, 0, len, limit, true);
  if (r <= 0) return r;
  const line = statusLine(buf, 0, lineEnd, table);
  if (line < 0) return line;
  const body = scanFields(buf, lineNext, len, limit, table, cap, false);
  if (body <= 0) return body;
  const framing = responseFraming(table, request);
  if (framing < 0) return framing;
  return body;
}
