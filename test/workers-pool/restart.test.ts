// A pool object reset mid-load (a deploy, a move to another machine) must lose no request that
// had not reached the origin. One php-fpm child behind max_connections = 1: the first request
// holds the connection for a while, the rest wait inside the pool object, then the object is
// reset with state.abort(). Counted at both ends: what each client got, and which request ids
// php-fpm saw (each POST exactly once: nothing may be sent twice).
//
// Under the local runtime this is also a canary. workerd (2026-04) lets the calls already in a
// reset object finish on the old instance and sends new ones to a new instance, so nothing
// queued is lost. Cloudflare documents that calls which reached an object are not retried
// (durable-objects/best-practices/automatic-retries); if the local runtime starts failing them
// too, this test fails, and the Worker must reserve a place by RPC before it sends a request
// (README, "Pool objects and restarts").
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const HOLD_MS = 1500;

/** Resets the pool object as the platform does on a deploy: its in-memory state and every
 *  call in progress in it are gone. */
function poolObject() {
  const ns = (env as { UPSTREAM_POOL: DurableObjectNamespace }).UPSTREAM_POOL;
  return ns.get(ns.idFromName("php#0"));
}

async function restartPoolObject(): Promise<void> {
  await runInDurableObject(poolObject(), (instance: object) => {
    (instance as { marked?: boolean }).marked = true;
  });
  await runInDurableObject(poolObject(), (_instance, state) => {
    state.abort("restarted by the test");
  }).catch(() => {});
}

/** The reset happened: the instance that answers now is not the one marked before it. */
async function expectNewInstance(): Promise<void> {
  const marked = await runInDurableObject(poolObject(), (instance: object) => (instance as { marked?: boolean }).marked);
  expect(marked).toBeUndefined();
}

async function list(run: string): Promise<string[]> {
  const res = await SELF.fetch(`https://site.test/hits.php?run=${run}&list=1`);
  expect(res.status).toBe(200);
  return (await res.text()).split("\n").filter(Boolean);
}

function fire(run: string, method: "GET" | "POST", from: number, to: number) {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    const id = `r${i}`;
    const init: RequestInit = { method };
    if (method === "POST") init.body = `payload of ${id}`;
    return SELF.fetch(`https://site.test/hits.php?run=${run}&id=${id}&ms=${i === 0 ? HOLD_MS : 0}`, init).then(
      async (r) => ({ id, status: r.status, text: await r.text(), code: r.headers.get("x-edgepass-error") }),
    );
  });
}

async function restartWhileQueued(run: string, method: "GET" | "POST", n: number) {
  const first = fire(run, method, 0, 1);
  // The first request is at php-fpm before the others are sent, so they queue behind it.
  for (let i = 0; i < 100 && (await list(run)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  const rest = fire(run, method, 1, n);
  await new Promise((r) => setTimeout(r, 300));
  await restartPoolObject();
  return Promise.all([...first, ...rest]);
}

describe("a pool object reset with requests waiting in it", () => {
  it("POST: every queued request is answered; none reaches php-fpm twice", async () => {
    const run = `p${Date.now()}`;
    const results = await restartWhileQueued(run, "POST", 6);
    const queued = results.filter((r) => r.id !== "r0");
    expect(queued.map((r) => [r.id, r.status])).toEqual(queued.map((r) => [r.id, 200]));
    const seen = await list(run);
    // r0 reached php-fpm before the restart; a POST is not sent again, so it is there once.
    expect(seen.sort()).toEqual(["r0", "r1", "r2", "r3", "r4", "r5"]);
    await expectNewInstance();
    const r0 = results.find((r) => r.id === "r0")!;
    if (r0.status !== 200) expect(r0.code).toBe("UPSTREAM_POOL_FAILED");
  });

  it("GET: queued requests are answered after the restart too", async () => {
    const run = `g${Date.now()}`;
    const results = await restartWhileQueued(run, "GET", 5);
    expect(results.map((r) => [r.id, r.status])).toEqual(results.map((r) => [r.id, 200]));
    const seen = await list(run);
    for (const id of ["r1", "r2", "r3", "r4"]) expect(seen.filter((s) => s === id)).toHaveLength(1);
    await expectNewInstance();
  });
});
