// A pool object reset mid-load (a deploy, a move to another machine) must lose no request that
// had not reached the origin. One connection per pool object (max_connections = 1): the first
// request holds it for a while, the others wait for it, then the object is reset. Counted at
// both ends: what each client got, and which request ids php-fpm saw.
//
// Production: Cloudflare's runtime resends only calls that never reached the object; the calls
// in it fail ("Automatic retries" in the Durable Objects docs). The local runtime does not do
// that (below), so the first suite scripts it: a namespace in front of the real one fails every
// call in progress at the reset, as production does, and sends later calls to a new instance.
// The real Worker entry, pool objects and php-fpm do the rest.
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import wasm from "../../wasm/build/edgepass.wasm";
import { handle, type GatewayEnv } from "../../src/adapter/cloudflare/handler.js";

const HOLD_MS = 1500;
const bindings = env as unknown as GatewayEnv & { UPSTREAM_POOL: DurableObjectNamespace };

type Send = (url: string, init: RequestInit) => Promise<Response>;
type Result = { id: string; status: number; text: string; code: string | null };

async function list(run: string): Promise<string[]> {
  const res = await SELF.fetch(`https://site.test/hits.php?run=${run}&list=1`);
  expect(res.status).toBe(200);
  return (await res.text()).split("\n").filter(Boolean);
}

function fire(send: Send, run: string, method: "GET" | "POST", from: number, to: number): Promise<Result>[] {
  return Array.from({ length: to - from }, (_, k) => {
    const id = `r${from + k}`;
    const init: RequestInit = { method };
    if (method === "POST") init.body = `payload of ${id}`;
    return send(`https://site.test/hits.php?run=${run}&id=${id}&ms=${id === "r0" ? HOLD_MS : 0}`, init).then(async (r) => ({
      id,
      status: r.status,
      text: await r.text(),
      code: r.headers.get("x-edgepass-error"),
    }));
  });
}

