// The host input list: a run of entries, each a u32 little-endian byte length followed by that
// many bytes (wasm/ABI.md "Input lists"). A pair list is such a list with an even number of
// entries: name, value, name, value... Every reader here validates before it trusts a length,
// because the list comes from the host and a wrong length must become BAD_LIST, not a wild read.

import { BAD_LIST } from "../../abi/codes";

/** Checks that entries tile [p, p + len) exactly and that there is an even number of them.
 *  Returns the number of pairs, or BAD_LIST. */
export function countPairs(p: usize, len: u32): i32 {
  let off: u32 = 0;
  let entries: u32 = 0;
  while (off < len) {
    if (len - off < 4) return BAD_LIST;
    const n = load<u32>(p + off);
    if (n > len - off - 4) return BAD_LIST;
    off += 4 + n;
    entries++;
  }
  if (entries & 1) return BAD_LIST;
  return <i32>(entries >> 1);
}

/** Length of the entry at `e` (an entry's start, i.e. its length prefix). */
// @ts-ignore: decorator
@inline export function entryLen(e: usize): u32 {
  return load<u32>(e);
}

/** First byte of the entry at `e`. */
// @ts-ignore: decorator
@inline export function entryData(e: usize): usize {
  return e + 4;
}

/** The entry after the one at `e`. Only valid on a list countPairs accepted. */
// @ts-ignore: decorator
@inline export function nextEntry(e: usize): usize {
  return e + 4 + load<u32>(e);
}
