// The admission step in front of a pool object's pools: a reserved place is claimed by its
// request or given back; a request sent without one never waits (pool/admission.ts).
import { describe, expect, it, vi } from "vitest";
import type { AcquireOptions } from "../../src/core/exchange.js";
import { admittedPool, Admissions, type Parkable } from "../../src/pool/admission.js";

function lease(reused = false) {
  const l = { reused, cancelled: 0, cancel: () => void l.cancelled++ };
  return l as Parkable & { cancelled: number };
}

function pool() {
  const calls: AcquireOptions[] = [];
  const fromPool = lease();
  return { calls, fromPool, acquire: (o: AcquireOptions) => (calls.push(o), Promise.resolve(fromPool)), noteRetry: () => {} };
}

describe("Admissions", () => {
  it("a parked lease goes to its request's first acquire only", async () => {
    const a = new Admissions();
    const parked = lease();
    a.park("req1", parked);
    const p = pool();
    const src = admittedPool(p, a, "req1");
    expect(await src.acquire({})).toBe(parked);
    expect(await src.acquire({ retry: true, fresh: true })).toBe(p.fromPool);
    expect(p.calls).toEqual([{ retry: true, fresh: true }]);
    a.drop("req1");
    expect(parked.cancelled).toBe(0);
  });

  it("an unclaimed lease is given back after the park time, and on drop", () => {
    vi.useFakeTimers();
    try {
      const a = new Admissions();
      const late = lease();
      a.park("late", late, undefined, 2000);
      vi.advanceTimersByTime(1999);
      expect(late.cancelled).toBe(0);
      vi.advanceTimersByTime(1);
      expect(late.cancelled).toBe(1);
      expect(a.take("late")).toEqual({});
      const dropped = lease();
      a.park("gone", dropped);
      a.drop("gone");
      expect(dropped.cancelled).toBe(1);
      vi.advanceTimersByTime(5000);
      expect(dropped.cancelled).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a kept connection is not used for a body that needs a new one", async () => {
    const a = new Admissions();
    const kept = lease(true);
    a.park("r", kept);
    const p = pool();
    expect(await admittedPool(p, a, "r").acquire({ fresh: true })).toBe(p.fromPool);
    expect(kept.cancelled).toBe(1);
  });

  it("an optimistic request never waits, until the stale-connection retry", async () => {
    const a = new Admissions();
    a.optimistic("o");
    const p = pool();
    const src = admittedPool(p, a, "o");
    await src.acquire({});
    await src.acquire({});
    await src.acquire({ retry: true, fresh: true });
    expect(p.calls).toEqual([{ noWait: true }, { noWait: true }, { retry: true, fresh: true }]);
  });

  it("without admissions the pool is used as is", () => {
    const p = pool();
    expect(admittedPool(p, undefined, "x")).toBe(p);
  });
});
