// FastCGI name-value pairs (spec 3.4): nameLength, valueLength, nameData, valueData, where a
// length below 128 is one byte and any other length is four bytes, big-endian, with the high
// bit of the first byte set (so at most 2^31 - 1). PARAMS, GET_VALUES and GET_VALUES_RESULT
// all carry this encoding.

import { FCGI_BAD_PAIRS, OUTPUT_TOO_SMALL } from "../../abi/codes";
import { PAIR_NAME_END, PAIR_NAME_START, PAIR_SIZE, PAIR_VALUE_END, PAIR_VALUE_START } from "../../abi/layout";
import { copyBytes, getU32BE, putU32BE } from "../util/bytes";
import { countPairs, entryData, entryLen, nextEntry } from "../util/list";

/** Bytes the length prefix for `n` takes. */
// @ts-ignore: decorator
@inline export function lengthSize(n: u32): u32 {
  return n < 128 ? 1 : 4;
}

/** Writes the length prefix for `n` at `p`; returns its size. */
export function putLength(p: usize, n: u32): u32 {
  if (n < 128) {
    store<u8>(p, <u8>n);
    return 1;
  }
  putU32BE(p, n | 0x80000000);
  return 4;
}

/** Size of one encoded pair. */
// @ts-ignore: decorator
@inline export function pairSize(nameLen: u32, valueLen: u32): u32 {
  return lengthSize(nameLen) + lengthSize(valueLen) + nameLen + valueLen;
}

/** Writes one pair at `p`; returns its size. */
export function putPair(p: usize, name: usize, nameLen: u32, value: usize, valueLen: u32): u32 {
  let q = p;
  q += putLength(q, nameLen);
  q += putLength(q, valueLen);
  copyBytes(q, name, nameLen);
  q += nameLen;
  copyBytes(q, value, valueLen);
  return <u32>(q + valueLen - p);
}

/** Encoded size of the pair list at [list, list + listLen), or BAD_LIST. Entries longer than
 *  2^31 - 1 cannot occur: a Wasm32 memory cannot hold them. */
export function encodedPairsSize(list: usize, listLen: u32): i32 {
  const pairs = countPairs(list, listLen);
  if (pairs < 0) return pairs;
  let size: u32 = 0;
  let e = list;
  for (let i = 0; i < pairs; i++) {
    const v = nextEntry(e);
    size += pairSize(entryLen(e), entryLen(v));
    e = nextEntry(v);
  }
  return <i32>size;
}

/** Encodes the pair list into `out`; returns the size written, BAD_LIST or OUTPUT_TOO_SMALL. */
export function encodePairs(out: usize, cap: u32, list: usize, listLen: u32): i32 {
  const size = encodedPairsSize(list, listLen);
  if (size < 0) return size;
  if (<u32>size > cap) return OUTPUT_TOO_SMALL;
  let q = out;
  let e = list;
  const end = list + listLen;
  while (e < end) {
    const v = nextEntry(e);
    q += putPair(q, entryData(e), entryLen(e), entryData(v), entryLen(v));
    e = nextEntry(v);
  }
  return size;
}

/** Reads a length at `p` (before `end`) into `lenOut`; returns the prefix size or 0 when the
 *  prefix itself is truncated. */
function readLength(p: usize, end: usize, lenOut: usize): u32 {
  if (p >= end) return 0;
  const b = <u32>load<u8>(p);
  if (b < 128) {
    store<u32>(lenOut, b);
    return 1;
  }
  if (end - p < 4) return 0;
  store<u32>(lenOut, getU32BE(p) & 0x7fffffff);
  return 4;
}

// Scratch for readLength's out-parameter: module-static, so no allocation per call. The module
// is single-threaded and never re-entered (ARCHITECTURE.md), so one slot per value suffices.
const LEN_SCRATCH: usize = memory.data(8);

/** Decodes a complete name-value stream at [buf, buf + len) into the offset table at `table`
 *  (PAIR_SIZE bytes per pair, offsets relative to `buf`). Returns the number of pairs,
 *  FCGI_BAD_PAIRS when a length runs past the end, or OUTPUT_TOO_SMALL when more than `cap`
 *  pairs are present (len / 2 entries always suffice: a pair takes at least two bytes). */
export function decodePairs(buf: usize, len: u32, table: usize, cap: u32): i32 {
  const end = buf + len;
  let p = buf;
  let count: u32 = 0;
  while (p < end) {
    let k = readLength(p, end, LEN_SCRATCH);
    if (k == 0) return FCGI_BAD_PAIRS;
    p += k;
    k = readLength(p, end, LEN_SCRATCH + 4);
    if (k == 0) return FCGI_BAD_PAIRS;
    p += k;
    const nameLen = load<u32>(LEN_SCRATCH);
    const valueLen = load<u32>(LEN_SCRATCH + 4);
    if (<u64>nameLen + <u64>valueLen > <u64>(end - p)) return FCGI_BAD_PAIRS;
    if (count >= cap) return OUTPUT_TOO_SMALL;
    const t = table + count * PAIR_SIZE;
    const ns = <u32>(p - buf);
    store<u32>(t + PAIR_NAME_START, ns);
    store<u32>(t + PAIR_NAME_END, ns + nameLen);
    store<u32>(t + PAIR_VALUE_START, ns + nameLen);
    store<u32>(t + PAIR_VALUE_END, ns + nameLen + valueLen);
    p += nameLen + valueLen;
    count++;
  }
  return <i32>count;
}
