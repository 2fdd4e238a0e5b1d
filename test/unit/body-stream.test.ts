// The one pull loop every exchange streams a response body through (protocol/body-stream.ts):
// its stall guard, which pooled FastCGI and pooled HTTP share, lets a kept connection go when
// the client stops taking the body, and only while the origin still owes some of it; read
// directly as pieces (serve's writer), and held to a declared length (core/pieces.ts).
import { afterEach, describe, expect, it, vi } from "vitest";
import { declaredPieces, piecesOf, type Pieces } from "../../src/core/pieces.js";
import { sourceBody, type BodySource } from "../../src/protocol/body-stream.js";

afterEach(() => vi.useRealTimers());

function source(pieces: number, done: () => boolean) {
  const released: boolean[] = [];
  const stalls: number[] = [];
  const taken: number[] = [];
  const src: BodySource = {
    pending: Array.from({ length: pieces }, (_, i) => new Uint8Array([i])),
    done,
    step: () => new Promise(() => {}), // the origin sends nothing more
    release: (clean) => released.push(clean),
    onError: () => {},
    taken: (p) => taken.push(p[0]),
    stall: { ms: 1000, stalled: () => stalls.push(Date.now()) },
  };
  return { src, released, stalls, taken };
}

describe("sourceBody's stall guard", () => {
  it("a client that takes nothing for stall.ms while the origin owes more: CLIENT_GONE, connection let go", async () => {
    vi.useFakeTimers();
    const s = source(2, () => false);
    const reader = sourceBody(s.src).toStream().getReader();
    expect((await reader.read()).value).toEqual(new Uint8Array([0]));
    await vi.advanceTimersByTimeAsync(999);
    expect(s.stalls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.stalls).toHaveLength(1);
    expect(s.released).toEqual([false]);
    await expect(reader.read()).rejects.toMatchObject({ code: "CLIENT_GONE", status: 499 });
    expect(s.taken).toEqual([0]);
  });

  it("each piece taken restarts the bound; a client that reads on is never cut", async () => {
    vi.useFakeTimers();
    const s = source(3, () => false);
    const reader = sourceBody(s.src).toStream().getReader();
    for (let i = 0; i < 3; i++) {
      expect((await reader.read()).value).toEqual(new Uint8Array([i]));
      await vi.advanceTimersByTimeAsync(900);
    }
    expect(s.stalls).toHaveLength(0);
    expect(s.released).toEqual([]);
    expect(s.taken).toEqual([0, 1, 2]);
    await reader.cancel();
    expect(s.released).toEqual([false]);
  });

  it("once the whole answer is in, a slow client holds no connection and is not cut", async () => {
    vi.useFakeTimers();
    let done = false;
    const s = source(2, () => done);
    const reader = sourceBody(s.src).toStream().getReader();
    await reader.read();
    done = true;
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.stalls).toHaveLength(0);
    expect((await reader.read()).value).toEqual(new Uint8Array([1]));
    expect((await reader.read()).done).toBe(true);
    expect(s.released).toEqual([true]);
  });
});

