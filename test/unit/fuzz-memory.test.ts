// The Wasm heap stays flat under a long stream of random inputs. Seeds come from every fuzz
// target's generator; the 100,000 inputs are those seeds mutated afresh (a seeded PRNG
// setting, inserting and deleting bytes), each run the way a host calls the codec (decoders
// created and freed). After a warm-up that has run every seed, so each scratch buffer has its
// final size, linear memory must not grow by a single page: a leak of a few bytes per call,
// or a state never freed, would.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TARGETS } from "../fuzz/targets";
import type { BytesInput } from "../fuzz/target";
import { fromLatin1, toLatin1 } from "../fuzz/bytes";
import { fuzzCodec } from "../fuzz/wasm";

const TOTAL = 100_000;
const SEEDS = 150;
const EDGE = [0x00, 0x0a, 0x0d, 0x20, 0x3a, 0x30, 0x01, 0x7f, 0xff];

/** xorshift32: a fixed sequence, cheap enough for 100,000 mutations. */
function prng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function mutate(bytes: string, next: () => number): string {
  const b = Array.from(fromLatin1(bytes.length > 4096 ? bytes.slice(0, 4096) : bytes));
  for (let k = 1 + (next() % 3); k > 0; k--) {
    const at = b.length ? next() % b.length : 0;
    const byte = next() % 2 ? EDGE[next() % EDGE.length] : next() & 0xff;
    const op = next() % 3;
    if (op === 0 && b.length) b[at] = byte;
    else if (op === 1) b.splice(at, 0, byte);
    else b.splice(at, 1);
  }
  return toLatin1(Uint8Array.from(b));
}

describe("Wasm memory under fuzzing", () => {
  it(`does not grow over ${TOTAL.toLocaleString("en")} random inputs after a warm-up`, () => {
    const f = fuzzCodec();
    const pools = TARGETS.map((t, k) => ({ t, seeds: fc.sample(t.arb, { seed: 0xbeef + k, numRuns: SEEDS }) }));
    const isBytes = (x: unknown): x is BytesInput => typeof (x as BytesInput).bytes === "string";
    // Warm-up: every seed, and every byte seed grown by the most a mutation adds.
    for (const { t, seeds } of pools) {
      for (const s of seeds) {
        t.once(f, s);
        if (isBytes(s)) t.once(f, { ...s, bytes: s.bytes.slice(0, 4096) + "\r\n\r\n" });
      }
    }
    // The loop uses the seeds up to 8 KiB (the largest ones ran in the warm-up; repeating
    // them thousands of times would only cost time).
    for (const p of pools) p.seeds = p.seeds.filter((s) => JSON.stringify(s).length <= 8192);
    const before = f.memoryBytes();
    const next = prng(0x5eed);
    let calls = 0;
    while (calls < TOTAL) {
      for (const { t, seeds } of pools) {
        const s = seeds[next() % seeds.length];
        t.once(f, isBytes(s) ? { ...s, bytes: mutate(s.bytes, next) } : s);
        calls++;
      }
    }
    expect(f.memoryBytes(), `linear memory after ${calls} calls (${before} bytes after the warm-up)`).toBe(before);
  }, 120_000);
});