/** r0 at php-fpm, r1… waiting for the connection, then `reset`. */
async function resetWhileWaiting(send: Send, reset: () => Promise<void>, run: string, method: "GET" | "POST", n: number): Promise<Result[]> {
  const first = fire(send, run, method, 0, 1);
  for (let i = 0; i < 100 && (await list(run)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  const rest = fire(send, run, method, 1, n);
  await new Promise((r) => setTimeout(r, 300));
  await reset();
  return Promise.all([...first, ...rest]);
}

/** The real namespace, reset the way production resets an object: every call in progress
 *  fails with a retryable error, the old instance stops (what waited in it never runs), and
 *  the next calls meet a new instance. */
function productionLikeNamespace(ns: DurableObjectNamespace) {
  // Objects of their own: nothing left over from another test waits in them.
  const tag = crypto.randomUUID();
  let generation = 0;
  const used = new Set<string>();
  const inProgress = new Set<(e: Error) => void>();
  const track = <T>(p: Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      inProgress.add(reject);
      p.then(resolve, reject).finally(() => inProgress.delete(reject));
    });
  const fake = {
    idFromName: (name: string) => ({ name }),
    get(id: { name: string }) {
      const name = `${id.name}@${tag}/${generation}`;
      used.add(name);
      const stub = ns.get(ns.idFromName(name)) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return {
        fetch: (...a: unknown[]) => track(stub.fetch(...a)),
        reserve: (...a: unknown[]) => track(stub.reserve(...a)),
      };
    },
  };
  return {
    ns: fake as unknown as DurableObjectNamespace,
    async reset() {
      generation++;
      const e = Object.assign(new Error("Durable Object reset because its code was updated."), { retryable: true });
      for (const fail of [...inProgress]) fail(e);
      for (const name of [...used]) {
        await runInDurableObject(ns.get(ns.idFromName(name)), (_instance, state) => state.abort("reset")).catch(() => {});
      }
      used.clear();
    },
  };
}

function viaWorker(ns: DurableObjectNamespace): Send {
  return (url, init) => handle(new Request(url, init), { ...bindings, UPSTREAM_POOL: ns }, wasm, "");
}

describe("a pool object reset with requests waiting for a connection (production's behaviour, scripted)", () => {
  it("POST: every waiting request is answered by the new instance; the one at the origin is not sent twice", async () => {
    const platform = productionLikeNamespace(bindings.UPSTREAM_POOL);
    const run = `p${Date.now()}`;
    const results = await resetWhileWaiting(viaWorker(platform.ns), platform.reset, run, "POST", 6);
    const waiting = results.filter((r) => r.id !== "r0");
    expect(waiting.map((r) => [r.id, r.status, r.text])).toEqual(waiting.map((r) => [r.id, 200, `ok ${r.id}\n`]));
    // r0 had reached php-fpm: the Worker cannot know whether it ran, so a POST is not resent.
    expect(results.find((r) => r.id === "r0")).toMatchObject({ status: 502, code: "UPSTREAM_POOL_FAILED" });
    expect((await list(run)).sort()).toEqual(["r0", "r1", "r2", "r3", "r4", "r5"]);
  });

  it("GET: every request is answered; the one at the origin is sent again, once", async () => {
    const platform = productionLikeNamespace(bindings.UPSTREAM_POOL);
    const run = `g${Date.now()}`;
    const results = await resetWhileWaiting(viaWorker(platform.ns), platform.reset, run, "GET", 5);
    expect(results.map((r) => [r.id, r.status])).toEqual(results.map((r) => [r.id, 200]));
    const seen = await list(run);
    expect(seen.filter((s) => s === "r0")).toHaveLength(2);
    for (const id of ["r1", "r2", "r3", "r4"]) expect(seen.filter((s) => s === id)).toHaveLength(1);
  });
});

/** The real namespace, with every call a Worker makes to a pool object counted by kind. */
function countingNamespace(ns: DurableObjectNamespace) {
  const tag = crypto.randomUUID();
  const calls: string[] = [];
  const fake = {
    idFromName: (name: string) => ns.idFromName(`${name}@${tag}`),
    get(id: DurableObjectId) {
      const stub = ns.get(id) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return {
        fetch: (...a: unknown[]) => (calls.push(`fetch ${(a[0] as Request).method}`), stub.fetch(...a)),
        reserve: (...a: unknown[]) => (calls.push("reserve"), stub.reserve(...a)),
      };
    },
  };
  return { ns: fake as unknown as DurableObjectNamespace, calls };
}

describe("a request that finds every connection busy", () => {
  // A reset object loses the calls in it: a request the Worker may send again waits for its
  // connection inside fetch() (one call), any other reserves its place first (three calls:
  // fetch answered POOL_WAIT, reserve, fetch).
  it("a GET waits inside the object's fetch; a DELETE, which is not sent again, reserves first", async () => {
    const counted = countingNamespace(bindings.UPSTREAM_POOL);
    const send = viaWorker(counted.ns);
    const run = `c${Date.now()}`;
    const held = send(`https://site.test/hits.php?run=${run}&id=h&ms=${HOLD_MS}`, { method: "GET" });
    for (let i = 0; i < 100 && counted.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    const get = send(`https://site.test/hits.php?run=${run}&id=g`, { method: "GET" });
    await new Promise((r) => setTimeout(r, 200));
    const del = send(`https://site.test/hits.php?run=${run}&id=d`, { method: "DELETE" });
    const answers = await Promise.all([held, get, del].map(async (r) => [(await r).status, await (await r).text()]));
    expect(answers).toEqual([
      [200, "ok h\n"],
      [200, "ok g\n"],
      [200, "ok d\n"],
    ]);
    expect(counted.calls).toEqual(["fetch GET", "fetch GET", "fetch DELETE", "reserve", "fetch DELETE"]);
  });
});

// The local runtime's own reset, state.abort(), on the objects the Worker entry really uses. It
// fails the reserve calls in progress (they are made again), and a fetch() in progress either
// finishes on the old instance or fails: the same promises must hold whichever it does.
function poolObject() {
  return bindings.UPSTREAM_POOL.get(bindings.UPSTREAM_POOL.idFromName("php#0"));
}

async function abortPoolObject(): Promise<void> {
  await runInDurableObject(poolObject(), (instance: object) => {
    (instance as { marked?: boolean }).marked = true;
  });
  await runInDurableObject(poolObject(), (_instance, state) => {
    state.abort("reset by the test");
  }).catch(() => {});
}

describe("the local runtime's reset (state.abort) with requests waiting", () => {
  it("every waiting POST is answered, none reaches php-fpm twice, and a new instance serves next", async () => {
    const run = `a${Date.now()}`;
    const results = await resetWhileWaiting((u, i) => SELF.fetch(u, i), abortPoolObject, run, "POST", 6);
    const waiting = results.filter((r) => r.id !== "r0");
    expect(waiting.map((r) => [r.id, r.status])).toEqual(waiting.map((r) => [r.id, 200]));
    const r0 = results.find((r) => r.id === "r0")!;
    expect(r0.status === 200 || r0.code === "UPSTREAM_POOL_FAILED").toBe(true);
    expect((await list(run)).sort()).toEqual(["r0", "r1", "r2", "r3", "r4", "r5"]);
    const marked = await runInDurableObject(poolObject(), (instance: object) => (instance as { marked?: boolean }).marked);
    expect(marked).toBeUndefined();
  });
});
