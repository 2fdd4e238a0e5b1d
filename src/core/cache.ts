// A route's cache: nginx's fastcgi_cache / proxy_cache. An origin's answer to GET or HEAD is
// kept when its head allows (X-Accel-Expires, then Cache-Control, then Expires, then the
// route's `valid`), never with Set-Cookie or Vary: *, and served again until it expires; one
// request per key asks the origin while the others wait for its answer (the lock), and an
// expired answer may stand in when the origin fails (use_stale). A hit answers conditional
// and range requests itself, so the origin is asked without them (nginx drops them too).
// The entries live in the host's store: memory on `edgepass serve`, Cloudflare's cache in the
// Worker.
import type { CacheRule } from "../config/types.js";
import { preconditionStatus, rangeFor } from "../edge/conditional.js";
import { cookies, expandVariables, type RequestVars } from "../edge/variables.js";
import { noBodyFor } from "../edge/headers.js";
import type { RequestRecord } from "./access-log.js";
import type { GatewayRequest } from "./gateway.js";
import type { Logger } from "./log.js";
import { within } from "./deadline.js";
import { keepWhenRead, readWhole } from "./cache-body.js";
import { lifetimeOf, varyNames } from "./cache-lifetime.js";
import { cancelBody, clientResponse, inClientCoding, type ClientResponse } from "./respond.js";
import { acceptsCoding } from "./encoding.js";
import { ResponseFields } from "./response-fields.js";

export interface CacheEntry {
  status: number;
  statusText: string;
  /** The answer's fields as the client gets them before the route's header policy
   *  (Set-Cookie never among them). */
  headers: Array<[string, string]>;
  /** null: the answer to a HEAD, or a status without a body. */
  body: Uint8Array | null;
  /** Date.now() when stored, and until when it is fresh. */
  stored: number;
  fresh: number;
  /** Made from a HEAD's answer (no body): it answers HEAD only, whatever the key. */
  head?: boolean;
  /** Set on an entry that only says which request fields (lower-case) the answer varies by:
   *  the answer itself is under the key with their values (variantKey). */
  vary?: string[];
}

/** Where a host keeps entries; `keepMs`: how long an entry may be kept at all (fresh, then
 *  stale for use_stale). */
export interface CacheStore {
  get(key: string): CacheEntry | null | Promise<CacheEntry | null>;
  put(key: string, entry: CacheEntry, keepMs: number): void | Promise<void>;
}

/** How long an expired entry is kept for use_stale (nginx's `inactive` default). */
export const STALE_KEEP_MS = 10 * 60_000;

/** The request fields the origin is asked without where a route caches: a hit answers them
 *  itself, and the entry is made from the whole answer. */
export const CACHE_VALIDATORS: ReadonlySet<string> = new Set(["if-modified-since", "if-unmodified-since", "if-none-match", "if-match", "range", "if-range"]);
/** Statuses whose stale entry the origin's answer may give way to (use_stale "http_…"). */
const STALE_STATUSES = new Set([500, 502, 503, 504, 403, 404, 429]);

export interface Answer {
  res: ClientResponse;
  fromOrigin: boolean;
}

/** A key's lock: settles once the request holding it has its answer stored (true) or knows it
 *  will not be (false). Per gateway (process or isolate). */
export type CacheLocks = Map<string, Promise<boolean>>;

export interface CacheContext {
  rule: CacheRule;
  store: CacheStore;
  locks: CacheLocks;
  vars: RequestVars;
  request: GatewayRequest;
  acceptEncoding: string | null;
  log: Logger;
  record: RequestRecord;
  /** Keeps the host running for the store's write (the Worker's waitUntil). */
  waitUntil?: (p: Promise<unknown>) => void;
}

/** Whether this request may use the route's cache: GET or HEAD, without credentials (a
 *  shared cache must not answer one user with another's page) and with no bypass text set.
 *  Sets $upstream_cache_status to BYPASS when a bypass text decided. */
export function usesCache(rule: CacheRule, request: GatewayRequest, vars: RequestVars): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return false;
  const bypass =
    request.headers.has("authorization") ||
    rule.bypass.some((b) => {
      const v = expandVariables(b, vars);
      return v !== "" && v !== "0";
    }) ||
    (rule.bypassCookies !== undefined && carriesCookie(request.headers.get("cookie"), rule.bypassCookies));
  if (bypass) vars.cacheStatus = "BYPASS";
  return !bypass;
}

function carriesCookie(cookie: string | null, names: RegExp): boolean {
  for (const [n] of cookies(cookie)) if (names.test(n)) return true;
  return false;
}

