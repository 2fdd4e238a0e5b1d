// The [serve] table: client-side limits of `edgepass serve`, where edgepass terminates HTTP
// itself. nginx names the same ideas client_header_timeout, client_body_timeout, send_timeout,
// keepalive_timeout and large_client_header_buffers; those names are accepted as hints.
import type { Checker } from "./checker.js";
import type { ServeSettings } from "./types.js";
import { DURATION_EXPECTED, parseDuration, parseSize, SIZE_EXPECTED } from "./units.js";

const SERVE_KEYS = ["header_timeout", "body_timeout", "send_timeout", "keepalive_timeout", "max_header", "drain_timeout"] as const;
const SERVE_ALIASES: Record<string, string> = {
  client_header_timeout: "header_timeout",
  client_body_timeout: "body_timeout",
  large_client_header_buffers: "max_header",
  client_header_buffer_size: "max_header",
  idle_timeout: "keepalive_timeout",
};

export const SERVE_DEFAULTS: ServeSettings = {
  headerTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  keepaliveTimeoutMs: 75_000,
  maxHeader: 32 * 1024,
  drainTimeoutMs: 10_000,
};

/** The Wasm request parser's head buffer is bounded; a bigger head is a config mistake. */
const MAX_HEADER_LIMIT = 1024 * 1024;

export function checkServe(c: Checker, raw: unknown): ServeSettings {
  const s = { ...SERVE_DEFAULTS };
  if (raw === undefined) return s;
  const at = ["serve"];
  const t = c.table(at, raw, "a table ([serve])");
  c.onlyKeys(at, t, SERVE_KEYS, SERVE_ALIASES);
  const ms = (key: string, fallback: number): number => {
    const v = t[key];
    if (v === undefined) return fallback;
    const r = parseDuration(v);
    if (!r.ok) c.fail([...at, key], DURATION_EXPECTED, { got: v, problem: r.reason });
    if (r.value <= 0) c.fail([...at, key], `${DURATION_EXPECTED}, more than 0`, { got: v });
    return r.value;
  };
  s.headerTimeoutMs = ms("header_timeout", s.headerTimeoutMs);
  s.bodyTimeoutMs = ms("body_timeout", s.bodyTimeoutMs);
  s.sendTimeoutMs = ms("send_timeout", s.sendTimeoutMs);
  s.keepaliveTimeoutMs = ms("keepalive_timeout", s.keepaliveTimeoutMs);
  s.drainTimeoutMs = ms("drain_timeout", s.drainTimeoutMs);
  if (t.max_header !== undefined) {
    const r = parseSize(t.max_header);
    if (!r.ok) c.fail([...at, "max_header"], SIZE_EXPECTED, { got: t.max_header, problem: r.reason });
    if (r.value < 256 || r.value > MAX_HEADER_LIMIT) c.fail([...at, "max_header"], `${SIZE_EXPECTED}, from 256 bytes to 1m`, { got: t.max_header });
    s.maxHeader = r.value;
  }
  return s;
}
