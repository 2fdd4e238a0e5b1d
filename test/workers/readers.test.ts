// The platform's readers the gateway counts on in workerd: a BYOB reader whose readAtLeast
// waits for more than one socket read brings (request bodies and origin reads are taken in up
// to 64 KiB at a time, not workerd's 4 KiB reads). Node has no readAtLeast, and there nothing
// is tried (test/unit/upstream-io.test.ts).
import { describe, expect, it } from "vitest";
import { atLeastReader } from "../../src/core/upstream-io.js";

describe("atLeastReader in workerd", () => {
  it("gives a byte stream's BYOB reader, whose readAtLeast gathers several pieces into one read", async () => {
    const stream = new ReadableStream({
      type: "bytes",
      start(c: ReadableByteStreamController) {
        for (let i = 0; i < 3; i++) c.enqueue(new Uint8Array([i, i]));
        c.close();
      },
    }) as ReadableStream<Uint8Array>;
    const reader = atLeastReader(stream);
    expect(reader).not.toBeNull();
    const r = await reader!.readAtLeast(6, new Uint8Array(6));
    expect([...r.value!]).toEqual([0, 0, 1, 1, 2, 2]);
  });
});
