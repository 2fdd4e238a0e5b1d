// The connections of one upstream (one shard of it) to its FastCGI servers. A request leases
// a place on a connection: an idle kept connection first (the most recently used, so surplus
// ones reach idle_timeout and close), else a new connection while the server's limit allows,
// else, on a multiplexing server, the least loaded connection with room; otherwise it waits
// in a bounded queue. Limits come from FCGI_GET_VALUES and the config (limits.ts); until the
// first answer (or a short timeout) a server gets one connection and one request.
import type { Codec } from "../codec/types.js";
import type { UpstreamConfig } from "../config/types.js";
import { Codes, GatewayError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Dial } from "../core/transport.js";
import { FcgiConnection, type ConnectionHooks } from "./connection.js";
import { Lease } from "./lease.js";
import { limitsFor, parseValues, type Limits, type Reported } from "./limits.js";
import { WaitQueue } from "./queue.js";
import { newServer, serverStats, type Server } from "./server.js";
import type { PoolStats, ServerStats } from "./stats.js";

export { Lease } from "./lease.js";

/** How long the first request's neighbours wait for FCGI_GET_VALUES before the config applies. */
export const DISCOVERY_TIMEOUT_MS = 500;
/** A server whose connect failed is skipped this long while another server is available. */
export const DOWN_MS = 2000;
/** Until the server answers: one connection, one request. */
const DISCOVERING: Limits = { maxConns: 1, maxReqs: 1, perConn: 1, mpxs: false, source: "config", reported: null };

export interface PoolDeps {
  upstream: UpstreamConfig;
  codec: Codec;
  dial: Dial;
  /** Pool-level events (discovery, connections closing); not tied to a request. */
  log: Logger;
}

export interface AcquireOptions {
  /** The client went away: leave the queue. */
  signal?: AbortSignal;
  /** Only a newly opened connection will do (the retry after a stale one failed). */
  fresh?: boolean;
}

export class FcgiPool {
  private readonly servers: Server<FcgiConnection>[];
  private readonly queue = new WaitQueue<Lease>();
  private readonly idleTimers = new Map<FcgiConnection, ReturnType<typeof setTimeout>>();
  private readonly serverOf = new Map<FcgiConnection, Server<FcgiConnection>>();
  private cursor = 0;
  private pumping = false;
  private pumpAgain = false;
  private retried = 0;
  private rejectedFull = 0;
  private rejectedTimeout = 0;
  private disposed = false;

  constructor(private readonly deps: PoolDeps) {
    this.servers = deps.upstream.servers.map((a) => newServer<FcgiConnection>(a));
  }

  get upstream(): UpstreamConfig {
    return this.deps.upstream;
  }

  /** A place on a connection, now or after a wait. Rejects with POOL_SATURATED (503) when the
   *  queue is full or the wait passes queue_timeout, or with the connect error when a new
   *  connection was needed and could not be opened. */
  acquire(o: AcquireOptions = {}): Promise<Lease> {
    if (this.disposed) return Promise.reject(new GatewayError(Codes.UPSTREAM_POOL_FAILED, 502, "The connection pool was shut down."));
    const cfg = this.deps.upstream.pool;
    // First come, first served: take a place directly only when nobody is waiting for one.
    if (this.queue.length === 0 || o.fresh) {
      const now = this.tryLease(!!o.fresh);
      if (now) return Promise.resolve(now);
    }
    if (!o.fresh && this.queue.length >= cfg.queue) {
      this.rejectedFull++;
      return Promise.reject(this.saturated(`${this.queue.length} requests are already waiting for one (queue = ${cfg.queue})`));
    }
    return this.queue.wait({
      timeoutMs: cfg.queueTimeoutMs,
      signal: o.signal,
      front: !!o.fresh,
      fresh: !!o.fresh,
      onTimeout: () => {
        this.rejectedTimeout++;
        return this.saturated(`none became free within ${cfg.queueTimeoutMs / 1000} s (queue_timeout)`);
      },
    });
  }

  noteRetry(): void {
    this.retried++;
  }

  /** A connection has room again (a request ended or a lease was given back). */
  room(conn: FcgiConnection): void {
    const s = this.serverOf.get(conn);
    if (!s || conn.closed) return this.pump();
    if (conn.load === 0) {
      const limits = s.limits ?? DISCOVERING;
      if (s.singleUse || conn.draining || s.conns.length > limits.maxConns) {
        conn.close(s.singleUse ? "closed after one request (the server does not keep connections)" : "retired");
        return;
      }
      this.armIdle(conn);
    }
    this.pump();
  }

