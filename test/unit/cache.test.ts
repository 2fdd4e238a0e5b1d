// The cache's rules one by one (core/cache.ts, core/cache-memory.ts, config/cache.ts): what an
// answer's head lets it keep, the lock, use_stale, bodies that end short or run long, the
// memory store's bounds, and the config's refusals. The wire tests against nginx are
// test/integration/cache.test.ts; here `origin` is the function the gateway would call.
import { describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { defaultCacheRule } from "../../src/config/cache.js";
import type { CacheRule } from "../../src/config/types.js";
import { CACHE_VALIDATORS, throughCache, usesCache, type Answer, type CacheLocks, type CacheStore, type Origin, type OriginAsk } from "../../src/core/cache.js";
import { lifetimeOf, staleWindows } from "../../src/core/cache-lifetime.js";
import { forwardedFields } from "../../src/core/cgi-env.js";
import { memoryCacheStore } from "../../src/core/cache-memory.js";
import { newRecord } from "../../src/core/access-log.js";
import { GatewayError, Codes } from "../../src/core/errors.js";
import { requestLogger } from "../../src/core/log.js";
import { clientResponse, streamOf, type ClientResponse } from "../../src/core/respond.js";
import { fieldsOf } from "../../src/core/response-fields.js";
import { requestVars } from "../../src/edge/variables.js";
import type { GatewayRequest } from "../../src/core/gateway.js";
import { messageOf } from "../helpers/config-message.js";
import { parseCidr, type Cidr } from "../../src/edge/cidr.js";

/** The defaults, and valid = { 200 = "60s" }. */
const rule = (over: Partial<CacheRule> = {}): CacheRule => ({ ...defaultCacheRule(), valid: new Map([[200, 60]]), ...over });

function request(target = "/p", headers: Record<string, string> = {}, method = "GET"): GatewayRequest {
  return { method, url: `http://site.test${target}`, headers: new Headers({ host: "site.test", ...headers }), body: null, signal: undefined as never };
}

const quiet = requestLogger("t", () => {});

function call(r: CacheRule, store: CacheStore, locks: CacheLocks, req = request()) {
  const url = new URL(req.url);
  const vars = requestVars(req, url, "");
  vars.uri = url.pathname;
  return { ctx: { rule: r, store, locks, vars, request: req, acceptEncoding: null, log: quiet, record: newRecord("t", req.method, url.pathname) }, vars };
}

function answer(status: number, headers: Array<[string, string]>, body: string | ReadableStream<Uint8Array> | null): Answer {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const length = bytes instanceof Uint8Array ? bytes.byteLength : null;
  return { res: clientResponse(status, "", fieldsOf(headers), bytes, length, false), fromOrigin: true };
}

async function text(r: ClientResponse): Promise<string> {
  if (r.body === null) return "";
  return new Response(r.body instanceof Uint8Array ? r.body : streamOf(r.body)).text();
}

/** An origin that answers run 1, run 2… and counts how many ran at once. */
function counting(headers: Array<[string, string]> = [], delayMs = 0) {
  const o = { runs: 0, now: 0, most: 0 };
  const fn = async (): Promise<Answer> => {
    o.runs++;
    o.now++;
    o.most = Math.max(o.most, o.now);
    await new Promise((r) => setTimeout(r, delayMs));
    o.now--;
    return answer(200, headers, `run ${o.runs}`);
  };
  return Object.assign(o, { fn });
}

async function through(r: CacheRule, store: CacheStore, locks: CacheLocks, origin: Origin, req = request(), log = quiet) {
  const { ctx, vars } = call(r, store, locks, req);
  const a = await throughCache({ ...ctx, log }, origin);
  return { status: vars.cacheStatus, code: a.res.status, body: await text(a.res), headers: a.res.headers };
}

describe("what an answer's head lets the cache keep (nginx's order)", () => {
  const now = Date.parse("2026-12-02T10:00:00Z");
  const life = (headers: Array<[string, string]>, over: Partial<CacheRule> = {}, status = 200) => lifetimeOf(rule(over), clientResponse(status, "", fieldsOf(headers), null, null, false), now);

  it("X-Accel-Expires first (seconds, @epoch, 0 for never), then Cache-Control, then Expires, then valid", () => {
    expect(life([["x-accel-expires", "30"], ["cache-control", "no-store"]])).toBe(30_000);
    expect(life([["x-accel-expires", `@${now / 1000 + 90}`]])).toBe(90_000);
    expect(life([["x-accel-expires", "0"], ["cache-control", "max-age=60"]])).toBeNull();
    expect(life([["cache-control", "public, max-age=20, s-maxage=40"]])).toBe(40_000);
    expect(life([["cache-control", "max-age=20"], ["expires", new Date(now + 99_000).toUTCString()]])).toBe(20_000);
    expect(life([["expires", new Date(now + 99_000).toUTCString()]])).toBe(99_000);
    expect(life([["expires", new Date(now - 1000).toUTCString()]])).toBeNull();
    expect(life([["expires", "0"]])).toBeNull();
    expect(life([])).toBe(60_000);
    expect(life([], {}, 404)).toBeNull();
    expect(life([], { valid: new Map<number | "any", number>([[200, 60], ["any", 5]]) }, 404)).toBe(5000);
  });

  it("never: no-store, no-cache, private, max-age=0, Set-Cookie, Vary: *, a 206, an X-Accel-Redirect; ignore_headers lifts a field's word", () => {
    for (const cc of ["no-store", "no-cache", "private", "max-age=0", 'private="x", max-age=60']) expect(life([["cache-control", cc]])).toBeNull();
    expect(life([["set-cookie", "a=1"]])).toBeNull();
    expect(life([["vary", "Accept-Encoding, *"]])).toBeNull();
    expect(life([], {}, 206)).toBeNull();
    expect(life([["x-accel-redirect", "/protected/a"]])).toBeNull();
    expect(life([["set-cookie", "a=1"], ["cache-control", "no-store"]], { ignore: new Set(["set-cookie", "cache-control"]) })).toBe(60_000);
    expect(life([["vary", "*"]], { ignore: new Set(["vary"]) })).toBe(60_000);
  });
});

describe("the cache in front of an origin", () => {
  it("a hit is the stored answer with its Age; the key's parts (method, host, query) keep answers apart", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const o = counting([["content-type", "text/plain"]]);
    expect(await through(rule(), store, locks, o.fn)).toMatchObject({ status: "MISS", body: "run 1" });
    const hit = await through(rule(), store, locks, o.fn);
    expect(hit).toMatchObject({ status: "HIT", body: "run 1" });
    expect(hit.headers.get("age")).toBe("0");
    expect(await through(rule(), store, locks, o.fn, request("/p?x=1"))).toMatchObject({ status: "MISS", body: "run 2" });
    expect(await through(rule(), store, locks, o.fn, request("/p", { host: "other.test" }))).toMatchObject({ status: "MISS", body: "run 3" });
  });

  it("an answer to HEAD never answers a GET, even under a key without $request_method", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const r = rule({ key: "$host$request_uri" });
    const head = async (): Promise<Answer> => answer(200, [["content-length", "5"]], null);
    expect(await through(r, store, locks, head, request("/h", {}, "HEAD"))).toMatchObject({ status: "MISS" });
    expect(await through(r, store, locks, head, request("/h", {}, "HEAD"))).toMatchObject({ status: "HIT" });
    const o = counting();
    expect(await through(r, store, locks, o.fn, request("/h"))).toMatchObject({ status: "MISS", body: "run 1" });
    expect(await through(r, store, locks, o.fn, request("/h"))).toMatchObject({ status: "HIT", body: "run 1" });
  });

  it("Set-Cookie under ignore_headers: the answer is kept, its cookie is not (the next client gets no one else's session)", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const r = rule({ ignore: new Set(["set-cookie"]) });
    const o = async () => answer(200, [["set-cookie", "session=alice"]], "page");
    const first = await through(r, store, locks, o);
    expect(first.headers.get("set-cookie")).toBe("session=alice");
    const second = await through(r, store, locks, o);
    expect([second.status, second.body, second.headers.get("set-cookie")]).toEqual(["HIT", "page", null]);
  });

  it("the lock: ten requests at once for a cold key make one origin run; an answer not to keep sends the waiters on at once, together", async () => {
    const locks: CacheLocks = new Map();
    const store = memoryCacheStore(1 << 20);
    const o = counting([], 50);
    const all = await Promise.all(Array.from({ length: 10 }, () => through(rule(), store, locks, o.fn)));
    expect(o.runs).toBe(1);
    expect(new Set(all.map((x) => x.body))).toEqual(new Set(["run 1"]));
    expect(all.map((x) => x.status).sort()).toEqual([...Array(9).fill("HIT"), "MISS"]);
    const nope = counting([["cache-control", "no-store"]], 50);
    const t = Date.now();
    await Promise.all(Array.from({ length: 10 }, () => through(rule(), store, locks, nope.fn, request("/nope"))));
    expect(nope.runs).toBe(10);
    // The first ran alone; the nine after it together, not one after another.
    expect(nope.most).toBeGreaterThan(5);
    expect(Date.now() - t).toBeLessThan(400);
  });

  it("a waiter past lock_timeout asks the origin itself and its answer is not kept", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const r = rule({ lockTimeoutMs: 50 });
    const slow = counting([], 300);
    const first = through(r, store, locks, slow.fn);
    await new Promise((res) => setTimeout(res, 10));
    const quick = counting();
    expect(await through(r, store, locks, quick.fn)).toMatchObject({ status: "MISS", body: "run 1" });
    expect(await first).toMatchObject({ status: "MISS", body: "run 1" });
    expect(await through(r, store, locks, quick.fn)).toMatchObject({ status: "HIT" });
    expect(quick.runs).toBe(1);
  });

  it("use_stale: an expired answer stands in for an error (502), a timeout (504), a listed status, and meanwhile another request updates it", async () => {
    let clock = 0;
    const store = memoryCacheStore(1 << 20, () => Date.now() + clock);
    const locks: CacheLocks = new Map();
    const r = rule({ useStale: new Set(["error", "timeout", "http_503", "updating"]), valid: new Map([[200, 1]]) });
    await through(r, store, locks, async () => answer(200, [], "old"));
    await new Promise((res) => setTimeout(res, 1100));
    const refused = async (): Promise<Answer> => {
      throw new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, "refused");
    };
    expect(await through(r, store, locks, refused)).toMatchObject({ status: "STALE", body: "old" });
    const timedOut = async (): Promise<Answer> => {
      throw new GatewayError(Codes.UPSTREAM_READ_TIMEOUT, 504, "slow");
    };
    expect(await through(r, store, locks, timedOut)).toMatchObject({ status: "STALE", body: "old" });
    expect(await through(r, store, locks, async () => answer(503, [], "busy"))).toMatchObject({ status: "STALE", body: "old" });
    // Not listed: the origin's 500 goes to the client.
    expect(await through(r, store, locks, async () => answer(500, [], "broke"))).toMatchObject({ status: "EXPIRED", body: "broke" });
    const updater = through(r, store, locks, counting([], 100).fn);
    expect(await through(r, store, locks, async () => answer(200, [], "never asked"))).toMatchObject({ status: "UPDATING", body: "old" });
    expect(await updater).toMatchObject({ status: "EXPIRED", body: "run 1" });
    clock = 0;
  });

  it("background_update: the request that finds the answer expired gets it at once (STALE) and the origin is asked with no client waiting; others meanwhile get UPDATING; a failed update is logged and the old answer stays", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const r = rule({ useStale: new Set(["updating"]), backgroundUpdate: true, valid: new Map([[200, 1]]) });
    await through(r, store, locks, async () => answer(200, [], "old"));
    await new Promise((res) => setTimeout(res, 1100));
    const asks: OriginAsk[] = [];
    const failing: Origin = async (ask) => {
      asks.push(ask!);
      throw new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, "refused");
    };
    const lines: unknown[] = [];
    const log = requestLogger("t", (_level, line) => lines.push(line));
    expect(await through(r, store, locks, failing, request(), log)).toMatchObject({ status: "STALE", body: "old" });
    await expect.poll(() => JSON.stringify(lines)).toContain("cache_update_failed");
    expect(asks).toEqual([{ fields: undefined, background: true }]);
    // The lock came back: the next request starts an update of its own.
    let done!: () => void;
    const slow: Origin = () => new Promise((ok) => (done = () => ok(answer(200, [], "new"))));
    expect(await through(r, store, locks, slow)).toMatchObject({ status: "STALE", body: "old" });
    expect(await through(r, store, locks, async () => answer(200, [], "never asked"))).toMatchObject({ status: "UPDATING", body: "old" });
    done();
    await expect.poll(async () => (await through(r, store, locks, async () => answer(200, [], "never asked"))).body).toBe("new");
  });

  it("the origin's stale-while-revalidate and stale-if-error: an expired answer stands in while updated and when the origin cannot be reached, within their seconds; stale-if-error is not for the origin's own 500", async () => {
    let clock = 0;
    const store = memoryCacheStore(1 << 20, () => Date.now() + clock);
    const locks: CacheLocks = new Map();
    const r = rule({ backgroundUpdate: true });
    const refused: Origin = async () => Promise.reject(new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, "refused"));
    await through(r, store, locks, async () => answer(200, [["cache-control", "max-age=1, stale-if-error=2"]], "old"));
    await new Promise((res) => setTimeout(res, 1100));
    expect(await through(r, store, locks, async () => answer(500, [], "broke"))).toMatchObject({ status: "EXPIRED", code: 500 });
    expect(await through(r, store, locks, refused)).toMatchObject({ status: "STALE", body: "old" });
    await new Promise((res) => setTimeout(res, 2000));
    await expect(through(r, store, locks, refused)).rejects.toThrow("refused");
    // stale-while-revalidate, with background_update: STALE at once while it lasts.
    const swr = request("/swr");
    await through(r, store, locks, async () => answer(200, [["cache-control", "max-age=1, stale-while-revalidate=1"]], "old"), swr);
    await new Promise((res) => setTimeout(res, 1100));
    const o = counting([], 50);
    expect(await through(r, store, locks, o.fn, swr)).toMatchObject({ status: "STALE", body: "old" });
    await expect.poll(() => o.runs).toBe(1);
    // Past the window the expired answer waits for the origin.
    const late = request("/late");
    await through(r, store, locks, async () => answer(200, [["cache-control", "max-age=1, stale-while-revalidate=1"]], "old"), late);
    await new Promise((res) => setTimeout(res, 2100));
    expect(await through(r, store, locks, o.fn, late)).toMatchObject({ status: "EXPIRED", body: "run 2" });
    // Cache-Control ignored: neither counts.
    const windows = (cc: string, ignore: string[] = []) => staleWindows(rule({ ignore: new Set(ignore) }), { headers: fieldsOf([["cache-control", cc]]) });
    expect(windows("max-age=1, stale-while-revalidate=30, stale-if-error=86400")).toEqual({ updating: 30_000, error: 86_400_000 });
    expect(windows("max-age=1, stale-while-revalidate=30", ["cache-control"])).toEqual({ updating: 0, error: 0 });
    expect(windows("stale-while-revalidate=x")).toEqual({ updating: 0, error: 0 });
    clock = 0;
  });

  it("an answer whose stale-if-error outlasts the 10 minutes expired answers are kept is kept that long", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const store = memoryCacheStore(1 << 20);
      const locks: CacheLocks = new Map();
      const r = rule();
      const refused: Origin = async () => Promise.reject(new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, "refused"));
      await through(r, store, locks, async () => answer(200, [["cache-control", "max-age=1, stale-if-error=1200"]], "old"));
      vi.setSystemTime(Date.now() + 11 * 60_000);
      expect(await through(r, store, locks, refused)).toMatchObject({ status: "STALE", body: "old" });
      vi.setSystemTime(Date.now() + 10 * 60_000);
      await expect(through(r, store, locks, refused)).rejects.toThrow("refused");
    } finally {
      vi.useRealTimers();
    }
  });

  it("revalidate: an expired entry is asked for with its validators; a 304 renews it (for what the 304 says, else the status's valid, else not at all) and the client gets the entry", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const r = rule({ revalidate: true, valid: new Map() });
    const validators: Array<[string, string]> = [["etag", '"e1"'], ["last-modified", "Mon, 02 Nov 2026 10:00:00 GMT"]];
    await through(r, store, locks, async () => answer(200, [["cache-control", "max-age=1"], ...validators], "kept"));
    await new Promise((res) => setTimeout(res, 1100));
    const asks: Array<OriginAsk | undefined> = [];
    const notModified = (headers: Array<[string, string]>): Origin => async (ask) => {
      asks.push(ask);
      return answer(304, headers, null);
    };
    // A bare 304 and no valid for 200: the client gets the entry, which stays expired.
    expect(await through(r, store, locks, notModified([]))).toMatchObject({ status: "REVALIDATED", code: 200, body: "kept" });
    expect(asks[0]).toEqual({ fields: [["if-none-match", '"e1"'], ["if-modified-since", "Mon, 02 Nov 2026 10:00:00 GMT"]] });
    expect(await through(r, store, locks, notModified([["cache-control", "max-age=60"]]))).toMatchObject({ status: "REVALIDATED", body: "kept" });
    expect(await through(r, store, locks, notModified([]))).toMatchObject({ status: "HIT", body: "kept" });
    expect(asks.length).toBe(2);
    // A bare 304 where valid covers the entry's status.
    const v = rule({ revalidate: true, valid: new Map([[200, 60]]) });
    const p = request("/v");
    await through(v, store, locks, async () => answer(200, [["cache-control", "max-age=1"], ["etag", '"e2"']], "kept"), p);
    await new Promise((res) => setTimeout(res, 1100));
    expect(await through(v, store, locks, notModified([]), p)).toMatchObject({ status: "REVALIDATED", body: "kept" });
    expect(await through(v, store, locks, notModified([]), p)).toMatchObject({ status: "HIT", body: "kept" });
    // A 304 is no answer to a request without validators (one kept without any is asked anew).
    const plain = request("/plain");
    await through(r, store, locks, async () => answer(200, [["cache-control", "max-age=1"]], "first"), plain);
    await new Promise((res) => setTimeout(res, 1100));
    const o = counting([]);
    expect(await through(r, store, locks, o.fn, plain)).toMatchObject({ status: "EXPIRED", body: "run 1" });
  });

  it("without use_stale the failure is the answer", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const r = rule({ valid: new Map([[200, 1]]) });
    await through(r, store, locks, async () => answer(200, [], "old"));
    await new Promise((res) => setTimeout(res, 1100));
    await expect(through(r, store, locks, async () => Promise.reject(new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, "refused")))).rejects.toThrow("refused");
  });

  it("a body that ends short of its length, or runs past max_entry, reaches the client as it came and is not kept", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const failing = async (): Promise<Answer> => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode("part"));
          c.error(new Error("origin went away"));
        },
      });
      return { res: clientResponse(200, "", fieldsOf([]), body, 10, false), fromOrigin: true };
    };
    const cut = await throughCache(call(rule(), store, locks).ctx, failing);
    await expect(text(cut.res)).rejects.toThrow("origin went away");
    expect(locks.size).toBe(0);
    const big = "x".repeat(300);
    const long = async (): Promise<Answer> => answer(200, [], streamOf(new TextEncoder().encode(big)) as ReadableStream<Uint8Array>);
    expect(await through(rule({ maxEntry: 100 }), store, locks, long)).toMatchObject({ status: "MISS", body: big });
    expect(await through(rule({ maxEntry: 100 }), store, locks, long)).toMatchObject({ status: "MISS", body: big });
    expect(store.get("httpGETsite.test/p")).toBeNull();
  });

  it("Vary: each variant under its own key; a conditional request on a miss is answered from the new entry", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const o = async (): Promise<Answer> => answer(200, [["vary", "X-Lang"], ["etag", '"e"']], "hello");
    const en = request("/v", { "x-lang": "en", "if-none-match": '"e"' });
    expect(await through(rule(), store, locks, o, en)).toMatchObject({ status: "MISS", code: 304, body: "" });
    expect(await through(rule(), store, locks, o, request("/v", { "x-lang": "en" }))).toMatchObject({ status: "HIT", code: 200 });
    expect(await through(rule(), store, locks, o, request("/v", { "x-lang": "fr" }))).toMatchObject({ status: "MISS", code: 200 });
  });
});

