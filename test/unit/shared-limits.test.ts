// The limit counts `edgepass serve --workers N` keeps in its primary (shared-limits.ts): both
// sides of the cluster channel, joined here by a pair of event emitters that deliver each
// message on a later turn, as the channel does. The workers' own behaviour end to end is in
// test/integration/serve-workers.test.ts.
import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";
import { primaryLimitStore, sharedLimits, type LimitBatch, type LimitMessage, type LimitPeer } from "../../src/adapter/node/cli/shared-limits.js";

/** A worker joined to `primary`: the store it uses, and a way to make it exit. */
function worker(primary: ReturnType<typeof sharedLimits>, o: { slow?: boolean } = {}) {
  const atPrimary = new EventEmitter();
  const atWorker = new EventEmitter();
  let connected = true;
  // The primary's answers to a slow worker wait here until `deliverLate`.
  const held: LimitBatch[] = [];
  const peer: LimitPeer = {
    on: ((event: string, f: (...a: unknown[]) => void) => (atPrimary.on(event, f), peer)) as LimitPeer["on"],
    send: ((b: LimitBatch) => {
      if (o.slow) held.push(b);
      else setImmediate(() => atWorker.emit("message", b));
      return true;
    }) as LimitPeer["send"],
    isConnected: () => connected,
  };
  primary.attach(peer);
  // Every message the worker sent, and how many batches carried them.
  const sent: LimitMessage[] = [];
  const batches: LimitBatch[] = [];
  const store = primaryLimitStore({
    send: (b) => {
      sent.push(...b.messages);
      batches.push(b);
      setImmediate(() => atPrimary.emit("message", b));
    },
    on: (event, f) => atWorker.on(event, f),
  });
  return {
    store,
    sent,
    batches,
    /** The primary hears the worker exit. */
    exit() {
      connected = false;
      atPrimary.emit("exit", 0, null);
    },
    /** The primary's held answers arrive now. */
    deliverLate() {
      o.slow = false;
      for (const b of held.splice(0)) atWorker.emit("message", b);
    },
  };
}

describe("limit counts shared by serve's workers", () => {
  it("limit_req: one bucket for every worker", async () => {
    const primary = sharedLimits();
    const [a, b] = [worker(primary), worker(primary)];
    expect(await a.store.request("req|route:0|10.0.0.1", 1 / 60, 1, true)).toEqual({ ok: true, delayMs: 0 });
    expect(await b.store.request("req|route:0|10.0.0.1", 1 / 60, 1, true)).toEqual({ ok: true, delayMs: 0 });
    const third = await a.store.request("req|route:0|10.0.0.1", 1 / 60, 1, true);
    expect(third.ok).toBe(false);
    // Another client has a bucket of its own.
    expect((await b.store.request("req|route:0|10.0.0.2", 1 / 60, 1, true)).ok).toBe(true);
  });

  it("what a worker asks in one turn crosses in one message, and the answers come back together", async () => {
    const primary = sharedLimits();
    const a = worker(primary);
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => a.store.request(`req|route:0|10.0.0.${i}`, 1, 0, true)));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    expect(a.sent).toHaveLength(10);
    expect(a.batches).toHaveLength(1);
  });

  it("limit_conn: a place taken in one worker is taken for all; given back, it is free again", async () => {
    const primary = sharedLimits();
    const [a, b] = [worker(primary), worker(primary)];
    const place = await a.store.acquire("conn|route:0|10.0.0.1", 1);
    expect(place).not.toBeNull();
    expect(await b.store.acquire("conn|route:0|10.0.0.1", 1)).toBeNull();
    place!.release();
    place!.release(); // a second release gives back nothing more
    await new Promise((r) => setImmediate(r));
    const again = await b.store.acquire("conn|route:0|10.0.0.1", 1);
    expect(again).not.toBeNull();
    expect(await a.store.acquire("conn|route:0|10.0.0.1", 1)).toBeNull();
    expect(a.sent.filter((m) => m.edgepass === "limit-release")).toHaveLength(1);
  });

  it("the places of a worker that exits (killed mid-request) are given back", async () => {
    const primary = sharedLimits();
    const [a, b] = [worker(primary), worker(primary)];
    expect(await a.store.acquire("conn|route:0|10.0.0.1", 2)).not.toBeNull();
    expect(await a.store.acquire("conn|route:0|10.0.0.1", 2)).not.toBeNull();
    expect(await b.store.acquire("conn|route:0|10.0.0.1", 2)).toBeNull();
    a.exit();
    expect(await b.store.acquire("conn|route:0|10.0.0.1", 2)).not.toBeNull();
    expect(await b.store.acquire("conn|route:0|10.0.0.1", 2)).not.toBeNull();
    expect(await b.store.acquire("conn|route:0|10.0.0.1", 2)).toBeNull();
  });

  it("no answer from the primary in 5 s: 503 LIMITS_UNAVAILABLE, and a place that comes later goes back", async () => {
    const primary = sharedLimits();
    const a = worker(primary, { slow: true });
    const b = worker(primary);
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const pending = a.store.acquire("conn|route:0|10.0.0.1", 1);
      const failed = expect(pending).rejects.toMatchObject({ code: "LIMITS_UNAVAILABLE", status: 503 });
      vi.advanceTimersByTime(5_000);
      await failed;
    } finally {
      vi.useRealTimers();
    }
    await new Promise((r) => setImmediate(r)); // the primary has taken the place by now
    expect(await b.store.acquire("conn|route:0|10.0.0.1", 1)).toBeNull();
    // Its answer arrives after the request gave up: the worker sends the place back.
    a.deliverLate();
    await new Promise((r) => setImmediate(r));
    expect(a.sent.filter((m) => m.edgepass === "limit-release")).toHaveLength(1);
    expect(await b.store.acquire("conn|route:0|10.0.0.1", 1)).not.toBeNull();
  });
});
