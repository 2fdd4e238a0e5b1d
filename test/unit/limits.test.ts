// limit_req's leaky bucket (nginx's arithmetic) and limit_conn's leases, on a clock the test
// moves by hand.
import { describe, expect, it } from "vitest";
import { ConnLeases, takeFromBucket, type Bucket } from "../../src/edge/leaky-bucket.js";
import { memoryLimitStore } from "../../src/edge/limits.js";
import { parseRate } from "../../src/config/limits.js";

describe("rates", () => {
  it("are nginx's: requests per second × 1000, per minute rounded down", () => {
    expect(parseRate("10r/s")).toBe(10_000);
    expect(parseRate("1r/m")).toBe(16);
    expect(parseRate("30r/m")).toBe(500);
    expect(parseRate("0r/s")).toBeNull();
    expect(parseRate("10 r/s")).toBeNull();
    expect(parseRate("10r/h")).toBeNull();
  });
});

describe("the leaky bucket", () => {
  const run = (rate: number, burst: number, nodelay: boolean, times: number[]) => {
    const buckets = new Map<string, Bucket>();
    return times.map((t) => takeFromBucket(buckets, "k", rate, burst, nodelay, t));
  };

  it("without burst: one request per 1/rate, the rest refused", () => {
    const out = run(10_000, 0, false, [0, 50, 99, 100, 150, 200]);
    expect(out.map((o) => o.ok)).toEqual([true, false, false, true, false, true]);
  });

  it("burst with nodelay: 1 + burst pass at once, then refused; Retry-After is the drain time", () => {
    const out = run(1000, 3, true, Array(10).fill(0));
    expect(out.filter((o) => o.ok)).toHaveLength(4);
    expect(out.slice(0, 4).every((o) => o.ok && o.delayMs === 0)).toBe(true);
    expect(out[4]).toEqual({ ok: false, retryAfter: 1 });
  });

  it("burst without nodelay: the excess waits excess/rate", () => {
    const out = run(10_000, 3, false, [0, 0, 0, 0, 0]);
    expect(out).toEqual([
      { ok: true, delayMs: 0 },
      { ok: true, delayMs: 100 },
      { ok: true, delayMs: 200 },
      { ok: true, delayMs: 300 },
      { ok: false, retryAfter: 1 },
    ]);
  });

  it("drains at the rate: after 1/rate one more fits", () => {
    const out = run(2000, 1, true, [0, 0, 0, 499, 500, 501]);
    expect(out.map((o) => o.ok)).toEqual([true, true, false, false, true, false]);
  });

  it("a refused request changes nothing", () => {
    const buckets = new Map<string, Bucket>();
    takeFromBucket(buckets, "k", 1000, 0, true, 0);
    const before = { ...buckets.get("k")! };
    for (let i = 0; i < 5; i++) expect(takeFromBucket(buckets, "k", 1000, 0, true, 10).ok).toBe(false);
    expect(buckets.get("k")).toEqual(before);
  });

  it("per minute: 1r/m with burst 3 lets 4 through and refuses for about a minute", () => {
    const out = run(16, 3, true, [0, 1, 2, 3, 4, 1000]);
    expect(out.map((o) => o.ok)).toEqual([true, true, true, true, false, false]);
    expect(out[4]).toMatchObject({ retryAfter: 63 });
  });

  it("keys are separate", () => {
    const buckets = new Map<string, Bucket>();
    expect(takeFromBucket(buckets, "a", 1000, 0, true, 0).ok).toBe(true);
    expect(takeFromBucket(buckets, "b", 1000, 0, true, 0).ok).toBe(true);
    expect(takeFromBucket(buckets, "a", 1000, 0, true, 0).ok).toBe(false);
  });

  it("a clock that steps back counts as no time passing", () => {
    expect(run(1000, 0, true, [10_000, 9_000, 9_500].map((t) => t)).map((o) => o.ok)).toEqual([true, false, false]);
  });
});

describe("limit_conn leases", () => {
  it("max places; a release frees one; an expired lease frees its place", () => {
    const l = new ConnLeases();
    const a = l.acquire("k", 2, 1000, 0);
    const b = l.acquire("k", 2, 1000, 0);
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(l.acquire("k", 2, 1000, 10)).toBeNull();
    l.release("k", a!);
    const c = l.acquire("k", 2, 1000, 20);
    expect(c).not.toBeNull();
    expect(l.acquire("k", 2, 1000, 30)).toBeNull();
    // b renews, c does not: at 1010 c's lease has run out and its place is free again.
    expect(l.renew("k", b!, 1000, 900)).toBe(true);
    expect(l.acquire("k", 2, 1000, 1010)).toBeNull();
    expect(l.inFlight("k", 1021)).toBe(1);
    expect(l.acquire("k", 2, 1000, 1021)).not.toBeNull();
    expect(l.renew("k", c!, 1000, 1022)).toBe(false);
  });

  it("the in-process store counts exactly and releases once", async () => {
    const store = memoryLimitStore(() => 0);
    const got = await Promise.all(Array.from({ length: 5 }, () => store.acquire("k", 2)));
    expect(got.filter((x) => x !== null)).toHaveLength(2);
    const first = got.find((x) => x !== null)!;
    first.release();
    first.release();
    expect(await store.acquire("k", 2)).not.toBeNull();
    expect(await store.acquire("k", 2)).toBeNull();
  });
});