/** The request carries a validator or a range (CACHE_VALIDATORS). */
function asksConditionally(request: GatewayRequest): boolean {
  for (const n of CACHE_VALIDATORS) if (request.headers.has(n)) return true;
  return false;
}

/** The request's answer from the cache, else from `origin` (kept for the next request when
 *  its head allows). */
export async function throughCache(ctx: CacheContext, origin: () => Promise<Answer>): Promise<Answer> {
  const { rule, locks, vars } = ctx;
  const key = expandVariables(rule.key, vars);
  let found = await lookup(ctx, key);
  if (found && found.entry.fresh > Date.now()) return hit(ctx, found.entry, "HIT");
  let release: ((stored: boolean) => void) | undefined;
  let mayStore = true;
  if (rule.lock) {
    const deadline = Date.now() + rule.lockTimeoutMs;
    for (;;) {
      const held = locks.get(key);
      if (!held) {
        let settle!: (stored: boolean) => void;
        const p = new Promise<boolean>((r) => (settle = r));
        locks.set(key, p);
        release = (stored) => {
          if (locks.get(key) === p) locks.delete(key);
          settle(stored);
        };
        break;
      }
      // Another request is asking the origin: an expired answer may stand in meanwhile.
      if (found && rule.useStale.has("updating")) return hit(ctx, found.entry, "UPDATING");
      const stored = await within(held, Math.max(0, deadline - Date.now()));
      if (stored === undefined) {
        // nginx's lock_timeout: ask the origin, and keep its answer out of the cache.
        mayStore = false;
        break;
      }
      found = await lookup(ctx, key);
      if (found && found.entry.fresh > Date.now()) return hit(ctx, found.entry, "HIT");
      // The answer was not one to keep: every waiter asks the origin itself, at once.
      if (!stored) break;
    }
  }
  const stale = found?.entry;
  let answer: Answer;
  try {
    answer = await origin();
  } catch (e) {
    release?.(false);
    const why = staleCase((e as { status?: number }).status ?? 500, false);
    if (stale && why && rule.useStale.has(why)) return staleFor(ctx, stale, why, e);
    throw e;
  }
  const status = answer.res.status;
  const why = staleCase(status, answer.fromOrigin);
  if (stale && why && rule.useStale.has(why)) {
    release?.(false);
    cancelBody(answer.res.body);
    return staleFor(ctx, stale, why);
  }
  ctx.vars.cacheStatus = stale ? "EXPIRED" : "MISS";
  const now = Date.now();
  const lifetime = mayStore && answer.fromOrigin ? lifetimeOf(rule, answer.res, now) : null;
  // Said to the cache, not the client (nginx hides it too), and not kept with the entry.
  answer.res.headers.delete("x-accel-expires");
  if (lifetime === null || (answer.res.length !== null && answer.res.length > rule.maxEntry)) {
    release?.(false);
    return answer;
  }
  const keep = (body: Uint8Array | null): CacheEntry | null => {
    if (body === null) {
      release?.(false);
      return null;
    }
    const entry: CacheEntry = {
      status,
      statusText: answer.res.statusText,
      headers: [...answer.res.headers].filter(([n]) => n !== "set-cookie"),
      body,
      stored: now,
      fresh: now + lifetime,
    };
    if (ctx.request.method === "HEAD") entry.head = true;
    const done = put(ctx, key, entry).then(
      () => release?.(true),
      (e) => {
        ctx.log.log("warn", "cache_store_failed", { key, error: e });
        release?.(false);
      },
    );
    ctx.waitUntil?.(done);
    return entry;
  };
  // A conditional or range request gets its answer from the entry being made, as from a hit
  // (nginx answers it so on a miss too): the origin was asked without them.
  if (status === 200 && asksConditionally(ctx.request)) {
    let whole: Uint8Array | null;
    try {
      whole = await readWhole(answer.res, rule.maxEntry);
    } catch (e) {
      release?.(false);
      throw e;
    }
    if (whole) {
      const entry = keep(whole);
      if (entry) return hit(ctx, entry, ctx.vars.cacheStatus, false);
    } else release?.(false);
    return answer;
  }
  keepWhenRead(answer.res, rule.maxEntry, keep);
  return answer;
}

/** The use_stale case an answer is: the gateway's own failure ("error", or "timeout" for a
 *  504), or the origin's status ("http_503"); null for none. */