describe("a hit's answer", () => {
  it("a range of a gzip answer only for a client that reads gzip; one that does not gets it decoded, whole", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const { gzipSync } = await import("node:zlib");
    const gz = gzipSync(Buffer.from("hello, ranges"));
    const o = async (): Promise<Answer> => ({ res: clientResponse(200, "", fieldsOf([["content-encoding", "gzip"], ["accept-ranges", "bytes"]]), new Uint8Array(gz), gz.length, true), fromOrigin: true });
    await through(rule(), store, locks, o, request("/g", { "accept-encoding": "gzip" }));
    const reads = (accept: string | null) => {
      const req = request("/g", { range: "bytes=0-3", ...(accept ? { "accept-encoding": accept } : {}) });
      const { ctx } = call(rule(), store, locks, req);
      return throughCache({ ...ctx, acceptEncoding: accept }, o);
    };
    const part = await reads("gzip");
    expect([part.res.status, part.res.encoded, part.res.length]).toEqual([206, true, 4]);
    const plain = await reads(null);
    expect([plain.res.status, plain.res.encoded, plain.res.headers.get("content-encoding"), await text(plain.res)]).toEqual([200, false, null, "hello, ranges"]);
  });

  it("an entry is a copy, never an origin's read memory that the writer gives back for reuse (on a miss answered from the entry, and when kept as it streams)", async () => {
    const { lend, settle, slabMemory, giveBack } = await import("../../src/core/read-slabs.js");
    // An answer read whole from an origin's socket: a view of slab memory, lent to the reader.
    const slabAnswer = (fill: number): Answer => {
      const read = lend(slabMemory().subarray(0, 100));
      read.fill(fill);
      settle(read, [read]);
      return { res: clientResponse(200, "", fieldsOf([["etag", '"s"']]), read, 100, false), fromOrigin: true };
    };
    for (const headers of [{ "if-none-match": '"other"' }, {}] as Array<Record<string, string>>) {
      const store = memoryCacheStore(1 << 20);
      const locks: CacheLocks = new Map();
      const req = request("/slab", headers);
      const first = await throughCache(call(rule(), store, locks, req).ctx, async () => slabAnswer(0x41));
      // The writer wrote what it was given and gives it back; the memory is read into again.
      if (first.res.body instanceof Uint8Array) giveBack([first.res.body]);
      for (let i = 0; i < 300; i++) slabMemory().fill(0x42);
      const hit = await through(rule(), store, locks, async () => slabAnswer(0x43), request("/slab"));
      expect([hit.status, hit.body]).toEqual(["HIT", "A".repeat(100)]);
    }
  });

  it("a store that fails to read is a miss, logged; the origin answers", async () => {
    const lines: string[] = [];
    const broken: CacheStore = { get: () => Promise.reject(new Error("cache down")), put: () => {}, delete: () => false };
    const { ctx } = call(rule(), broken, new Map());
    const a = await throughCache({ ...ctx, log: requestLogger("t", (_l, line) => lines.push(line)) }, async () => answer(200, [], "from origin"));
    expect([ctx.vars.cacheStatus, await text(a.res)]).toEqual(["MISS", "from origin"]);
    expect(lines.join("\n")).toMatch(/cache_read_failed.*cache down/);
  });
});

