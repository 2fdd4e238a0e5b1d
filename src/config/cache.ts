// A route's cache (nginx's fastcgi_cache / proxy_cache with their _valid, _key, _bypass,
// _no_cache, _lock, _use_stale and _ignore_headers), checked at load.
import type { RouteConfig } from "./types.js";
import { isTable, type Checker, type Table } from "./checker.js";
import { checkVariables } from "./route-rules.js";
import { stringList } from "./assets.js";
import { parseDuration, parseSize, DURATION_EXPECTED, SIZE_EXPECTED } from "./units.js";
import { checkCidrList } from "./serve.js";
import type { Cidr } from "../edge/cidr.js";

type At = Array<string | number>;

/** A route's cache, as its `cache` key set it. */
export interface CacheRule {
  /** key, variables expanded: what one entry answers for. */
  key: string;
  /** valid: seconds an answer of a status ("any": every other) is kept when the origin's
   *  head says nothing of it; empty: only what the head says. */
  valid: Map<number | "any", number>;
  /** bypass: texts with variables; any that is not empty or "0" sends the request to the
   *  origin and keeps its answer out of the cache. */
  bypass: string[];
  /** bypass_cookies: cookie names ("*" for any run of characters); a request carrying one
   *  bypasses the cache as a bypass text would (WordPress's wordpress_logged_in_…). */
  bypassCookies?: RegExp;
  /** lock, default true: one request per key asks the origin, the others wait for its answer. */
  lock: boolean;
  lockTimeoutMs: number;
  /** use_stale: when an expired answer may be served instead of the origin's. */
  useStale: Set<string>;
  /** background_update: the request that finds an answer expired, where one may stand in
   *  while it is updated (use_stale "updating", or the answer's stale-while-revalidate), gets
   *  it at once, and the origin is asked with no client waiting. */
  backgroundUpdate: boolean;
  /** revalidate: an expired answer with an ETag or Last-Modified is asked for again with
   *  If-None-Match / If-Modified-Since; the origin's 304 renews it. */
  revalidate: boolean;
  /** ignore_headers, lower-case: origin fields whose word on caching is not taken. */
  ignore: Set<string>;
  /** max_entry: a longer answer passes through uncached. */
  maxEntry: number;
  /** purge_from: the client addresses whose PURGE removes this route's entries for the URL
   *  (core/cache-purge.ts); absent: PURGE is forwarded as any method. */
  purgeFrom?: Cidr[];
}

/** nginx's fastcgi_cache_key as most PHP sites write it; GET and HEAD are kept apart. */
export const DEFAULT_CACHE_KEY = "$scheme$request_method$host$request_uri";
/** The statuses a bare `valid = "10m"` covers, as nginx's fastcgi_cache_valid with no code. */
const DEFAULT_VALID_STATUSES = [200, 301, 302];
const STALE_CASES = ["error", "timeout", "updating", "http_500", "http_502", "http_503", "http_504", "http_403", "http_404", "http_429"] as const;
const IGNORABLE = ["x-accel-expires", "cache-control", "expires", "set-cookie", "vary"];
const KEYS = ["valid", "key", "bypass", "bypass_cookies", "lock", "lock_timeout", "use_stale", "background_update", "revalidate", "ignore_headers", "max_entry", "purge_from"] as const;
const ALIASES: Record<string, string> = {
  fastcgi_cache_valid: "valid",
  proxy_cache_valid: "valid",
  fastcgi_cache_key: "key",
  proxy_cache_key: "key",
  fastcgi_cache_bypass: "bypass",
  no_cache: "bypass",
  fastcgi_no_cache: "bypass",
  cache_lock: "lock",
  fastcgi_cache_lock: "lock",
  fastcgi_cache_use_stale: "use_stale",
  proxy_cache_use_stale: "use_stale",
  fastcgi_cache_background_update: "background_update",
  proxy_cache_background_update: "background_update",
  fastcgi_cache_revalidate: "revalidate",
  proxy_cache_revalidate: "revalidate",
  fastcgi_cache_purge: "purge_from",
  proxy_cache_purge: "purge_from",
  purge: "purge_from",
  fastcgi_ignore_headers: "ignore_headers",
  proxy_ignore_headers: "ignore_headers",
};
const EXPECTED = 'true, or a table such as { valid = "10m", bypass = ["$cookie_session"] }';

/** Sets each route's cache from its own `cache` key. */
export function applyCache(c: Checker, doc: Table, routes: RouteConfig[]): void {
  const raw = Array.isArray(doc.routes) ? (doc.routes as unknown[]) : [];
  routes.forEach((route, i) => {
    const own = isTable(raw[i]) ? raw[i].cache : undefined;
    if (own === undefined) return;
    const rule = checkCache(c, ["routes", i, "cache"], own, route);
    if (rule) route.cache = rule;
  });
}

/** `cache = true`: what the origin's head allows, under nginx's usual key, with the lock. */
export function defaultCacheRule(): CacheRule {
  return { key: DEFAULT_CACHE_KEY, valid: new Map(), bypass: [], lock: true, lockTimeoutMs: 5000, useStale: new Set(), backgroundUpdate: false, revalidate: false, ignore: new Set(), maxEntry: 1024 * 1024 };
}

