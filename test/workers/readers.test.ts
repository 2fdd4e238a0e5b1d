// The platform's readers the gateway counts on in workerd: a BYOB reader whose readAtLeast
// waits for more than one socket read brings (request bodies and origin reads are taken in up
// to 64 KiB at a time, not workerd's 4 KiB reads). Node has no readAtLeast, and there nothing
// is tried (test/unit/upstream-io.test.ts).
import { describe, expect, it } from "vitest";
import { readBody } from "../../src/core/body.js";
import { ReplayableBody } from "../../src/core/replay.js";
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

/** A byte stream of `size` bytes (byte i is i % 251), enqueued in pieces of `piece`. */
function body(size: number, piece: number): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    start(c: ReadableByteStreamController) {
      for (let at = 0; at < size; at += piece) c.enqueue(Uint8Array.from({ length: Math.min(piece, size - at) }, (_, i) => (at + i) % 251));
      c.close();
    },
  }) as ReadableStream<Uint8Array>;
}

const expected = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) % 251);

describe("request body reads in workerd", () => {
  it("a sender that writes each piece before the next read gets them in the memory of the last one", async () => {
    const pieces = readBody({ length: 200_000, stream: body(200_000, 10_000) }, () => true);
    const first = (await pieces.next())![0]!;
    expect(first.byteLength).toBe(65_536);
    expect([...first.subarray(0, 3)]).toEqual(expected(0, 3));
    const second = (await pieces.next())![0]!;
    // The second read took the first one's memory over: its view is empty now.
    expect(first.byteLength).toBe(0);
    expect([...second.subarray(0, 3)]).toEqual(expected(65_536, 3));
  });

  it("what is held for a resend is never read over: a body of 64 KiB or less replays whole, and a longer one reuses memory only past it", async () => {
    const small = new ReplayableBody({ length: 60_000, stream: body(60_000, 7_000) });
    const a = small.cursor();
    const got: number[] = [];
    for (let p = await a.next(); p !== "end" && p !== null; p = await a.next()) got.push(...p);
    expect(got).toEqual(expected(0, 60_000));
    const again: number[] = [];
    const b = small.cursor();
    for (let p = await b.next(); p !== "end" && p !== null; p = await b.next()) again.push(...p);
    expect(again).toEqual(expected(0, 60_000));

    const big = new ReplayableBody({ length: 300_000, stream: body(300_000, 50_000) });
    const c = big.cursor();
    const seen: Uint8Array[] = [];
    let at = 0;
    for (let p = await c.next(); p !== "end" && p !== null; p = await c.next()) {
      // Each piece is whole when it is handed on (its sender writes it before asking again).
      expect([...p.subarray(0, 2)], `piece at ${at}`).toEqual(expected(at, 2));
      at += p.byteLength;
      seen.push(p);
    }
    expect(at).toBe(300_000);
    // The first piece was held for a resend while the second was read: never read over. Past
    // 64 KiB, with nothing held, the third read took over the second one's memory.
    expect(seen[0]!.byteLength).toBe(65_536);
    expect(seen[1]!.byteLength).toBe(0);
  });
});
