// Byte-level building blocks for the fuzz generators: latin-1 strings as JSON-friendly byte
// carriers, mutations that push a well-formed input toward the edges of its grammar, and the
// chunkings every streaming property is run at.

import fc from "fast-check";
import { concatBytes as concat } from "../../src/core/bytes";

/** Bytes as a latin-1 string (one char per byte): survives JSON and vector files exactly. */
export function toLatin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
  return s;
}

export function fromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export { concat };

/** Bytes that sit on a grammar edge somewhere: line ends, separators, controls, hex digits,
 *  the first and last byte values. */
const EDGE_BYTES = [
  0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x2d, 0x2f, 0x30, 0x31, 0x37, 0x39, 0x3a, 0x3b, 0x3d, 0x41, 0x46,
  0x5f, 0x61, 0x66, 0x78, 0x7f, 0x80, 0xff, 0x01, 0x08, 0x7e,
];
export const edgeByte = fc.oneof(fc.constantFrom(...EDGE_BYTES), fc.integer({ min: 0, max: 255 }));

export type Mutation =
  | { op: "set"; at: number; byte: number }
  | { op: "insert"; at: number; bytes: number[] }
  | { op: "delete"; at: number; len: number }
  | { op: "repeat"; at: number; len: number; times: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: edgeByte }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.array(edgeByte, { minLength: 1, maxLength: 4 }) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant("repeat" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 24 }), times: fc.integer({ min: 1, max: 40 }) }),
);

/** Applies mutations in order; positions wrap around the current length. */
export function applyMutations(input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = input;
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + (m.op === "insert" ? 1 : 0));
    if (m.op === "set") {
      if (b.length > 0) (b = b.slice()), (b[at] = m.byte);
    } else if (m.op === "insert") b = concat([b.subarray(0, at), Uint8Array.from(m.bytes), b.subarray(at)]);
    else if (m.op === "delete") b = concat([b.subarray(0, at), b.subarray(at + m.len)]);
    else {
      const piece = b.subarray(at, at + m.len);
      b = concat([b.subarray(0, at), ...Array.from({ length: m.times }, () => piece), b.subarray(at)]);
    }
  }
  return b;
}

/** A well-formed input (as bytes), unchanged half the time, else with 1..4 mutations; and now
 *  and then plain random bytes. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 6, arbitrary: fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([v, ms]) => applyMutations(v, ms)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 96 }) },
  );
}

/** Where a streaming property cuts its input: a list of cut positions (sorted, unique). */
export const cutsArb = fc.array(fc.nat(), { maxLength: 4 });

/** The chunkings a property runs: whole, at `cuts` (taken modulo the length), byte by byte
 *  for short inputs. */
export function chunkingsFor(input: Uint8Array, cuts: number[], byteByByteUpTo = 512): Uint8Array[][] {
  const out: Uint8Array[][] = [[input]];
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  if (points.length > 0) {
    const chunks: Uint8Array[] = [];
    let prev = 0;
    for (const p of [...points, input.length]) {
      chunks.push(input.subarray(prev, p));
      prev = p;
    }
    out.push(chunks);
  }
  if (input.length <= byteByByteUpTo) out.push(Array.from(input, (_, i) => input.subarray(i, i + 1)));
  return out;
}
