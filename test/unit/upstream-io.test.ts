// atLeastReader off workerd: Node's BYOB readers have no readAtLeast, so it answers null
// without asking the stream for one (a stream that is not a byte stream refuses with an
// error that is costly to make, on every request body). workerd's side is in
// test/workers/readers.test.ts.
import { describe, expect, it, vi } from "vitest";
import { atLeastReader } from "../../src/core/upstream-io";

describe("atLeastReader in Node", () => {
  it("is null for any stream, which stays unlocked, and no BYOB reader is tried", () => {
    for (const stream of [new ReadableStream<Uint8Array>(), new ReadableStream({ type: "bytes" }) as ReadableStream<Uint8Array>]) {
      const getReader = vi.spyOn(stream, "getReader");
      expect(atLeastReader(stream)).toBeNull();
      expect(getReader).not.toHaveBeenCalled();
      expect(stream.locked).toBe(false);
    }
  });
});
