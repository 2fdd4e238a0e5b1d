// The set of request ids in flight on one connection, as a 65,536-bit bitmap inside the
// decoder state (ids are 16-bit, spec 3.3). Id 0 is the management id and is never in flight.

import { DEC_BITMAP } from "../../abi/layout";

// @ts-ignore: decorator
@inline export function isInFlight(s: usize, id: u32): bool {
  return (load<u8>(s + DEC_BITMAP + (id >> 3)) & (1 << (id & 7))) != 0;
}

export function setInFlight(s: usize, id: u32, on: bool): void {
  const p = s + DEC_BITMAP + (id >> 3);
  const bit = <u8>(<u32>1 << (id & 7));
  store<u8>(p, on ? load<u8>(p) | bit : load<u8>(p) & ~bit);
}