  stats(): PoolStats {
    const now = Date.now();
    const servers = this.servers.map((s) => serverStats(s, now));
    const sum = (f: (s: ServerStats) => number) => servers.reduce((n, s) => n + f(s), 0);
    return {
      upstream: this.deps.upstream.name,
      shards: this.deps.upstream.pool.shards,
      open: sum((s) => s.open),
      busy: sum((s) => s.busy),
      idle: sum((s) => s.idle),
      queued: this.queue.length,
      queueLimit: this.deps.upstream.pool.queue,
      oldestWaitMs: this.queue.oldestWaitMs(now),
      served: sum((s) => s.served),
      retried: this.retried,
      rejected: { queueFull: this.rejectedFull, queueTimeout: this.rejectedTimeout },
      servers,
    };
  }

  /** Closes every connection and fails every waiter. */
  dispose(): void {
    this.disposed = true;
    this.queue.rejectAll(new GatewayError(Codes.UPSTREAM_POOL_FAILED, 502, "The connection pool was shut down."));
    for (const s of this.servers) for (const c of [...s.conns]) c.close("closed: the pool shut down");
  }

  private saturated(why: string): GatewayError {
    const u = this.deps.upstream;
    const busy = this.servers.reduce((n, s) => n + s.conns.length, 0);
    return new GatewayError(
      Codes.POOL_SATURATED,
      503,
      `The upstream "${u.name}" is saturated: all ${busy} of its connections are busy and ${why}. Try again in a moment.`,
    );
  }

