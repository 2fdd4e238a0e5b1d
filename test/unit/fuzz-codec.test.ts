// The bounded, fixed-seed fuzz run inside `npm test`: every target's property over a few
// hundred generated inputs (the same ones every run; `npm run fuzz` explores with new seeds).
// A failure prints the shrunk input; `npm run fuzz` saves such inputs as vectors.

import fc from "fast-check";
import { describe, it } from "vitest";
import { TARGETS } from "../fuzz/targets";
import { fuzzCodec } from "../fuzz/wasm";

const SEED = 0x5eed;
/** Runs per target: enough to cross every generator branch, small enough for ~10 s in all. */
const RUNS: Record<string, number> = { "cgi-params": 250, "fastcgi-decoder": 150, "fastcgi-decoder-roundtrip": 120 };

describe("fuzz (bounded, fixed seed)", () => {
  for (const target of TARGETS) {
    it(`${target.name}: ${target.promise}`, () => {
      const f = fuzzCodec();
      fc.assert(
        fc.property(target.arb, (input) => target.check(f, input, false)),
        { seed: SEED, numRuns: RUNS[target.name] ?? 200, endOnFailure: false },
      );
    });
  }
});
