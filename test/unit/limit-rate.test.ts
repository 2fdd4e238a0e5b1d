// limit_rate and limit_rate_after (core/limit-rate.ts): the keys at load, which limit an answer
// goes out under, and the pace of its body on a clock the test moves. The same on the wire,
// beside nginx: test/integration/limit-rate.test.ts.
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { messageOf } from "../helpers/config-message.js";
import { paced, takeRateLimit } from "../../src/core/limit-rate.js";
import { fieldsOf } from "../../src/core/response-fields.js";

const UP = `[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n`;
const route = (lines: string) => loadConfig(`${UP}[[routes]]\nmatch = "/dl/"\nupstream = "php"\n${lines}\n`, "site.toml").routes[0];

const refusal = (lines: string): string => messageOf(() => route(lines));

describe("the keys", () => {
  it("sizes as nginx writes them; limit_rate_after alone waits for an origin's rate", () => {
    expect(route(`limit_rate = "100k"\nlimit_rate_after = "1m"`).limitRate).toEqual({ rate: 100 * 1024, after: 1024 * 1024 });
    expect(route(`limit_rate = 4096`).limitRate).toEqual({ rate: 4096, after: 0 });
    expect(route(`limit_rate_after = "10m"`).limitRate).toEqual({ rate: 0, after: 10 * 1024 * 1024 });
    expect(route("").limitRate).toBeUndefined();
  });

  it("anything else is refused with the key and what it takes", () => {
    expect(refusal(`limit_rate = "fast"`)).toMatch(/routes\[0\]\.limit_rate[\s\S]*bytes a second/);
    expect(refusal(`limit_rate = -5`)).toMatch(/routes\[0\]\.limit_rate[\s\S]*negative/);
    expect(refusal(`limit_rate_after = "1 MB"`)).toMatch(/routes\[0\]\.limit_rate_after/);
  });
});

describe("which limit an answer goes out under", () => {
  const route = { rate: 1000, after: 500 };
  const fields = (pairs: Array<[string, string]>) => fieldsOf(pairs);

  it("the origin's X-Accel-Limit-Rate, digits only, over the route's; 0 lifts it", () => {
    expect(takeRateLimit(fields([["x-accel-limit-rate", "65536"]]), route)).toEqual({ rate: 65536, after: 500 });
    expect(takeRateLimit(fields([["x-accel-limit-rate", "65536"]]), undefined)).toEqual({ rate: 65536, after: 0 });
    expect(takeRateLimit(fields([["x-accel-limit-rate", "0"]]), route)).toBeUndefined();
    expect(takeRateLimit(fields([["x-accel-limit-rate", "64k"]]), route)).toEqual(route);
    expect(takeRateLimit(fields([]), route)).toEqual(route);
    expect(takeRateLimit(fields([]), { rate: 0, after: 500 })).toBeUndefined();
  });

  it("the X-Accel fields nginx keeps from the client are removed, the rest stay", () => {
    const h = fields([["x-accel-expires", "10"], ["x-accel-buffering", "no"], ["x-accel-charset", "utf-8"], ["x-accel-limit-rate", "1"], ["x-other", "1"]]);
    takeRateLimit(h, undefined);
    expect([...h]).toEqual([["x-other", "1"]]);
  });
});

describe("the pace", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Reads `body` paced at `rate` after `after`, noting how many bytes had come by each time. */
  async function schedule(bytes: number, pieces: number, rate: number, after: number) {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < pieces; i++) c.enqueue(new Uint8Array(bytes / pieces).fill(i));
        c.close();
      },
    });
    const reader = paced(source, { rate, after }).getReader();
    const got: Array<[number, number]> = [];
    const parts: Uint8Array[] = [];
    let n = 0;
    for (;;) {
      const read = reader.read();
      await vi.runAllTimersAsync();
      const r = await read;
      if (r.done) break;
      parts.push(r.value);
      n += r.value.byteLength;
      got.push([performance.now(), n]);
    }
    return { got, whole: Buffer.concat(parts) };
  }

  it("after the allowance (limit_rate_after and the first second's worth), no faster than the rate, in tenth-of-a-second pieces", async () => {
    const { got, whole } = await schedule(100_000, 4, 10_000, 20_000);
    expect(whole.length).toBe(100_000);
    expect([...whole.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    expect(whole[99_999]).toBe(3);
    for (const [ms, bytes] of got) expect(bytes).toBeLessThanOrEqual(20_000 + 10_000 * (1 + ms / 1000) + 1);
    // 20 000 + 10 000 × (1 + t) = 100 000 at t = 7 s.
    expect(got.at(-1)![0]).toBeGreaterThanOrEqual(7000);
    expect(got.at(-1)![0]).toBeLessThan(7200);
    // Past the allowance each piece is a tenth of a second's worth (at least 1 KiB), and the
    // few bytes the wait's rounding up to a millisecond adds.
    const later = got.map(([ms, b], i) => [ms, b - (i ? got[i - 1][1] : 0)]).filter(([ms]) => ms > 0);
    expect(later.length).toBeGreaterThan(60);
    for (const [, size] of later) expect(size).toBeLessThanOrEqual(1024 + 10);
  });

  it("a client that leaves while a piece waits: the origin's body is cancelled, and nothing more is read", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    let cancelled: unknown = null;
    let pulls = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        pulls++;
        c.enqueue(new Uint8Array(4096));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = paced(source, { rate: 1024, after: 0 }).getReader();
    expect((await reader.read()).value!.byteLength).toBe(1024);
    const waiting = reader.read();
    await vi.advanceTimersByTimeAsync(10);
    await reader.cancel("client left");
    await vi.runAllTimersAsync();
    expect(cancelled).toBe("client left");
    expect((await waiting).done).toBe(true);
    expect(pulls).toBeLessThanOrEqual(2);
  });

  it("a body within the allowance goes at once", async () => {
    const { got } = await schedule(30_000, 3, 10_000, 20_000);
    expect(got.at(-1)).toEqual([0, 30_000]);
  });
});