  /** Serves waiters in order while places are free. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (;;) {
          const w = this.queue.peek();
          if (!w) break;
          const lease = this.tryLease(w.fresh);
          if (!lease) break;
          this.queue.shift();
          w.resolve(lease);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private tryLease(fresh: boolean): Lease | Promise<Lease> | null {
    const n = this.servers.length;
    const now = Date.now();
    const anyUp = this.servers.some((s) => s.downUntil <= now);
    for (let k = 0; k < n; k++) {
      const i = (this.cursor + k) % n;
      const s = this.servers[i];
      if (anyUp && s.downUntil > now) continue;
      const lease = this.leaseOn(s, fresh);
      if (lease) {
        this.cursor = (i + 1) % n;
        return lease;
      }
    }
    return null;
  }

  private leaseOn(s: Server<FcgiConnection>, fresh: boolean): Lease | Promise<Lease> | null {
    const limits = s.limits ?? DISCOVERING;
    const load = s.conns.reduce((n, c) => n + c.load, 0) + s.opening;
    if (load >= limits.maxReqs) return null;
    let idle: FcgiConnection | null = null;
    for (const c of s.conns) {
      if (c.load === 0 && !c.draining && !c.closed && (!idle || c.idleSince > idle.idleSince)) idle = c;
    }
    if (idle && !fresh) return this.lease(idle, idle.served > 0);
    if (s.conns.length + s.opening < limits.maxConns) return this.open(s);
    if (fresh) {
      // The retry needs a new connection and the server has no room for one more: give up
      // an idle kept connection for it (it may be stale too).
      if (!idle) return null;
      // Hold the place first: closing lets the pool serve waiters, who must not take it.
      s.opening++;
      idle.close("closed to make room for a retry");
      return this.open(s, true);
    }
    if (!limits.mpxs) return null;
    let best: FcgiConnection | null = null;
    for (const c of s.conns) {
      if (!c.draining && !c.closed && c.load < limits.perConn && (!best || c.load < best.load)) best = c;
    }
    return best ? this.lease(best, false) : null;
  }

  private lease(conn: FcgiConnection, reused: boolean): Lease {
    this.disarmIdle(conn);
    conn.reserved++;
    return new Lease(this, conn, reused);
  }

  /** `held`: the caller already counted this connection in `s.opening`. */
  private async open(s: Server<FcgiConnection>, held = false): Promise<Lease> {
    if (!held) s.opening++;
    let conn: FcgiConnection;
    try {
      const duplex = await this.deps.dial(s.address, { connectTimeoutMs: this.deps.upstream.connectTimeoutMs });
      conn = new FcgiConnection(duplex, s.origin, this.deps.codec, this.deps.upstream.sendTimeoutMs, this.hooks(s));
    } catch (e) {
      s.opening--;
      s.connectFailures++;
      s.downUntil = Date.now() + DOWN_MS;
      const err = e instanceof GatewayError ? e : new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, `Could not connect to the origin ${s.origin}.`, String(e));
      this.deps.log.log("warn", "upstream_connect_failed", { upstream: this.deps.upstream.name, origin: s.origin, code: err.code, detail: err.detail ?? err.message });
      queueMicrotask(() => this.pump());
      throw err;
    }
    s.opening--;
    s.opened++;
    s.downUntil = 0;
    s.conns.push(conn);
    this.serverOf.set(conn, s);
    if (s.limits?.mpxs) conn.mpx = true;
    if (s.discovery === "none") this.discover(s, conn);
    conn.reserved++;
    return new Lease(this, conn, false);
  }

  /** FCGI_GET_VALUES goes out first on the server's first connection; the request that opened
   *  it follows at once, so discovery costs no round trip. */
  private discover(s: Server<FcgiConnection>, conn: FcgiConnection): void {
    s.discovery = "pending";
    conn.requestValues().catch(() => {});
    s.discoveryTimer = setTimeout(() => this.settle(s, null), DISCOVERY_TIMEOUT_MS);
  }

  private settle(s: Server<FcgiConnection>, reported: Reported | null): void {
    clearTimeout(s.discoveryTimer);
    // A late answer (libfcgi answers when the next request arrives) still counts.
    if (s.discovery === "done" && reported === null) return;
    s.discovery = "done";
    if (reported) s.reported = reported;
    const limits = limitsFor(s.reported, this.deps.upstream.pool);
    s.limits = limits;
    for (const c of s.conns) c.mpx = limits.mpxs;
    this.deps.log.log("info", "pool_limits", {
      upstream: this.deps.upstream.name,
      origin: s.origin,
      max_conns: limits.maxConns,
      max_reqs: limits.maxReqs,
      mpxs: limits.mpxs ? 1 : 0,
      source: limits.source,
      reported: s.reported ? JSON.stringify(s.reported) : "none",
    });
    // A server that allows fewer connections than are open: idle extras go now, busy ones
    // when their requests end (room() closes them).
    let extra = s.conns.length - limits.maxConns;
    for (const c of [...s.conns]) {
      if (extra <= 0) break;
      if (c.load === 0) {
        c.close("closed: the server allows fewer connections");
        extra--;
      }
    }
    this.pump();
  }

  private hooks(s: Server<FcgiConnection>): ConnectionHooks {
    return {
      room: (conn) => this.room(conn),
      closed: (conn, byServer, err) => this.closed(s, conn, byServer, err),
      values: (_conn, pairs) => this.settle(s, pairs ? parseValues(pairs) : null),
      warn: (event, fields) => this.deps.log.log("warn", event, { upstream: this.deps.upstream.name, ...fields }),
    };
  }

  private closed(s: Server<FcgiConnection>, conn: FcgiConnection, byServer: boolean, err: GatewayError): void {
    const i = s.conns.indexOf(conn);
    if (i >= 0) s.conns.splice(i, 1);
    this.serverOf.delete(conn);
    this.disarmIdle(conn);
    s.servedOnClosed += conn.served;
    if (byServer) s.closedByServer++;
    else s.closedByGateway++;
    if (conn.served >= 2) s.keepsAlive = true;
    // Connections the server closes right after their first request, again and again: it does
    // not honour FCGI_KEEP_CONN (uWSGI closes after every request). Stop reusing them, so
    // requests are not sent to connections about to close.
    if (byServer && conn.served === 1 && err.code === Codes.UPSTREAM_CLOSED_EARLY && !s.keepsAlive && !s.singleUse && ++s.oneShot >= 2) {
      s.singleUse = true;
      this.deps.log.log("info", "pool_single_use", { upstream: this.deps.upstream.name, origin: s.origin, why: "the server closes each connection after one request" });
    }
    if (s.discovery === "pending" && s.conns.length === 0) this.settle(s, null);
    if (byServer && err.code !== Codes.UPSTREAM_CLOSED_EARLY) {
      this.deps.log.log("warn", "pool_connection_failed", { upstream: this.deps.upstream.name, origin: s.origin, conn: conn.id, code: err.code, detail: err.detail ?? err.message });
    }
    this.pump();
  }

  private armIdle(conn: FcgiConnection): void {
    this.disarmIdle(conn);
    this.idleTimers.set(
      conn,
      setTimeout(() => {
        this.idleTimers.delete(conn);
        if (conn.load === 0 && !conn.closed) conn.close(`closed after ${this.deps.upstream.pool.idleTimeoutMs / 1000} s idle (idle_timeout)`);
      }, this.deps.upstream.pool.idleTimeoutMs),
    );
  }

  private disarmIdle(conn: FcgiConnection): void {
    const t = this.idleTimers.get(conn);
    if (t !== undefined) {
      clearTimeout(t);
      this.idleTimers.delete(conn);
    }
  }
}
