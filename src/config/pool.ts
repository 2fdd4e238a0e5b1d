// The connection-pool keys of an upstream: pool, shards, max_connections, idle_timeout, queue,
// queue_timeout. FastCGI upstreams and HTTP upstreams over sockets (HTTP/1.1 keep-alive) are
// pooled by default, unless pool = "direct"; with via = "fetch" the
// platform holds the connections. SCGI and uwsgi close the connection after every response by
// protocol, so those are always direct. Where there is no pool, pool = "pooled" or a pool key
// is refused instead of ignored.
import type { Checker, Table } from "./checker.js";
import type { ConfigHost, PoolConfig, Protocol } from "./types.js";
import { DURATION_EXPECTED, parseDuration } from "./units.js";

export const POOL_KEYS = ["pool", "shards", "max_connections", "idle_timeout", "queue", "queue_timeout"] as const;

/** nginx (and nginx Plus) words for the same ideas. */
export const POOL_ALIASES: Record<string, string> = {
  keepalive: "max_connections",
  max_conns: "max_connections",
  keepalive_timeout: "idle_timeout",
  fastcgi_keep_conn: "pool",
};

export const POOL_DEFAULTS = {
  maxConnections: 8,
  idleTimeoutMs: 4_000,
  // A burst waits for a connection rather than failing: a cold pool object (Durable Objects
  // are evicted when idle) meeting a burst is the normal case. queue_timeout bounds the wait;
  // the count only bounds the memory one pool object spends on waiting requests.
  queue: 5_000,
  queueTimeoutMs: 30_000,
} as const;

/** Cloudflare allows a Worker invocation, and a Durable Object, 6 simultaneous outgoing
 *  connections; more wait for one to close, which a kept connection never does. So one pool
 *  object holds at most this many, and `shards` defaults to as many objects as that takes. */
export const CONNECTIONS_PER_OBJECT = 6;

const MAX = { shards: 64, maxConnections: 1024, queue: 1_000_000 } as const;

const WHY_DIRECT: Record<"scgi" | "uwsgi" | "fetch", string> = {
  scgi: "an SCGI server closes the connection after every response, so there is nothing to keep",
  uwsgi: "a uwsgi server closes the connection after every response, so there is nothing to keep",
  fetch: "with via = \"fetch\" the platform's fetch() holds the connections, not edgepass",
};

/** Can this upstream be pooled at all? */
const poolable = (protocol: Protocol, via: "socket" | "fetch"): boolean => protocol === "fastcgi" || (protocol === "http" && via === "socket");

export function checkPool(c: Checker, at: string[], u: Table, protocol: Protocol, via: "socket" | "fetch" = "socket", servers = 1, host: ConfigHost = "edge"): PoolConfig {
  const expectedMode = '"pooled" or "direct"';
  // Pooled wherever a pool can exist (the issue: pooled is the default); direct elsewhere.
  let mode: "pooled" | "direct" = poolable(protocol, via) ? "pooled" : "direct";
  if (u.pool !== undefined) {
    const m = c.string([...at, "pool"], u.pool, expectedMode);
    if (m !== "pooled" && m !== "direct") {
      c.fail([...at, "pool"], expectedMode, {
        got: m,
        hint: m === "keepalive" || m === "pool" || m === "pooling" ? 'write "pooled"' : m === "none" || m === "off" ? 'write "direct"' : undefined,
      });
    }
    if (m === "pooled" && !poolable(protocol, via)) {
      const fetch = protocol === "http";
      c.fail([...at, "pool"], fetch ? 'pool = "direct" with via = "fetch"' : `pool = "direct" for protocol "${protocol}"`, {
        problem: WHY_DIRECT[fetch ? "fetch" : (protocol as "scgi" | "uwsgi")],
        hint: fetch ? 'remove the key, or use via = "socket" with servers' : "remove the key; only FastCGI and HTTP (socket) upstreams are pooled",
      });
    }
    mode = m;
  }
  if (mode === "direct") {
    for (const key of POOL_KEYS) {
      if (key === "pool" || u[key] === undefined) continue;
      c.fail([...at, key], `no ${key} on a direct upstream`, {
        problem: `${key} tunes the connection pool, and this upstream opens one connection per request`,
        hint: poolable(protocol, via) ? 'remove it, or set pool = "pooled"' : "remove it",
      });
    }
  }
  const maxConnections = count(c, [...at, "max_connections"], u.max_connections, POOL_DEFAULTS.maxConnections, 1, MAX.maxConnections);
  const pool: PoolConfig = {
    mode,
    shards: u.shards === undefined ? autoShards(maxConnections, servers) : count(c, [...at, "shards"], u.shards, 1, 1, MAX.shards),
    maxConnections,
    idleTimeoutMs: duration(c, [...at, "idle_timeout"], u.idle_timeout, POOL_DEFAULTS.idleTimeoutMs),
    queue: count(c, [...at, "queue"], u.queue, POOL_DEFAULTS.queue, 0, MAX.queue),
    queueTimeoutMs: duration(c, [...at, "queue_timeout"], u.queue_timeout, POOL_DEFAULTS.queueTimeoutMs),
  };
  if (host === "server") {
    // One process holds every connection itself: shards split a limit among Durable Objects,
    // and the 6-connection cap is Cloudflare's; neither applies here.
    pool.shards = 1;
    return pool;
  }
  if (pool.shards > pool.maxConnections) {
    // Each shard holds at least one connection; more shards than connections would exceed
    // the connection limit the operator set (usually php-fpm's pm.max_children).
    c.fail([...at, "shards"], `at most max_connections (${pool.maxConnections}) shards`, {
      got: pool.shards,
      problem: "every shard keeps its own connections, at least one each",
      hint: "lower shards or raise max_connections",
    });
  }
  const perObject = servers * Math.max(1, Math.floor(pool.maxConnections / pool.shards));
  if (mode === "pooled" && perObject > CONNECTIONS_PER_OBJECT) {
    const fits = autoShards(pool.maxConnections, servers);
    c.fail([...at, u.shards === undefined ? "servers" : "shards"], `at most ${CONNECTIONS_PER_OBJECT} connections per pool object`, {
      got: u.shards ?? pool.shards,
      problem: `each pool object would hold ${perObject} connections (${servers} server(s) × max_connections ${pool.maxConnections} / shards ${pool.shards}), and Cloudflare lets one object have only ${CONNECTIONS_PER_OBJECT} open at once; the rest would wait for a kept connection to close`,
      hint: servers * Math.max(1, Math.floor(pool.maxConnections / fits)) <= CONNECTIONS_PER_OBJECT ? `remove shards (it then defaults to ${fits}) or set shards = ${fits}` : "split the servers over several upstreams",
    });
  }
  return pool;
}

/** The fewest pool objects that keep each within CONNECTIONS_PER_OBJECT (at most one per
 *  connection: every object holds at least one per server). */
export function autoShards(maxConnections: number, servers: number): number {
  for (let s = 1; s <= maxConnections; s++) {
    if (servers * Math.max(1, Math.floor(maxConnections / s)) <= CONNECTIONS_PER_OBJECT) return s;
  }
  return maxConnections;
}

export function count(c: Checker, at: string[], v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    c.fail(at, `an integer from ${min} to ${max}`, {
      got: v,
      hint: typeof v === "string" && /^\d+$/.test(v.trim()) ? `write it without quotes: ${v.trim()}` : undefined,
    });
  }
  return v;
}

export function duration(c: Checker, at: string[], v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  const r = parseDuration(v);
  if (!r.ok) c.fail(at, DURATION_EXPECTED, { got: v, problem: r.reason });
  return r.value;
}