function staleCase(status: number, fromOrigin: boolean): string | null {
  if (fromOrigin) return STALE_STATUSES.has(status) ? `http_${status}` : null;
  if (status < 500) return null;
  return status === 504 ? "timeout" : "error";
}

function staleFor(ctx: CacheContext, entry: CacheEntry, why: string, error?: unknown): Answer {
  ctx.log.log("warn", "cache_stale_served", { why, error });
  return hit(ctx, entry, "STALE");
}

/** The entry for this request, following a Vary entry to the request's variant. A store that
 *  fails (Cloudflare's cache can) is a miss, logged: the origin still answers. */
async function lookup(ctx: CacheContext, key: string): Promise<{ entry: CacheEntry } | null> {
  const { store, request } = ctx;
  let entry: CacheEntry | null;
  try {
    entry = await store.get(key);
    if (entry?.vary) entry = await store.get(variantKey(key, entry.vary, request));
  } catch (e) {
    ctx.log.log("warn", "cache_read_failed", { key, error: e });
    return null;
  }
  // A key without $request_method would give a GET the empty answer a HEAD left.
  if (!entry || (entry.head && request.method !== "HEAD")) return null;
  return { entry };
}

async function put(ctx: CacheContext, key: string, entry: CacheEntry): Promise<void> {
  const { store, request } = ctx;
  const keep = entry.fresh - entry.stored + STALE_KEEP_MS;
  const vary = ctx.rule.ignore.has("vary") ? [] : varyNames(entry.headers.find(([n]) => n === "vary")?.[1] ?? null);
  if (vary.length === 0) return store.put(key, entry, keep);
  await store.put(key, { status: 0, statusText: "", headers: [], body: null, stored: entry.stored, fresh: entry.fresh, vary }, keep);
  await store.put(variantKey(key, vary, request), entry, keep);
}

function variantKey(key: string, names: string[], request: GatewayRequest): string {
  return `${key}\n${names.map((n) => `${n}:${request.headers.get(n) ?? ""}`).join("\n")}`;
}

/** An entry as this request's answer: its Age, a 304 or 412 for a conditional request, one
 *  byte range of a 200, its coding as the client reads it. */
function hit(ctx: CacheContext, entry: CacheEntry, status: string | undefined, cached = true): Answer {
  ctx.vars.cacheStatus = status;
  if (cached) ctx.record.from = "cache";
  const { request } = ctx;
  const headers = new ResponseFields();
  for (const [n, v] of entry.headers) headers.append(n, v);
  if (cached) headers.set("age", String(Math.max(0, Math.floor((Date.now() - entry.stored) / 1000))));
  const head = request.method === "HEAD";
  let body = entry.body;
  if (entry.status === 200 && body) {
    const lastModified = headers.get("last-modified");
    const validators = { etag: headers.get("etag") ?? undefined, lastModified: lastModified ? new Date(lastModified) : undefined };
    const pre = preconditionStatus(request.method, request.headers, validators);
    if (pre !== null) {
      // As a file's 304 or 412 (edge/static.ts): the validators, no body.
      headers.delete("content-length");
      if (pre === 304) headers.delete("content-type");
      return { res: clientResponse(pre, "", headers, null, null, false), fromOrigin: true };
    }
    // As nginx: ranges of an answer whose origin said it takes them; and only of bytes the
    // client reads as they are (a gzip answer it cannot read is decoded whole, below).
    const coding = headers.get("content-encoding");
    const ranges = headers.get("accept-ranges")?.toLowerCase() === "bytes" && (coding === null || acceptsCoding(ctx.acceptEncoding, coding.trim().toLowerCase()));
    const range = ranges ? rangeFor(request.headers, body.byteLength, validators) : ({ kind: "full" } as const);
    if (range.kind === "unsatisfiable") {
      headers.set("content-range", `bytes */${body.byteLength}`);
      headers.set("content-length", "0");
      return { res: clientResponse(416, "", headers, null, 0, false), fromOrigin: true };
    }
    if (range.kind === "partial") {
      const { start, end } = range.range;
      headers.set("content-range", `bytes ${start}-${end}/${body.byteLength}`);
      headers.set("content-length", String(end - start + 1));
      body = body.subarray(start, end + 1);
      return { res: clientResponse(206, "", headers, head ? null : body, end - start + 1, coding !== null), fromOrigin: true };
    }
  }
  const length = body ? body.byteLength : null;
  const out = clientResponse(entry.status, entry.statusText, headers, head || noBodyFor(request.method, entry.status) ? null : body, length, false);
  return { res: inClientCoding(out, ctx.acceptEncoding, ctx.log), fromOrigin: true };
}
