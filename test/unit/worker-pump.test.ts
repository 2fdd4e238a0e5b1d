// The Worker's pump (adapter/cloudflare/respond.ts) gives an origin's pieces back to their read
// memory as soon as it has made the write (workerd copies a chunk when write() is called). From
// then on the memory may be read into again, and in workerd a BYOB read moves it into a buffer
// of its own, which leaves every old view of it empty, lengths included. A pooled connection
// reads ahead while a write is pending, so the pump must count what it wrote before giving the
// pieces back: the request line's bytes_out once read 4,132,872 of a 4 MiB body. Here the
// destination's write does what that read-ahead does before it settles.
import { describe, expect, it } from "vitest";
import { pump } from "../../src/adapter/cloudflare/respond.js";
import type { Pieces } from "../../src/core/pieces.js";
import { lend, settle, SLAB_BYTES, slabMemory } from "../../src/core/read-slabs.js";

/** `n` reads, each a whole slab handed on as one piece, as an origin's connection hands them. */
function originReads(n: number): Pieces {
  let i = 0;
  return {
    own: true,
    async next() {
      if (i++ >= n) return null;
      const chunk = lend(slabMemory().fill(i));
      settle(chunk, [chunk]);
      return [chunk];
    },
    cancel() {},
  };
}

describe("the Worker's pump", () => {
  it("counts every byte it wrote, though the memory is read into again before the write settles", async () => {
    let written = 0;
    const dst = new WritableStream<Uint8Array>({
      async write(chunk) {
        written += chunk.byteLength; // what workerd copies when write() is called
        await Promise.resolve();
        // The connection's next read: the memory just given back, moved as a BYOB read moves it.
        const next = slabMemory();
        structuredClone(next.buffer, { transfer: [next.buffer] });
      },
    });
    let counted = 0;
    let ended = 0;
    await pump(originReads(6), dst, { count: (n) => (counted += n), end: () => ended++ });
    expect(written).toBe(6 * SLAB_BYTES);
    expect(counted).toBe(6 * SLAB_BYTES);
    expect(ended).toBe(1);
  });
});