describe("PURGE (purge_from)", () => {
  const purgeRule = (from = "127.0.0.0/8") => rule({ purgeFrom: [parseCidr(from) as Cidr] });
  const purgeReq = (target: string, addr = "127.0.0.1", headers: Record<string, string> = {}) => {
    const req = request(target, headers, "PURGE");
    const c = call(purgeRule(), memoryCacheStore(1), new Map(), req);
    c.vars.remoteAddr = addr;
    return c;
  };

  it("removes the URL's answers to GET and HEAD, every Vary variant with them; 404 when nothing was kept", async () => {
    const store = memoryCacheStore(1 << 20);
    const locks: CacheLocks = new Map();
    const r = purgeRule();
    const o = counting([["vary", "X-Lang"]]);
    await through(r, store, locks, o.fn, request("/v", { "x-lang": "en" }));
    await through(r, store, locks, o.fn, request("/v", { "x-lang": "fr" }));
    await through(r, store, locks, async () => answer(200, [], "head"), request("/v", {}, "HEAD"));
    expect(await through(r, store, locks, o.fn, request("/v", { "x-lang": "fr" }))).toMatchObject({ status: "HIT", body: "run 2" });
    const { ctx } = purgeReq("/v");
    const purged = await throughCache({ ...ctx, store, locks }, o.fn);
    expect([purged.res.status, await text(purged.res), purged.fromOrigin]).toEqual([200, "Purged /v (3 entries).\n", false]);
    expect(await through(r, store, locks, o.fn, request("/v", { "x-lang": "en" }))).toMatchObject({ status: "MISS", body: "run 3" });
    expect(await through(r, store, locks, o.fn, request("/v", { "x-lang": "fr" }))).toMatchObject({ status: "MISS", body: "run 4" });
    const again = await throughCache({ ...purgeReq("/nothing").ctx, store, locks }, o.fn);
    expect(again.res.status).toBe(404);
    expect(o.runs).toBe(4);
  });

  it("two variants stored at once without the lock are both listed, and both purged", async () => {
    // A store that answers a moment later, as Cloudflare's does: both pointer writes start
    // before either is done.
    const memory = memoryCacheStore(1 << 20);
    const later = <T>(v: T | Promise<T>) => new Promise<T>((r) => setTimeout(() => r(v), 5));
    const store: CacheStore = { get: (k) => later(memory.get(k)), put: (k, e, ms) => later(memory.put(k, e, ms)), delete: (k) => later(memory.delete(k)) };
    const locks: CacheLocks = new Map();
    const r = { ...purgeRule(), lock: false };
    const o = counting([["vary", "X-Lang"]]);
    await Promise.all(["en", "fr", "de"].map((lang) => through(r, store, locks, o.fn, request("/v", { "x-lang": lang }))));
    expect(o.runs).toBe(3);
    // The answers go to the store after their clients have them.
    await new Promise((r) => setTimeout(r, 100));
    const purged = await throughCache({ ...purgeReq("/v").ctx, store, locks }, o.fn);
    expect(await text(purged.res)).toBe("Purged /v (3 entries).\n");
  });

  it("only from purge_from's addresses (403 ACCESS_DENIED otherwise); without purge_from a PURGE is no cache's business", async () => {
    const { ctx } = purgeReq("/p", "203.0.113.9");
    await expect(throughCache(ctx, counting().fn)).rejects.toMatchObject({ status: 403, code: "ACCESS_DENIED" });
    expect(usesCache(rule(), request("/p", {}, "PURGE"), call(rule(), memoryCacheStore(1), new Map()).vars)).toBe(false);
    expect(usesCache(purgeRule(), request("/p", {}, "PURGE"), call(rule(), memoryCacheStore(1), new Map()).vars)).toBe(true);
  });
});

