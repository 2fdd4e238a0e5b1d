// The pool's wait queue keeps one timer for every waiter's deadline. These check what that
// must not change: each waiter times out at its own deadline, no sooner, whoever left the
// queue before it (served, or its client gone), and a waiter that left never times out.
import { describe, expect, it } from "vitest";
import { WaitQueue } from "../../src/pool/queue.js";

type Outcome = [string, number];

function waitFor(q: WaitQueue<string>, name: string, timeoutMs: number, signal?: AbortSignal): Promise<Outcome> {
  const start = Date.now();
  return q.wait({ timeoutMs, onTimeout: () => new Error(`${name} timed out`), fresh: false, signal }).then(
    (v) => [v, Date.now() - start],
    (e: Error) => [e.message, Date.now() - start],
  );
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("WaitQueue", () => {
  it("each waiter times out at its own deadline, whoever left before it", async () => {
    const q = new WaitQueue<string>();
    const first = waitFor(q, "first", 60);
    const late = waitFor(q, "late", 250);
    // The first (earliest deadline) is served: the timer set for it finds nobody due.
    q.shift()!.resolve("served");
    await pause(20);
    const middle = waitFor(q, "middle", 100);
    const gone = new AbortController();
    const leaving = waitFor(q, "leaving", 50, gone.signal);
    gone.abort(new Error("client gone"));
    const [f, m, l, x] = await Promise.all([first, middle, late, leaving]);
    expect([f[0], m[0], l[0], x[0]]).toEqual(["served", "middle timed out", "late timed out", "client gone"]);
    expect(m[1]).toBeGreaterThanOrEqual(100);
    expect(l[1]).toBeGreaterThanOrEqual(250);
    expect(q.length).toBe(0);
  });

  it("a waiter at the front (a retry) keeps its own deadline too", async () => {
    const q = new WaitQueue<string>();
    const back = waitFor(q, "back", 150);
    const start = Date.now();
    const front = q.wait({ timeoutMs: 40, onTimeout: () => new Error("front timed out"), fresh: false, front: true });
    expect(q.peek()).toBeDefined();
    await expect(front).rejects.toThrow("front timed out");
    expect(Date.now() - start).toBeGreaterThanOrEqual(40);
    expect(q.length).toBe(1);
    expect((await back)[0]).toBe("back timed out");
  });
});