function checkCache(c: Checker, at: At, raw: unknown, route: RouteConfig): CacheRule | undefined {
  if (raw === false) return undefined;
  if (route.upstream === undefined) {
    c.fail(at, "a route with an upstream", { problem: "only an origin's answers are cached", hint: "files are served from disk already; expires sets what browsers keep" });
  }
  const rule = defaultCacheRule();
  if (raw === true) return rule;
  const t = c.table(at, raw, EXPECTED);
  c.onlyKeys(at, t, KEYS, ALIASES);
  if (t.valid !== undefined) rule.valid = checkValid(c, [...at, "valid"], t.valid);
  if (t.key !== undefined) {
    rule.key = c.string([...at, "key"], t.key, `a text with variables, e.g. "${DEFAULT_CACHE_KEY}"`);
    if (rule.key === "") c.fail([...at, "key"], "a text that is not empty", { got: t.key });
    checkVariables(c, [...at, "key"], rule.key);
  }
  if (t.bypass !== undefined) {
    rule.bypass = stringList(c, [...at, "bypass"], t.bypass, 'a list of texts with variables, e.g. ["$cookie_nocache", "$arg_nocache"]', () => null);
    rule.bypass.forEach((b, i) => checkVariables(c, [...at, "bypass", i], b));
  }
  if (t.bypass_cookies !== undefined) {
    const names = stringList(c, [...at, "bypass_cookies"], t.bypass_cookies, 'a list of cookie names, "*" for any characters, e.g. ["wordpress_logged_in_*"]', (s) =>
      /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s) ? null : "a cookie name (a token), with * for any characters",
    );
    const globs = names.map((n) => n.replace(/[.+^$|\\]/g, "\\$&").replace(/\*/g, ".*"));
    rule.bypassCookies = new RegExp(`^(?:${globs.join("|")})$`);
  }
  if (t.lock !== undefined) rule.lock = flag(c, [...at, "lock"], t.lock);
  if (t.background_update !== undefined) rule.backgroundUpdate = flag(c, [...at, "background_update"], t.background_update);
  if (t.revalidate !== undefined) rule.revalidate = flag(c, [...at, "revalidate"], t.revalidate);
  if (t.lock_timeout !== undefined) rule.lockTimeoutMs = duration(c, [...at, "lock_timeout"], t.lock_timeout);
  if (t.use_stale !== undefined) {
    const cases = stringList(c, [...at, "use_stale"], t.use_stale, `a list of ${STALE_CASES.join(", ")}`, (s) =>
      (STALE_CASES as readonly string[]).includes(s) ? null : `one of ${STALE_CASES.join(", ")}`,
    );
    rule.useStale = new Set(cases);
  }
  if (t.ignore_headers !== undefined) {
    const names = stringList(c, [...at, "ignore_headers"], t.ignore_headers, 'a list of X-Accel-Expires, Cache-Control, Expires, Set-Cookie, Vary', (s) =>
      IGNORABLE.includes(s.toLowerCase()) ? null : "one of X-Accel-Expires, Cache-Control, Expires, Set-Cookie, Vary",
    );
    rule.ignore = new Set(names.map((n) => n.toLowerCase()));
  }
  if (t.purge_from !== undefined) rule.purgeFrom = checkCidrList(c, [...at, "purge_from"], t.purge_from, 'the addresses that may purge, as CIDR blocks or addresses, e.g. ["127.0.0.1", "::1"]');
  if (t.max_entry !== undefined) {
    const r = parseSize(t.max_entry);
    if (!r.ok || r.value === 0) c.fail([...at, "max_entry"], SIZE_EXPECTED, { got: t.max_entry, problem: r.ok ? "an entry must be allowed some bytes" : r.reason });
    rule.maxEntry = r.value;
  }
  return rule;
}

/** valid: one duration for 200, 301 and 302, or a table of status (or "any") → duration. */
function checkValid(c: Checker, at: At, v: unknown): Map<number | "any", number> {
  const out = new Map<number | "any", number>();
  if (typeof v === "string" || typeof v === "number") {
    const s = duration(c, at, v, Number.MAX_SAFE_INTEGER) / 1000;
    for (const status of DEFAULT_VALID_STATUSES) out.set(status, s);
    return out;
  }
  const t = c.table(at, v, 'a duration such as "10m", or a table such as { 200 = "10m", 404 = "1m", any = "1m" }');
  for (const [k, d] of Object.entries(t)) {
    if (k !== "any" && !/^[1-5]\d\d$/.test(k)) c.fail([...at, k], 'a status code (200…599) or "any"', { got: k });
    out.set(k === "any" ? "any" : Number(k), duration(c, [...at, k], d, Number.MAX_SAFE_INTEGER) / 1000);
  }
  return out;
}

function flag(c: Checker, at: At, v: unknown): boolean {
  if (typeof v !== "boolean") c.fail(at, "true or false", { got: v });
  return v as boolean;
}

/** `max`: a lifetime is no timer and may pass the 24 days a timeout may not. */
function duration(c: Checker, at: At, v: unknown, max?: number): number {
  const r = parseDuration(v, max);
  if (!r.ok) c.fail(at, DURATION_EXPECTED, { got: v, problem: r.reason });
  return r.value;
}
