// A pool object's count of each streamed body it hands the Worker, which the Worker asks for
// when its native relay could not count (the request line's bytes_out). What must hold: the
// answer is the count once the body ended, however it ended; a count the Worker knows already
// (a declared length, sent whole) is not kept; a count nobody asks for is dropped in time.
import { afterEach, describe, expect, it, vi } from "vitest";
import { HopCounts } from "../../src/adapter/cloudflare/hop-counts.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("HopCounts", () => {
  it("a body of unknown length: its count, once, then forgotten", async () => {
    const counts = new HopCounts();
    const m = counts.meter("a.1", null);
    m.count(100);
    m.count(23);
    m.end();
    expect(await counts.take("a.1")).toBe(123);
    expect(await counts.take("a.1")).toBeNull();
  });

  it("a declared length sent whole is not kept (the Worker knows it); one cut short is", async () => {
    const counts = new HopCounts();
    const whole = counts.meter("a.1", 10);
    whole.count(10);
    whole.end();
    const cut = counts.meter("a.2", 10);
    cut.count(4);
    cut.end();
    expect(await counts.take("a.1")).toBeNull();
    expect(await counts.take("a.2")).toBe(4);
  });

  it("asked before the body ended: the answer waits for its end", async () => {
    const counts = new HopCounts();
    const m = counts.meter("a.1", null);
    m.count(5);
    const answer = counts.take("a.1");
    m.count(7);
    m.end();
    expect(await answer).toBe(12);
  });

  it("a body still being written after 2 s: the count so far", async () => {
    vi.useFakeTimers();
    const counts = new HopCounts();
    const m = counts.meter("a.1", null);
    m.count(9);
    const answer = counts.take("a.1");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await answer).toBe(9);
  });

  it("hand-offs do not mix: each key has its own count", async () => {
    const counts = new HopCounts();
    const a = counts.meter("x.1", null);
    const b = counts.meter("y.1", null);
    a.count(1);
    b.count(2);
    a.end();
    b.end();
    expect([await counts.take("y.1"), await counts.take("x.1")]).toEqual([2, 1]);
  });

  it("a count nobody asks for is dropped after a minute", async () => {
    vi.useFakeTimers();
    const counts = new HopCounts();
    const m = counts.meter("a.1", null);
    m.count(3);
    m.end();
    await vi.advanceTimersByTimeAsync(59_000);
    const kept = counts.meter("a.2", null);
    kept.end();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await counts.take("a.1")).toBeNull();
    expect(await counts.take("a.2")).toBe(0);
  });
});
