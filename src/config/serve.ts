// The [serve] table: client-side limits of `edgepass serve`, where edgepass terminates HTTP
// itself. nginx names the same ideas client_header_timeout, client_body_timeout, send_timeout,
// keepalive_timeout and large_client_header_buffers; those names are accepted as hints.
import type { Checker } from "./checker.js";
import type { ServeSettings } from "./types.js";
import { parseCidr, type Cidr } from "../edge/cidr.js";
import { stringList } from "./assets.js";
import { checkCompress, COMPRESS_ALIASES, COMPRESS_DEFAULTS, COMPRESS_KEYS } from "./serve-extras.js";
import { besideConfig, checkTlsSettings, TLS_ALIASES, TLS_KEYS } from "./serve-tls.js";
import { DURATION_EXPECTED, parseDuration, parseSize, SIZE_EXPECTED } from "./units.js";

const SERVE_KEYS = ["header_timeout", "body_timeout", "send_timeout", "keepalive_timeout", "max_header", "drain_timeout", "tls", ...TLS_KEYS, "http2", "h2c", "http2_window", "real_ip_from", "body_temp", "response_temp", "access_log", "proxy_protocol", ...COMPRESS_KEYS] as const;
const SERVE_ALIASES: Record<string, string> = {
  client_header_timeout: "header_timeout",
  client_body_timeout: "body_timeout",
  large_client_header_buffers: "max_header",
  client_header_buffer_size: "max_header",
  idle_timeout: "keepalive_timeout",
  set_real_ip_from: "real_ip_from",
  client_body_temp_path: "body_temp",
  proxy_temp_path: "response_temp",
  fastcgi_temp_path: "response_temp",
  scgi_temp_path: "response_temp",
  uwsgi_temp_path: "response_temp",
  http2_body_preread_size: "http2_window",
  trusted_proxies: "real_ip_from",
  ...TLS_ALIASES,
  ...COMPRESS_ALIASES,
};

export const SERVE_DEFAULTS: ServeSettings = {
  headerTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  keepaliveTimeoutMs: 75_000,
  maxHeader: 32 * 1024,
  drainTimeoutMs: 10_000,
  realIpFrom: [],
  http2: true,
  h2c: false,
  http2Window: 65_535,
  ...COMPRESS_DEFAULTS,
};

/** The Wasm request parser's head buffer is bounded; a bigger head is a config mistake. */
const MAX_HEADER_LIMIT = 1024 * 1024;

/** `baseDir`, the config file's folder, resolves relative tls file and *_temp paths (left
 *  relative, to the working directory, without one). */
export function checkServe(c: Checker, raw: unknown, baseDir?: string): ServeSettings {
  const s: ServeSettings = { ...SERVE_DEFAULTS, compress: [...SERVE_DEFAULTS.compress], compressTypes: [...SERVE_DEFAULTS.compressTypes] };
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
  if (t.real_ip_from !== undefined) s.realIpFrom = checkRealIpFrom(c, [...at, "real_ip_from"], t.real_ip_from);
  checkCompress(c, at, t, s);
  checkTlsSettings(c, at, t, s, baseDir);
  const dir = (key: "body_temp" | "response_temp"): string | undefined => {
    if (t[key] === undefined) return undefined;
    const v = c.string([...at, key], t[key], "a directory path");
    if (v.trim() === "") c.fail([...at, key], "a directory path", { got: v });
    return besideConfig(v, baseDir);
  };
  s.bodyTemp = dir("body_temp");
  s.responseTemp = dir("response_temp");
  if (t.proxy_protocol !== undefined) {
    if (typeof t.proxy_protocol !== "boolean") c.fail([...at, "proxy_protocol"], "true or false", { got: t.proxy_protocol });
    if (t.proxy_protocol && s.realIpFrom.length === 0) {
      c.fail([...at, "proxy_protocol"], "real_ip_from beside it: the balancers whose PROXY header names the client", { got: t.proxy_protocol, hint: 'real_ip_from = ["10.0.0.5"]: a header from any other peer is read and not believed' });
    }
    s.proxyProtocol = t.proxy_protocol;
  }
  if (t.access_log !== undefined) {
    const v = c.string([...at, "access_log"], t.access_log, "a file path");
    if (v.trim() === "" || v.endsWith("/")) c.fail([...at, "access_log"], "a file path", { got: v, hint: "the request log goes to stdout without it; [gateway] log sets its format" });
    s.accessLog = besideConfig(v, baseDir);
  }
  if (t.http2 !== undefined) {
    if (typeof t.http2 !== "boolean") c.fail([...at, "http2"], "true or false", { got: t.http2 });
    s.http2 = t.http2;
  }
  if (t.http2_window !== undefined) {
    const r = parseSize(t.http2_window);
    const expected = `${SIZE_EXPECTED}, from 64k to 16m`;
    if (!r.ok) c.fail([...at, "http2_window"], expected, { got: t.http2_window, problem: r.reason });
    if (r.value < 65_535 || r.value > 16 * 1024 * 1024) c.fail([...at, "http2_window"], expected, { got: t.http2_window });
    s.http2Window = r.value;
  }
  if (t.h2c !== undefined) {
    if (typeof t.h2c !== "boolean") c.fail([...at, "h2c"], "true or false", { got: t.h2c });
    if (t.h2c && s.tls) c.fail([...at, "h2c"], "false with tls (h2c is HTTP/2 on a plain listener; with tls, http2 offers it by ALPN)", { got: t.h2c });
    s.h2c = t.h2c;
  }
  return s;
}

/** The proxies whose X-Forwarded-For names the client: CIDR blocks or single addresses. */
function checkRealIpFrom(c: Checker, at: string[], raw: unknown): Cidr[] {
  return checkCidrList(c, at, raw, 'an array of proxy addresses or CIDR blocks, e.g. ["10.0.0.0/8", "::1"]');
}

/** A list of CIDR blocks or single addresses. */
export function checkCidrList(c: Checker, at: Array<string | number>, raw: unknown, expected: string): Cidr[] {
  return stringList(c, at, raw, expected, () => null).map((s, i) => {
    const r = parseCidr(s.trim());
    if ("problem" in r) c.fail([...at, i], "an IPv4 or IPv6 address or CIDR block", { got: s, problem: r.problem, hint: r.hint });
    return r;
  });
}