describe("who may use the cache", () => {
  const uses = (r: CacheRule, req: GatewayRequest) => {
    const { vars } = call(r, memoryCacheStore(1), new Map(), req);
    return [usesCache(r, req, vars), vars.cacheStatus ?? null];
  };
  it("GET and HEAD only; credentials, a bypass text that is set and not \"0\", or a bypass cookie send it on (BYPASS)", () => {
    expect(uses(rule(), request("/", {}, "POST"))).toEqual([false, null]);
    expect(uses(rule(), request("/", {}, "HEAD"))).toEqual([true, null]);
    expect(uses(rule(), request("/", { authorization: "Basic eDp5" }))).toEqual([false, "BYPASS"]);
    const r = rule({ bypass: ["$cookie_nocache", "$arg_preview"] });
    expect(uses(r, request("/?preview=0", { cookie: "nocache=" }))).toEqual([true, null]);
    expect(uses(r, request("/?preview=1"))).toEqual([false, "BYPASS"]);
    const cfg = loadConfig(
      `[upstreams.wp]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n[[routes]]\nmatch = "/"\nupstream = "wp"\ncache = { bypass_cookies = ["wordpress_logged_in_*", "wp-postpass_*"] }\n`,
      "t.toml",
    );
    const wp = cfg.routes[0].cache!;
    expect(uses(wp, request("/", { cookie: "a=1; wordpress_logged_in_0f3a=me" }))).toEqual([false, "BYPASS"]);
    expect(uses(wp, request("/", { cookie: "wordpress_test_cookie=1" }))).toEqual([true, null]);
  });

  it("the origin is asked without validators and ranges (and with its own Accept-Encoding and request id)", () => {
    const req = request("/", { accept: "*/*", "if-none-match": '"a"', range: "bytes=0-1", "if-modified-since": "x", "if-range": "y", "if-match": "z", "if-unmodified-since": "w" });
    expect(forwardedFields(req, "gzip", "id1", "site.test", CACHE_VALIDATORS)).toEqual([["accept", "*/*"], ["host", "site.test"], ["accept-encoding", "gzip"], ["x-request-id", "id1"]]);
  });
});