describe("a body read directly as pieces (core/pieces.ts)", () => {
  it("an unread body stream hands over all that has arrived in one call, from its source", async () => {
    const s = source(3, () => false);
    const pieces = piecesOf(sourceBody(s.src));
    expect(await pieces.next()).toEqual([new Uint8Array([0]), new Uint8Array([1]), new Uint8Array([2])]);
    expect(s.taken).toEqual([0, 1, 2]);
    pieces.cancel();
    expect(s.released).toEqual([false]);
  });

  it("is read once: as pieces or as a stream, whichever is asked for first; a body being read is its reader's to stop", async () => {
    const s = source(3, () => false);
    const body = sourceBody(s.src);
    const reader = body.toStream().getReader();
    expect(body.locked).toBe(true);
    expect((await reader.read()).value).toEqual(new Uint8Array([0]));
    expect(() => piecesOf(body)).toThrow(TypeError);
    expect(() => body.toStream()).toThrow(TypeError);
    body.cancel();
    expect(s.released).toEqual([]);
    expect((await reader.read()).value).toEqual(new Uint8Array([1]));
    // An unread one is dropped by cancel: its connection goes.
    const t = source(1, () => false);
    const unread = sourceBody(t.src);
    unread.cancel();
    expect(t.released).toEqual([false]);
    expect(() => piecesOf(unread)).toThrow(TypeError);
  });

  it("any other stream, byte stream or not, is read in Node with a default reader: each chunk as it was made", async () => {
    const plain = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array([1, 2]));
        c.enqueue(new Uint8Array([3]));
        c.close();
      },
    });
    const bytes = new ReadableStream({
      type: "bytes",
      start(c: ReadableByteStreamController) {
        c.enqueue(new Uint8Array([1, 2]));
        c.enqueue(new Uint8Array([3]));
        c.close();
      },
    }) as ReadableStream<Uint8Array>;
    for (const stream of [plain, bytes]) {
      const getReader = vi.spyOn(stream, "getReader");
      const pieces = piecesOf(stream);
      expect(getReader.mock.calls).toEqual([[]]);
      expect(await pieces.next()).toEqual([new Uint8Array([1, 2])]);
      expect(await pieces.next()).toEqual([new Uint8Array([3])]);
      expect(await pieces.next()).toBeNull();
    }
  });

  it("the stall guard holds on the direct path too: a writer that asks for nothing more for stall.ms lets the connection go", async () => {
    vi.useFakeTimers();
    const s = source(1, () => false);
    const pieces = piecesOf(sourceBody(s.src));
    await pieces.next();
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.stalls).toHaveLength(1);
    expect(s.released).toEqual([false]);
    await expect(pieces.next()).rejects.toMatchObject({ code: "CLIENT_GONE", status: 499 });
  });

  it("empty pieces are never handed on", async () => {
    let done = false;
    const s = source(0, () => done);
    s.src.pending.push(new Uint8Array(0), new Uint8Array([7]), new Uint8Array(0));
    const pieces = piecesOf(sourceBody(s.src));
    expect(await pieces.next()).toEqual([new Uint8Array([7])]);
    done = true;
    expect(await pieces.next()).toBeNull();
    expect(s.released).toEqual([true]);
  });
});

/** Pieces handed over in the given batches, then the end (or `fail`). */
function batches(list: number[][][], fail?: Error): Pieces & { cancelled: boolean } {
  let i = 0;
  const p = {
    cancelled: false,
    async next() {
      if (i < list.length) return list[i++].map((b) => new Uint8Array(b));
      if (fail) throw fail;
      return null;
    },
    cancel() {
      p.cancelled = true;
    },
  };
  return p;
}

describe("declaredPieces: a body held to its declared length", () => {
  it("a body of exactly the declared length passes as it came", async () => {
    const src = batches([[[1, 2], [3]], [[4]]]);
    const held = declaredPieces(src, 4);
    expect(await held.next()).toEqual([new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect(await held.next()).toEqual([new Uint8Array([4])]);
    expect(await held.next()).toBeNull();
  });

  it("bytes past the length are dropped mid-batch, the source cancelled and overrun told", async () => {
    let overrun = 0;
    const src = batches([[[1, 2], [3, 4, 5], [6]], [[7]]]);
    const held = declaredPieces(src, 3, () => overrun++);
    expect(await held.next()).toEqual([new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect(await held.next()).toBeNull();
    expect(overrun).toBe(1);
    expect(src.cancelled).toBe(true);
  });

  it("a body that ends short of its length rejects, so the writer cuts the connection", async () => {
    const held = declaredPieces(batches([[[1, 2]]]), 5);
    expect(await held.next()).toEqual([new Uint8Array([1, 2])]);
    await expect(held.next()).rejects.toThrow("the body ended after 2 of 5 declared bytes");
  });

  it("no declared length: every piece as it comes, and the source's failure passes on", async () => {
    const held = declaredPieces(batches([[[1]], [[2, 3]]], new Error("origin reset")), null);
    expect(await held.next()).toEqual([new Uint8Array([1])]);
    expect(await held.next()).toEqual([new Uint8Array([2, 3])]);
    await expect(held.next()).rejects.toThrow("origin reset");
  });
});
