// The balancing keys of an upstream: each server's options ("b:9000 weight=2", "c:9000
// backup", "d:9000 max_fails=3 fail_timeout=30s"), balance, hash_key, max_fails and
// fail_timeout (nginx's passive health, applied to each server), health_check (active checks)
// and next_upstream_tries / next_upstream_timeout (how far a failed request moves on).
import type { Checker, Table } from "./checker.js";
import { isTable } from "./checker.js";
import type { BalanceConfig, BalanceMethod, HashKey, HealthCheckConfig, Protocol, ServerAddress, UpstreamServer } from "./types.js";
import { parseDuration, DURATION_EXPECTED } from "./units.js";
import { count, duration } from "./pool.js";

export const BALANCE_KEYS = ["balance", "hash_key", "max_fails", "fail_timeout", "health_check", "next_upstream_tries", "next_upstream_timeout"] as const;

export const BALANCE_ALIASES: Record<string, string> = {
  hash: "hash_key",
  least_conn: "balance",
  ip_hash: "hash_key",
  proxy_next_upstream_tries: "next_upstream_tries",
  fastcgi_next_upstream_tries: "next_upstream_tries",
  proxy_next_upstream_timeout: "next_upstream_timeout",
  fastcgi_next_upstream_timeout: "next_upstream_timeout",
  check: "health_check",
};

const METHODS: readonly BalanceMethod[] = ["round_robin", "least_conn", "hash", "random_two"];
const HEALTH_KEYS = ["interval", "fails", "passes", "path", "timeout"] as const;
const SERVER_OPTIONS = ["weight", "backup", "max_fails", "fail_timeout"];

export const BALANCE_DEFAULTS = { maxFails: 1, failTimeoutMs: 10_000, healthIntervalMs: 5_000, healthFails: 2, healthPasses: 2 } as const;

/** Splits "host:port opt opt=value…" into the address text and its options. */
export function splitServer(s: string): { address: string; options: string[] } {
  const [address, ...options] = s.trim().split(/\s+/);
  return { address, options };
}

/** The options of one servers entry, on top of its parsed address. `upstream` carries the
 *  upstream-wide max_fails / fail_timeout each server inherits. */
export function serverOptions(
  c: Checker,
  at: Array<string | number>,
  address: ServerAddress,
  options: string[],
  upstream: { maxFails: number; failTimeoutMs: number },
): UpstreamServer {
  const out: UpstreamServer = { ...address, weight: 1, backup: false, maxFails: upstream.maxFails, failTimeoutMs: upstream.failTimeoutMs };
  const expected = `options among weight=N, backup, max_fails=N, fail_timeout=DURATION after the address`;
  for (const opt of options) {
    const eq = opt.indexOf("=");
    const name = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? undefined : opt.slice(eq + 1);
    if (!SERVER_OPTIONS.includes(name)) c.fail(at, expected, { problem: `unknown server option ${JSON.stringify(opt)}` });
    if (name === "backup") {
      if (value !== undefined) c.fail(at, expected, { problem: "backup takes no value" });
      out.backup = true;
    } else if (name === "fail_timeout") {
      const r = parseDuration(value);
      if (!r.ok) c.fail(at, expected, { problem: `fail_timeout=${value ?? ""}: ${r.reason ?? DURATION_EXPECTED}` });
      out.failTimeoutMs = r.value;
    } else {
      const min = name === "weight" ? 1 : 0;
      if (value === undefined || !/^\d{1,4}$/.test(value) || Number(value) < min) {
        c.fail(at, expected, { problem: `${name}= needs an integer from ${min} to 9999, got ${JSON.stringify(opt)}` });
      }
      if (name === "weight") out.weight = Number(value);
      else out.maxFails = Number(value);
    }
  }
  return out;
}