describe("the memory store", () => {
  const entry = (n: number) => ({ status: 200, statusText: "", headers: [], body: new Uint8Array(n), stored: 0, fresh: 1 });
  it("holds at most its size, dropping the least recently used first; an entry larger than the whole is not kept", () => {
    const s = memoryCacheStore(3000);
    s.put("a", entry(900), 60_000);
    s.put("b", entry(900), 60_000);
    expect(s.get("a")).not.toBeNull(); // a is now the newest
    s.put("c", entry(900), 60_000);
    expect([s.get("a") !== null, s.get("b") !== null, s.get("c") !== null]).toEqual([true, false, true]);
    expect(s.bytes).toBeLessThanOrEqual(3000);
    s.put("huge", entry(5000), 60_000);
    expect(s.get("huge")).toBeNull();
    s.put("a", entry(10), 60_000);
    expect(s.count).toBe(2);
  });

  it("drops an entry once its time is up", () => {
    let now = 0;
    const s = memoryCacheStore(1 << 20, () => now);
    s.put("k", entry(1), 1000);
    now = 999;
    expect(s.get("k")).not.toBeNull();
    now = 1000;
    expect(s.get("k")).toBeNull();
    expect(s.bytes).toBe(0);
  });
});

describe("the config", () => {
  const site = (route: string, gateway = "") => `${gateway}[upstreams.php]\nprotocol = "fastcgi"\nservers = ["127.0.0.1:9000"]\n[[routes]]\nmatch = "/"\n${route}\n`;
  it("defaults: cache = true keeps what the origin's head allows, under nginx's usual key, with the lock", () => {
    const c = loadConfig(site(`upstream = "php"\ncache = true`), "t.toml");
    expect(c.routes[0].cache).toMatchObject({ key: "$scheme$request_method$host$request_uri", lock: true, lockTimeoutMs: 5000, maxEntry: 1 << 20, backgroundUpdate: false, revalidate: false });
    expect(loadConfig(site(`upstream = "php"\ncache = { background_update = true, revalidate = true }`), "t.toml").routes[0].cache).toMatchObject({ backgroundUpdate: true, revalidate: true });
    expect(c.routes[0].cache!.valid.size).toBe(0);
    expect(c.gateway.cacheSize).toBe(64 << 20);
    const v = loadConfig(site(`upstream = "php"\ncache = { valid = { 200 = "10m", 404 = "1m", any = "5s" }, max_entry = "4m" }`, `[gateway]\ncache_size = "256m"\n`), "t.toml");
    expect([...v.routes[0].cache!.valid]).toEqual([[200, 600], [404, 60], ["any", 5]]);
    expect(v.gateway.cacheSize).toBe(256 << 20);
    // A lifetime is no timer: a year is fine where a timeout stops at 24 days.
    expect(loadConfig(site(`upstream = "php"\ncache = { valid = "365d" }`), "t.toml").routes[0].cache!.valid.get(200)).toBe(365 * 86400);
  });

  it.each([
    [`return = "200 hi"\ncache = true`, "only an origin's answers are cached"],
    [`upstream = "php"\ncache = { fastcgi_cache_valid = "1m" }`, 'edgepass calls this "valid"'],
    [`upstream = "php"\ncache = { valid = { 99 = "1m" } }`, "a status code"],
    [`upstream = "php"\ncache = { use_stale = ["invalid_header"] }`, "one of error, timeout"],
    [`upstream = "php"\ncache = { ignore_headers = ["X-Powered-By"] }`, "one of X-Accel-Expires"],
    [`upstream = "php"\ncache = { key = "$uri$upstream_addr" }`, "unknown variable $upstream_addr"],
    [`upstream = "php"\ncache = { bypass = "$cookie_x" }`, 'write ["$cookie_x"]'],
    [`upstream = "php"\ncache = { bypass_cookies = ["a;b"] }`, "a cookie name"],
    [`upstream = "php"\ncache = { max_entry = 0 }`, "an entry must be allowed some bytes"],
    [`upstream = "php"\ncache = { background_update = "on" }`, "true or false"],
    [`upstream = "php"\ncache = { purge_from = ["everyone"] }`, "an IPv4 or IPv6 address or CIDR block"],
    [`upstream = "php"\ncache = { fastcgi_cache_purge = ["127.0.0.1"] }`, 'edgepass calls this "purge_from"'],
    [`upstream = "php"\ncache = { fastcgi_cache_revalidate = true }`, 'edgepass calls this "revalidate"'],
  ])("refuses %s", (route, message) => {
    expect(messageOf(() => loadConfig(site(route), "t.toml"))).toContain(message);
  });
});
