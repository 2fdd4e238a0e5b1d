// Request ids for hosts that have none from the platform: 16 hex digits, drawn from a block of
// random bytes 512 ids at a time instead of one getRandomValues call (and one array) each, and
// written from a table. The block is filled at the first call, not at load: workerd refuses
// random values in global scope.
const IDS = 512;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const block = new Uint8Array(8 * IDS);
let next = IDS;

export function randomId(): string {
  if (next === IDS) {
    crypto.getRandomValues(block);
    next = 0;
  }
  let id = "";
  for (let i = 8 * next++, end = i + 8; i < end; i++) id += HEX[block[i]];
  return id;
}
