// The one pull loop every exchange streams a response body through (protocol/body-stream.ts):
// its stall guard, which pooled FastCGI and pooled HTTP share, lets a kept connection go when
// the client stops taking the body, and only while the origin still owes some of it.
import { afterEach, describe, expect, it, vi } from "vitest";
import { bodyStream, type BodySource } from "../../src/protocol/body-stream.js";

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

describe("bodyStream's stall guard", () => {
  it("a client that takes nothing for stall.ms while the origin owes more: CLIENT_GONE, connection let go", async () => {
    vi.useFakeTimers();
    const s = source(2, () => false);
    const reader = bodyStream(s.src).getReader();
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
    const reader = bodyStream(s.src).getReader();
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
    const reader = bodyStream(s.src).getReader();
    await reader.read();
    done = true;
    await vi.advanceTimersByTimeAsync(5000);
    expect(s.stalls).toHaveLength(0);
    expect((await reader.read()).value).toEqual(new Uint8Array([1]));
    expect((await reader.read()).done).toBe(true);
    expect(s.released).toEqual([true]);
  });
});
