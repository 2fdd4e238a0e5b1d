// Small copies and buffers share 64 KiB blocks (core/bytes.ts): each is its own bytes, never
// handed out twice, whatever sizes come in between.
import { describe, expect, it } from "vitest";
import { ownCopy, SHARED_MAX, sharedBytes } from "../../src/core/bytes";

describe("shared blocks", () => {
  it("hands out regions that never overlap and keep their bytes", () => {
    const got: Array<{ view: Uint8Array; fill: number }> = [];
    let seed = 7;
    for (let i = 0; i < 2_000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const len = seed % (SHARED_MAX + 1);
      const fill = i & 0xff;
      const view = i % 2 ? sharedBytes(len) : ownCopy(new Uint8Array(len).fill(fill));
      view.fill(fill);
      expect(view.byteOffset % 8).toBe(0);
      got.push({ view, fill });
    }
    for (const { view, fill } of got) expect(view.every((b) => b === fill)).toBe(true);
  });

  it("copies a larger source into a buffer of its own", () => {
    const big = new Uint8Array(SHARED_MAX + 1).fill(3);
    const copy = ownCopy(big);
    expect(copy.byteLength).toBe(SHARED_MAX + 1);
    expect(copy.buffer.byteLength).toBe(SHARED_MAX + 1);
    expect(copy.buffer).not.toBe(big.buffer);
  });
});
