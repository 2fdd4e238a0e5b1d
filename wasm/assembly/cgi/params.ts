// The request's CGI parameter block (RFC 3875 4.1): the gateway's own parameters first, then
// one HTTP_* parameter per client header name (4.1.18). The rules that keep a client from
// steering the app (SECURITY.md "Request -> CGI parameters"):
//   - owned parameters always win and every name is sent once (first owned occurrence wins);
//   - "Proxy" never becomes HTTP_PROXY (httpoxy, CVE-2016-5385);
//   - Content-Length / Content-Type never become HTTP_* (4.1.18: they are CONTENT_LENGTH and
//     CONTENT_TYPE, which the gateway owns);
//   - names with "_" are dropped unless allowed, since X_Foo and X-Foo collide (nginx default);
//   - CR, LF or NUL anywhere fails the whole block (CRLF injection, CVE-2023-25690);
//   - repeated headers are joined with ", " (RFC 9110 5.3), Cookie with "; " (RFC 6265 5.4).
// Input: one buffer holding the owned pair list then the header pair list (wasm/ABI.md).

import {
  BAD_ARGUMENT, CGI_HEADER_NAME_INVALID, CGI_PARAM_CONTROL_CHAR, CGI_PARAM_NAME_EMPTY, CGI_PARAM_TOO_LONG,
  CGI_TOO_MANY_HEADERS, OUTPUT_TOO_SMALL,
} from "../../abi/codes";
import { FORMAT_UWSGI, PARAMS_FORMAT_SHIFT, PARAMS_MAX_HEADERS, PARAMS_UNDERSCORES } from "../../abi/layout";
import { copyBytes } from "../util/bytes";
import { countPairs, entryData, entryLen, nextEntry } from "../util/list";
import { pairBytes, putAfterValue, putBeforeName, putBetween } from "./format";
import {
  cgiNameIs, derivesTo, hasLineBreakOrNul, hasUnderscore, HTTP_PREFIX_LEN, isToken, putCgiName,
  sameCgiName,
} from "./names";

/** Output never exceeds ownedLen + 2 * headersLen bytes: per pair the list spends 8 length
 *  bytes, the output at most 8 plus "HTTP_", and a join adds 2 bytes but drops a whole pair. */
export function paramsBound(ownedLen: u32, headersLen: u32): u32 {
  return ownedLen + 2 * headersLen;
}

function validate(owned: usize, ownedPairs: i32, headers: usize, headerPairs: i32): i32 {
  let e = owned;
  for (let i = 0; i < ownedPairs; i++) {
    const v = nextEntry(e);
    if (entryLen(e) == 0) return CGI_PARAM_NAME_EMPTY;
    if (hasLineBreakOrNul(entryData(e), entryLen(e)) || hasLineBreakOrNul(entryData(v), entryLen(v))) {
      return CGI_PARAM_CONTROL_CHAR;
    }
    e = nextEntry(v);
  }
  e = headers;
  for (let i = 0; i < headerPairs; i++) {
    const v = nextEntry(e);
    if (hasLineBreakOrNul(entryData(e), entryLen(e)) || hasLineBreakOrNul(entryData(v), entryLen(v))) {
      return CGI_PARAM_CONTROL_CHAR;
    }
    if (!isToken(entryData(e), entryLen(e))) return CGI_HEADER_NAME_INVALID;
    e = nextEntry(v);
  }
  return 0;
}

/** True when an owned pair before `upTo` has the same name as the entry at `name`. */
function ownedNameBefore(owned: usize, upTo: usize, name: usize): bool {
  for (let e = owned; e < upTo; e = nextEntry(nextEntry(e))) {
    const n = entryLen(e);
    if (n != entryLen(name)) continue;
    const p = entryData(e);
    const q = entryData(name);
    // Many names share a length (SERVER_NAME, SERVER_PORT, REMOTE_ADDR...) and a start; their
    // last four bytes tell most apart without a call to memory.compare.
    if (n >= 4 && load<u32>(p + n - 4) != load<u32>(q + n - 4)) continue;
    if (memory.compare(p, q, n) == 0) return true;
  }
  return false;
}

/** One bit of 64 for a name, from its length and two of its bytes. Names with different bits
 *  differ, so a name whose bit no earlier owned name set is new without a comparison (the
 *  pairwise check was a third of building a typical block). Names are never empty (validate). */
// @ts-ignore: decorator
@inline function nameBit(p: usize, n: u32): u64 {
  const h = (n * 0x9e3779b1) ^ (<u32>load<u8>(p + n - 1) * 0x85ebca6b) ^ (<u32>load<u8>(p + (n >> 1)) * 0xc2b2ae35);
  return <u64>1 << <u64>(h >>> 26);
}

/** True when the entry's name starts with "HTTP_": only such an owned name can shadow a header. */
// @ts-ignore: decorator
@inline function isHttpName(e: usize): bool {
  return entryLen(e) >= HTTP_PREFIX_LEN && load<u32>(entryData(e)) == 0x50545448 && load<u8>(entryData(e) + 4) == 0x5f;
}

/** True when the header name maps to an owned parameter's name. */
function shadowedByOwned(owned: usize, ownedPairs: i32, name: usize): bool {
  let e = owned;
  for (let i = 0; i < ownedPairs; i++) {
    if (derivesTo(entryData(name), entryLen(name), entryData(e), entryLen(e))) return true;
    e = nextEntry(nextEntry(e));
  }
  return false;
}

