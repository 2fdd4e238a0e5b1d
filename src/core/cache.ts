// A route's cache: nginx's fastcgi_cache / proxy_cache. An origin's answer to GET or HEAD is
// kept when its head allows (X-Accel-Expires, then Cache-Control, then Expires, then the
// route's `valid`), never with Set-Cookie or Vary: *, and served again until it expires; one
// request per key asks the origin while the others wait for its answer (the lock), and an
// expired answer may stand in when the origin fails or while another request updates it
// (use_stale, or the origin's stale-if-error / stale-while-revalidate), the update itself
// running with no client waiting (background_update); an expired answer with validators may
// be renewed by the origin's 304 (revalidate). A hit answers conditional and range requests
// itself, so the origin is asked without them (nginx drops them too). A PURGE removes a URL's
// entries (cache-purge.ts). The entries live in the host's store: memory on `edgepass serve`,
// Cloudflare's cache in the Worker.
import type { CacheRule } from "../config/types.js";
import { cookies, expandVariables, type RequestVars } from "../edge/variables.js";
import type { RequestRecord } from "./access-log.js";
import type { GatewayRequest } from "./gateway.js";
import type { ClientSignal } from "./exchange.js";
import type { Logger } from "./log.js";
import { within } from "./deadline.js";
import { keepWhenRead, readWhole } from "./cache-body.js";
import { lifetimeOf, staleWindows, varyNames } from "./cache-lifetime.js";
import { cancelBody, type ClientResponse } from "./respond.js";
import { hit } from "./cache-hit.js";
import { purge, PURGE_METHOD } from "./cache-purge.js";
import { putVariant, variantKey } from "./cache-vary.js";

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
  /** How long (ms) past `fresh` the origin let it stand in while it is updated
   *  (stale-while-revalidate) and when the origin cannot be reached (stale-if-error). */
  updatingMs?: number;
  errorMs?: number;
  /** Set on an entry that only says which request fields (lower-case) the answer varies by:
   *  the answer itself is under the key with their values (variantKey). */
  vary?: string[];
  /** On such an entry: the keys of the variants kept under it, for a purge (cache-purge.ts). */
  variants?: string[];
}

/** Where a host keeps entries; `keepMs`: how long an entry may be kept at all (fresh, then
 *  stale for use_stale). */
