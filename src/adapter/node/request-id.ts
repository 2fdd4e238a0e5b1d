// Request ids for `edgepass serve`: 16 hex digits, as core's randomId, taken from a block of
// random bytes drawn 512 ids at a time instead of one getRandomValues call per request.
import { randomBytes } from "node:crypto";

const IDS = 512;
let block = randomBytes(8 * IDS);
let next = 0;

export function nextRequestId(): string {
  if (next === IDS) {
    block = randomBytes(8 * IDS);
    next = 0;
  }
  const at = 8 * next++;
  return block.toString("hex", at, at + 8);
}