/** max_fails and fail_timeout at the upstream level: the defaults of every server. */
export function upstreamFailPolicy(c: Checker, at: string[], u: Table): { maxFails: number; failTimeoutMs: number } {
  return {
    maxFails: count(c, [...at, "max_fails"], u.max_fails, BALANCE_DEFAULTS.maxFails, 0, 9999),
    failTimeoutMs: duration(c, [...at, "fail_timeout"], u.fail_timeout, BALANCE_DEFAULTS.failTimeoutMs),
  };
}

export function checkBalance(c: Checker, at: string[], u: Table, protocol: Protocol, servers: UpstreamServer[]): BalanceConfig {
  const out: BalanceConfig = { method: "round_robin", tries: 0, timeoutMs: 0 };
  if (u.balance !== undefined) {
    const expected = '"round_robin", "least_conn", "hash" or "random_two"';
    const m = c.string([...at, "balance"], u.balance, expected);
    if (!(METHODS as readonly string[]).includes(m)) {
      const hint = m === "ip_hash" ? 'write balance = "hash" with hash_key = "ip"' : m === "random" ? 'write "random_two"' : undefined;
      c.fail([...at, "balance"], expected, { got: m, hint });
    }
    out.method = m as BalanceMethod;
  }
  if (out.method === "hash") out.hashKey = hashKey(c, [...at, "hash_key"], u.hash_key ?? "ip");
  else if (u.hash_key !== undefined) c.fail([...at, "hash_key"], 'no hash_key unless balance = "hash"', { hint: 'add balance = "hash"' });
  if (servers.length > 0 && servers.every((s) => s.backup)) {
    c.fail([...at, "servers"], "at least one server that is not a backup", { problem: "every server is marked backup" });
  }
  if (u.health_check !== undefined) out.healthCheck = healthCheck(c, [...at, "health_check"], u.health_check, protocol);
  out.tries = count(c, [...at, "next_upstream_tries"], u.next_upstream_tries, 0, 0, 1000);
  if (u.next_upstream_timeout !== undefined && u.next_upstream_timeout !== 0) {
    out.timeoutMs = duration(c, [...at, "next_upstream_timeout"], u.next_upstream_timeout, 0);
  }
  return out;
}

function hashKey(c: Checker, at: string[], v: unknown): HashKey {
  const expected = '"ip", "uri", "header:NAME" or "cookie:NAME"';
  const s = c.string(at, v, expected);
  if (s === "ip" || s === "uri") return { kind: s };
  const m = /^(header|cookie):([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/.exec(s);
  if (!m) c.fail(at, expected, { got: s, hint: s.startsWith("$") ? "name the key without nginx variables, e.g. \"cookie:session\"" : undefined });
  return m[1] === "header" ? { kind: "header", name: m[2].toLowerCase() } : { kind: "cookie", name: m[2] };
}

function healthCheck(c: Checker, at: string[], v: unknown, protocol: Protocol): HealthCheckConfig {
  if (!isTable(v)) c.fail(at, 'a table such as { interval = "5s", fails = 2, passes = 2, path = "/ping" }', { got: v });
  c.onlyKeys(at, v, HEALTH_KEYS);
  if (protocol !== "fastcgi" && protocol !== "http") {
    c.fail(at, 'no health_check for protocol "' + protocol + '"', { problem: "active checks speak FastCGI or HTTP only", hint: "passive health (max_fails, fail_timeout) still applies" });
  }
  const intervalMs = duration(c, [...at, "interval"], v.interval, BALANCE_DEFAULTS.healthIntervalMs);
  const out: HealthCheckConfig = {
    intervalMs,
    fails: count(c, [...at, "fails"], v.fails, BALANCE_DEFAULTS.healthFails, 1, 100),
    passes: count(c, [...at, "passes"], v.passes, BALANCE_DEFAULTS.healthPasses, 1, 100),
    timeoutMs: duration(c, [...at, "timeout"], v.timeout, intervalMs),
  };
  if (v.path !== undefined) {
    const expected = 'an absolute path such as "/ping"';
    const p = c.string([...at, "path"], v.path, expected);
    if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@%\/-]*$/.test(p)) c.fail([...at, "path"], expected, { got: p });
    out.path = p;
  }
  return out;
}