export interface CacheStore {
  get(key: string): CacheEntry | null | Promise<CacheEntry | null>;
  put(key: string, entry: CacheEntry, keepMs: number): void | Promise<void>;
  /** Removes the entry under `key`; true when there was one. */
  delete(key: string): boolean | Promise<boolean>;
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

/** How the cache asks the origin (gateway.ts): `fields` go with the request (an entry's
 *  validators); a `background` request is one no client waits for, so it has a record of its
 *  own, holds no limit_conn place and goes on when the client leaves. */
export interface OriginAsk {
  fields?: Array<[string, string]>;
  background?: boolean;
}
export type Origin = (ask?: OriginAsk) => Promise<Answer>;

/** The signal of a request no client waits for. */
export const NEVER_ABORTED: ClientSignal = { aborted: false, addEventListener() {}, removeEventListener() {} };

/** The request as handed to a pool object (the Worker's): without `leave`'s fields, with `add`. */
export function withFields(request: Request, leave: ReadonlySet<string>, add: Array<[string, string]> = []): Request {
  const headers = new Headers(request.headers);
  for (const n of leave) headers.delete(n);
  for (const [n, v] of add) headers.set(n, v);
  return new Request(request, { headers });
}

/** A key's lock: settles once the request holding it has its answer stored (true) or knows it
 *  will not be (false). Per gateway (process or isolate). Held by whichever request asks the
 *  origin for a key, with or without the `lock` rule: the others then know it is updating. */
export type CacheLocks = Map<string, Promise<boolean>>;
type Release = (stored: boolean) => void;

export interface CacheContext {
  rule: CacheRule;
  store: CacheStore;
  locks: CacheLocks;
  vars: RequestVars;
  request: GatewayRequest;
  acceptEncoding: string | null;
  log: Logger;
  record: RequestRecord;
  /** Keeps the host running for the store's write and a background update (the Worker's
   *  waitUntil). */
  waitUntil?: (p: Promise<unknown>) => void;
}

/** Whether this request may use the route's cache: GET or HEAD, without credentials (a
 *  shared cache must not answer one user with another's page) and with no bypass text set;
 *  or a PURGE where the route takes one.
 *  Sets $upstream_cache_status to BYPASS when a bypass text decided. */
export function usesCache(rule: CacheRule, request: GatewayRequest, vars: RequestVars): boolean {
  if (request.method !== "GET" && request.method !== "HEAD") return request.method === PURGE_METHOD && rule.purgeFrom !== undefined;
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

function hold(locks: CacheLocks, key: string): Release {
  let settle!: Release;
  const p = new Promise<boolean>((r) => (settle = r));
  locks.set(key, p);
  return (stored) => {
    if (locks.get(key) === p) locks.delete(key);
    settle(stored);
  };
}

/** An expired entry may stand in while another request updates it: use_stale "updating", or
 *  within the origin's stale-while-revalidate. */
function standsInWhileUpdating(rule: CacheRule, entry: CacheEntry): boolean {
  return rule.useStale.has("updating") || Date.now() < entry.fresh + (entry.updatingMs ?? 0);
}

/** The request's answer from the cache, else from `origin` (kept for the next request when
 *  its head allows). */
export async function throughCache(ctx: CacheContext, origin: Origin): Promise<Answer> {
  const { rule, locks } = ctx;
  if (ctx.request.method === PURGE_METHOD) return { res: await purge(rule, ctx.store, ctx.vars), fromOrigin: false };
  const key = expandVariables(rule.key, ctx.vars);
  // The lock held as the entry was read: let go by the time the read is done, its answer may
  // have been stored after the read, so the entry is read again.
  let seen = locks.get(key);
  let found = await lookup(ctx, key);
  if (found && found.fresh > Date.now()) return hit(ctx, found, "HIT");
  let release: Release | undefined;
  let mayStore = true;
  const deadline = Date.now() + rule.lockTimeoutMs;
  for (;;) {
    const held = locks.get(key);
    if (!held && seen) {
      seen = undefined;
      found = await lookup(ctx, key);
      if (found && found.fresh > Date.now()) return hit(ctx, found, "HIT");
      continue;
    }
    if (!held) {
      release = hold(locks, key);
      break;
    }
    // Another request is asking the origin: an expired answer may stand in meanwhile.
    if (found && standsInWhileUpdating(rule, found)) return hit(ctx, found, "UPDATING");
    if (!rule.lock) break;
    const stored = await within(held, Math.max(0, deadline - Date.now()));
    if (stored === undefined) {
      // nginx's lock_timeout: ask the origin, and keep its answer out of the cache.
      mayStore = false;
      break;
    }
    seen = locks.get(key);
    found = await lookup(ctx, key);
    if (found && found.fresh > Date.now()) return hit(ctx, found, "HIT");
    // The answer was not one to keep: every waiter asks the origin itself, at once.
    if (!stored) break;
  }
  const stale = found ?? undefined;
  const fields = stale && rule.revalidate ? validatorsOf(stale) : undefined;
  if (stale && release && rule.backgroundUpdate && standsInWhileUpdating(rule, stale)) {
    const done = update(ctx, key, stale, origin, fields, release);
    ctx.waitUntil?.(done);
    return hit(ctx, stale, "STALE");
  }
  ctx.vars.cacheStatus = stale ? "EXPIRED" : "MISS";
  let answer: Answer;
  try {
    answer = await origin(fields && { fields });
  } catch (e) {
    release?.(false);
    const why = staleCase((e as { status?: number }).status ?? 500, false);
    if (stale && why && mayStandIn(rule, stale, why)) return staleFor(ctx, stale, why, e);
    throw e;
  }
  const now = Date.now();
  const verdict = judge(ctx, stale, answer, fields !== undefined, mayStore, now);
  if (verdict.kind === "stale") {
    release?.(false);
    cancelBody(answer.res.body);
    return staleFor(ctx, stale!, verdict.why);
  }
  if (verdict.kind === "renewed") return hit(ctx, renew(ctx, key, stale!, answer, now, release), "REVALIDATED");
  if (verdict.kind === "pass") {
    release?.(false);
    return answer;
  }
  const keep = keeper(ctx, key, answer, verdict.lifetime, now, release);
  // A conditional or range request gets its answer from the entry being made, as from a hit
  // (nginx answers it so on a miss too): the origin was asked without them.
  if (answer.res.status === 200 && asksConditionally(ctx.request)) {
    let whole: Uint8Array | null;
    try {
      whole = await readWhole(answer.res, rule.maxEntry);
    } catch (e) {
      release?.(false);
      throw e;
    }
    const entry = keep(whole);
    return entry ? hit(ctx, entry, ctx.vars.cacheStatus, false) : answer;
  }
  keepWhenRead(answer.res, rule.maxEntry, keep);
  return answer;
}

/** What becomes of the origin's answer to a request for a missing or expired entry: the
 *  expired one stands in for it (use_stale), renews it (a 304 to its validators), passes
 *  uncached, or is kept for `lifetime` ms. */
type Verdict = { kind: "stale"; why: string } | { kind: "renewed" } | { kind: "pass" } | { kind: "keep"; lifetime: number };

function judge(ctx: CacheContext, stale: CacheEntry | undefined, answer: Answer, revalidating: boolean, mayStore: boolean, now: number): Verdict {
  const { rule } = ctx;
  const status = answer.res.status;
  const why = staleCase(status, answer.fromOrigin);
  if (stale && why && mayStandIn(rule, stale, why)) return { kind: "stale", why };
  if (stale && revalidating && answer.fromOrigin && status === 304) return { kind: "renewed" };
  const lifetime = mayStore && answer.fromOrigin ? lifetimeOf(rule, answer.res, now) : null;
  if (lifetime === null || (answer.res.length !== null && answer.res.length > rule.maxEntry)) return { kind: "pass" };
  return { kind: "keep", lifetime };
}

/** Makes the entry from the answer's body once it is read whole (null: cut short or too
 *  long, so nothing is kept), stores it, and releases the key's lock either way. */
function keeper(ctx: CacheContext, key: string, answer: Answer, lifetime: number, now: number, release?: Release): (body: Uint8Array | null) => CacheEntry | null {
  // Its fields as they are now: by the time the body is read, the answer's own have had the
  // route's header policy, and the X-Accel fields a hit takes again (limit-rate.ts) are gone.
  const headers = [...answer.res.headers].filter(([n]) => n !== "set-cookie" && n !== "x-accel-expires");
  return (body) => {
    if (body === null) {
      release?.(false);
      return null;
    }
    const { updating, error } = staleWindows(ctx.rule, answer.res);
    const entry: CacheEntry = {
      status: answer.res.status,
      statusText: answer.res.statusText,
      headers,
      body,
      stored: now,
      fresh: now + lifetime,
    };
    if (updating) entry.updatingMs = updating;
    if (error) entry.errorMs = error;
    if (ctx.request.method === "HEAD") entry.head = true;
    stored(ctx, key, entry, release);
    return entry;
  };
}

/** Puts the entry in the store, letting go of the key's lock once it is there. */
function stored(ctx: CacheContext, key: string, entry: CacheEntry, release?: Release): void {
  const done = put(ctx, key, entry).then(
    () => release?.(true),
    (e) => {
      ctx.log.log("warn", "cache_store_failed", { key, error: e });
      release?.(false);
    },
  );
  ctx.waitUntil?.(done);
}

/** The entry's validators, for asking the origin whether it changed (revalidate). */
function validatorsOf(entry: CacheEntry): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  for (const [n, v] of entry.headers) {
    if (n === "etag") out.push(["if-none-match", v]);
    else if (n === "last-modified") out.push(["if-modified-since", v]);
  }
  return out.length ? out : undefined;
}

/** The origin's 304 to an expired entry's validators: the entry again, fresh for as long as
 *  the 304 says, else its status's `valid` (nginx keeps the entry's fields and body). One
 *  the 304 gives no lifetime stays expired, and is asked for again next time. */
function renew(ctx: CacheContext, key: string, stale: CacheEntry, answer: Answer, now: number, release?: Release): CacheEntry {
  cancelBody(answer.res.body);
  const lifetime = lifetimeOf(ctx.rule, { status: stale.status, headers: answer.res.headers, tunnel: undefined }, now);
  if (lifetime === null) {
    release?.(false);
    return stale;
  }
  const entry: CacheEntry = { ...stale, stored: now, fresh: now + lifetime };
  stored(ctx, key, entry, release);
  return entry;
}

/** A background update (background_update): the origin is asked as for a client, and its
 *  answer read whole here and kept when it may be, or dropped. Its failures are logged; the
 *  expired entry stays. */
async function update(ctx: CacheContext, key: string, stale: CacheEntry, origin: Origin, fields: Array<[string, string]> | undefined, release: Release): Promise<void> {
  try {
    const answer = await origin({ fields, background: true });
    const now = Date.now();
    const verdict = judge(ctx, stale, answer, fields !== undefined, true, now);
    if (verdict.kind === "renewed") renew(ctx, key, stale, answer, now, release);
    else if (verdict.kind === "keep") keeper(ctx, key, answer, verdict.lifetime, now, release)(await readWhole(answer.res, ctx.rule.maxEntry));
    else {
      release(false);
      cancelBody(answer.res.body);
    }
  } catch (e) {
    release(false);
    ctx.log.log("warn", "cache_update_failed", { key, error: e });
  }
}

/** The use_stale case an answer is: the gateway's own failure ("error", or "timeout" for a
 *  504), or the origin's status ("http_503"); null for none. */
function staleCase(status: number, fromOrigin: boolean): string | null {
  if (fromOrigin) return STALE_STATUSES.has(status) ? `http_${status}` : null;
  if (status < 500) return null;
  return status === 504 ? "timeout" : "error";
}

/** An expired entry may be served in the origin's stead for this case: use_stale, or within
 *  the origin's stale-if-error when it could not be reached (nginx takes stale-if-error for
 *  no status: the origin's 500 is its answer). */
function mayStandIn(rule: CacheRule, entry: CacheEntry, why: string): boolean {
  if (rule.useStale.has(why)) return true;
  return (why === "error" || why === "timeout") && Date.now() < entry.fresh + (entry.errorMs ?? 0);
}

function staleFor(ctx: CacheContext, entry: CacheEntry, why: string, error?: unknown): Answer {
  ctx.log.log("warn", "cache_stale_served", { why, error });
  return hit(ctx, entry, "STALE");
}

/** The entry for this request, following a Vary entry to the request's variant. A store that
 *  fails (Cloudflare's cache can) is a miss, logged: the origin still answers. */
async function lookup(ctx: CacheContext, key: string): Promise<CacheEntry | null> {
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
  return entry;
}

async function put(ctx: CacheContext, key: string, entry: CacheEntry): Promise<void> {
  const { store, request } = ctx;
  const keep = entry.fresh - entry.stored + Math.max(STALE_KEEP_MS, entry.updatingMs ?? 0, entry.errorMs ?? 0);
  const vary = ctx.rule.ignore.has("vary") ? [] : varyNames(entry.headers.find(([n]) => n === "vary")?.[1] ?? null);
  if (vary.length === 0) return store.put(key, entry, keep);
  await putVariant(store, key, vary, request, entry, keep);
}
