// Header fields out of an offset table (wasm/ABI.md "Field tables"): the head is decoded to
// one latin-1 string once and each name and value is a slice of it — several times cheaper
// than a decode per field (bench/codec.bench.ts), and slices share the parent's storage.
import { FIELD_NAME_END, FIELD_NAME_START, FIELD_SIZE, FIELD_VALUE_END, FIELD_VALUE_START } from "../../wasm/abi/layout.js";

// Read once: under some loaders imported constants are getters, and this loop is hot.
const NAME_START = FIELD_NAME_START >>> 2;
const NAME_END = FIELD_NAME_END >>> 2;
const VALUE_START = FIELD_VALUE_START >>> 2;
const VALUE_END = FIELD_VALUE_END >>> 2;
const INTS = FIELD_SIZE >>> 2;

/** `fields` is the byte address of the first field entry, `count` how many there are. */
export function readFields(i32: Int32Array, fields: number, count: number, head: string): Array<[string, string]> {
  const out: Array<[string, string]> = new Array(count);
  for (let i = 0, f = fields >>> 2; i < count; i++, f += INTS) {
    out[i] = [head.slice(i32[f + NAME_START], i32[f + NAME_END]), head.slice(i32[f + VALUE_START], i32[f + VALUE_END])];
  }
  return out;
}