// @ts-ignore: decorator
@inline function dropsForUnderscore(name: usize, underscores: bool): bool {
  return !underscores && hasUnderscore(entryData(name), entryLen(name));
}

/** True when the header never becomes a parameter of its own, whatever else is present. */
function neverForwarded(name: usize, underscores: bool): bool {
  const p = entryData(name);
  const n = entryLen(name);
  return dropsForUnderscore(name, underscores) || cgiNameIs(p, n, "PROXY") ||
    cgiNameIs(p, n, "CONTENT_LENGTH") || cgiNameIs(p, n, "CONTENT_TYPE");
}

/** Same CGI name, and not dropped for an underscore: the header joins the other's value. */
// @ts-ignore: decorator
@inline function joins(a: usize, b: usize, underscores: bool): bool {
  return sameCgiName(entryData(a), entryLen(a), entryData(b), entryLen(b)) && !dropsForUnderscore(b, underscores);
}

/** Builds the block into `out`; returns its size or a negative code. */
export function buildParams(out: usize, cap: u32, list: usize, ownedLen: u32, headersLen: u32, options: u32): i32 {
  const format = (options >> PARAMS_FORMAT_SHIFT) & 0xff;
  if (format > <u32>FORMAT_UWSGI || (options & ~(PARAMS_UNDERSCORES | (0xff << PARAMS_FORMAT_SHIFT)))) return BAD_ARGUMENT;
  const underscores = (options & PARAMS_UNDERSCORES) != 0;
  const owned = list;
  const headers = list + ownedLen;
  const headersEnd = headers + headersLen;
  const ownedPairs = countPairs(owned, ownedLen);
  if (ownedPairs < 0) return ownedPairs;
  const headerPairs = countPairs(headers, headersLen);
  if (headerPairs < 0) return headerPairs;
  if (headerPairs > PARAMS_MAX_HEADERS) return CGI_TOO_MANY_HEADERS;
  const bad = validate(owned, ownedPairs, headers, headerPairs);
  if (bad < 0) return bad;

  let q = out;
  const end = out + cap;
  let e = owned;
  let names: u64 = 0;
  let httpNames = false;
  for (let i = 0; i < ownedPairs; i++) {
    const v = nextEntry(e);
    const bit = nameBit(entryData(e), entryLen(e));
    if ((names & bit) == 0 || !ownedNameBefore(owned, e, e)) {
      names |= bit;
      if (isHttpName(e)) httpNames = true;
      const size = pairBytes(format, entryLen(e), entryLen(v));
      if (size < 0) return <i32>size;
      if (<u64>size > <u64>(end - q)) return OUTPUT_TOO_SMALL;
      q += putBeforeName(format, q, entryLen(e), entryLen(v));
      copyBytes(q, entryData(e), entryLen(e));
      q += entryLen(e);
      q += putBetween(format, q, entryLen(v));
      copyBytes(q, entryData(v), entryLen(v));
      q += entryLen(v);
      q += putAfterValue(format, q);
    }
    e = nextEntry(v);
  }

  for (let h = headers; h < headersEnd; h = nextEntry(nextEntry(h))) {
    if (neverForwarded(h, underscores) || (httpNames && shadowedByOwned(owned, ownedPairs, h))) continue;
    // A header whose name already appeared was emitted, joined, with that first occurrence.
    let seen = false;
    for (let g = headers; g < h; g = nextEntry(nextEntry(g))) {
      if (joins(h, g, underscores)) { seen = true; break; }
    }
    if (seen) continue;
    const sepLen: u32 = 2;
    const sep0: u8 = cgiNameIs(entryData(h), entryLen(h), "COOKIE") ? 0x3b : 0x2c; // "; " or ", "
    let valueLen: u64 = 0;
    let pieces: u32 = 0;
    for (let g = h; g < headersEnd; g = nextEntry(nextEntry(g))) {
      if (g == h || joins(h, g, underscores)) {
        valueLen += <u64>entryLen(nextEntry(g)) + (pieces ? sepLen : 0);
        pieces++;
      }
    }
    const nameLen = entryLen(h) + HTTP_PREFIX_LEN;
    if (valueLen > 0x7fffffff) return CGI_PARAM_TOO_LONG;
    const size = pairBytes(format, nameLen, <u32>valueLen);
    if (size < 0) return <i32>size;
    if (<u64>size > <u64>(end - q)) return OUTPUT_TOO_SMALL;
    q += putBeforeName(format, q, nameLen, <u32>valueLen);
    putCgiName(q, entryData(h), entryLen(h));
    q += nameLen;
    q += putBetween(format, q, <u32>valueLen);
    let first = true;
    for (let g = h; g < headersEnd; g = nextEntry(nextEntry(g))) {
      if (g != h && !joins(h, g, underscores)) continue;
      if (!first) {
        store<u8>(q, sep0);
        store<u8>(q + 1, 0x20);
        q += sepLen;
      }
      first = false;
      const v = nextEntry(g);
      copyBytes(q, entryData(v), entryLen(v));
      q += entryLen(v);
    }
    q += putAfterValue(format, q);
  }
  return <i32>(q - out);
}
