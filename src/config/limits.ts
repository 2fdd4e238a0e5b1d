// A route's limit_req and limit_conn tables (nginx's limit_req / limit_conn with their zones
// folded in): the key, the rate or the cap, what a refusal answers, and an optional zone whose
// counts several routes share. Routes sharing a zone must count the same thing the same way.
import type { LimitConnConfig, LimitKey, LimitReqConfig, RouteConfig } from "./types.js";
import type { Checker } from "./checker.js";

type At = Array<string | number>;

const KEY_EXPECTED = 'the key to count by: "ip" (the client address), "header:NAME" (a request header) or "route"';
const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ZONE_RE = /^[A-Za-z0-9_-]{1,64}$/;
const STATUSES = [429, 503];
const COMMON_KEYS = ["key", "status", "dry_run", "zone"] as const;
const REQ_KEYS = [...COMMON_KEYS, "rate", "burst", "nodelay"] as const;
const CONN_KEYS = [...COMMON_KEYS, "max"] as const;
const ALIASES: Record<string, string> = { limit_req_status: "status", limit_conn_status: "status", limit_req_dry_run: "dry_run", limit_conn_dry_run: "dry_run", conn: "max", connections: "max", delay: "nodelay" };

function checkKey(c: Checker, at: At, v: unknown): { key: LimitKey; keyText: string } {
  if (v === undefined) c.fail(at, KEY_EXPECTED, { problem: "missing required key" });
  const s = c.string(at, v, KEY_EXPECTED);
  if (s === "ip" || s === "route") return { key: { kind: s }, keyText: s };
  const m = /^header:(.+)$/i.exec(s);
  if (m && HEADER_NAME_RE.test(m[1])) return { key: { kind: "header", name: m[1].toLowerCase() }, keyText: `header:${m[1]}` };
  c.fail(at, KEY_EXPECTED, {
    got: v,
    hint: s === "$binary_remote_addr" || s === "$remote_addr" ? 'write "ip"' : s.startsWith("$http_") ? `write "header:${s.slice(6).replace(/_/g, "-")}"` : undefined,
  });
}

function checkCommon(c: Checker, at: At, t: Record<string, unknown>) {
  const common = checkKey(c, [...at, "key"], t.key);
  let status = 429;
  if (t.status !== undefined) {
    if (typeof t.status !== "number" || !STATUSES.includes(t.status)) c.fail([...at, "status"], "429 or 503", { got: t.status });
    status = t.status;
  }
  const dryRun = flag(c, [...at, "dry_run"], t.dry_run);
  let zone: string | undefined;
  if (t.zone !== undefined) {
    zone = c.string([...at, "zone"], t.zone, "a zone name: 1-64 of A-Z, a-z, 0-9, _ and -");
    if (!ZONE_RE.test(zone)) c.fail([...at, "zone"], "a zone name: 1-64 of A-Z, a-z, 0-9, _ and -", { got: zone });
  }
  return { ...common, status, dryRun, ...(zone === undefined ? {} : { zone }) };
}

function flag(c: Checker, at: At, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") c.fail(at, "true or false", { got: v });
  return v;
}

function count(c: Checker, at: At, v: unknown, expected: string, min: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > 1_000_000) c.fail(at, expected, { got: v });
  return v;
}

/** "10r/s", "30r/m": nginx stores requests per second × 1000, rounding down. */
export function parseRate(s: string): number | null {
  const m = /^([1-9][0-9]{0,6})r\/([sm])$/.exec(s.trim());
  if (!m) return null;
  return m[2] === "s" ? Number(m[1]) * 1000 : Math.max(1, Math.floor((Number(m[1]) * 1000) / 60));
}

export function checkLimitReq(c: Checker, at: At, raw: unknown): LimitReqConfig {
  const t = c.table(at, raw, 'a table: limit_req = { key = "ip", rate = "10r/s", burst = 20 }');
  c.onlyKeys(at, t, REQ_KEYS, ALIASES);
  const rateExpected = 'a rate such as "10r/s" or "30r/m" (requests per second or per minute)';
  if (t.rate === undefined) c.fail([...at, "rate"], rateExpected, { problem: "missing required key" });
  const rateText = c.string([...at, "rate"], t.rate, rateExpected);
  const rate = parseRate(rateText);
  if (rate === null) c.fail([...at, "rate"], rateExpected, { got: t.rate });
  const burst = t.burst === undefined ? 0 : count(c, [...at, "burst"], t.burst, "a whole number of requests from 0 to 1000000", 0);
  return { ...checkCommon(c, at, t), rate, rateText: rateText.trim(), burst, nodelay: flag(c, [...at, "nodelay"], t.nodelay) };
}

export function checkLimitConn(c: Checker, at: At, raw: unknown): LimitConnConfig {
  const t = c.table(at, raw, 'a table: limit_conn = { key = "ip", max = 10 }');
  c.onlyKeys(at, t, CONN_KEYS, ALIASES);
  if (t.max === undefined) c.fail([...at, "max"], "the most requests one key may have in flight, 1 or more", { problem: "missing required key" });
  const max = count(c, [...at, "max"], t.max, "a whole number of requests from 1 to 1000000", 1);
  return { ...checkCommon(c, at, t), max };
}

/** A zone is one set of counts: every route naming it must count by the same key (and, for
 *  limit_req, drain at the same rate), as nginx's zone fixes both. */
export function checkZones(c: Checker, routes: RouteConfig[]): void {
  const seen = new Map<string, { i: number; sig: string }>();
  routes.forEach((r, i) => {
    for (const [name, l] of [["limit_req", r.limitReq], ["limit_conn", r.limitConn]] as const) {
      if (!l?.zone) continue;
      const sig = l.keyText + ("rate" in l ? ` ${l.rate}` : "");
      const k = `${name}\0${l.zone}`;
      const first = seen.get(k);
      if (first && first.sig !== sig) {
        c.fail(["routes", i, name, "zone"], `the same key${name === "limit_req" ? " and rate" : ""} as routes[${first.i}], which shares the zone ${JSON.stringify(l.zone)}`, {
          problem: "one zone holds one set of counts, so its routes must count alike",
          hint: "use another zone name, or make the key and rate the same",
        });
      }
      if (!first) seen.set(k, { i, sig });
    }
  });
}
