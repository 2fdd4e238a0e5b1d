// The connections of one upstream (one shard of it) to its FastCGI servers. A request leases
// a place on a connection: an idle kept connection first (the most recently used, so surplus
// ones reach idle_timeout and close), else a new connection while the server's limit allows,
// else, on a multiplexing server, the least loaded connection with room; otherwise it waits
// in a bounded queue. Limits come from FCGI_GET_VALUES and the config (limits.ts); until the
// first answer (or a short timeout) the configured limits apply, one request per connection.
import type { Codec } from "../codec/types.js";
import type { UpstreamConfig } from "../config/types.js";
import { Codes, GatewayError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import type { Dial } from "../core/transport.js";
import { FcgiConnection, type ConnectionHooks } from "./connection.js";
import { Lease } from "./lease.js";
import { limitsFor, parseValues, type Limits, type Reported } from "./limits.js";
import { BasePool } from "./base-pool.js";
import type { Server } from "./server.js";

export { Lease } from "./lease.js";
export { DOWN_MS } from "./base-pool.js";

/** How long the first request's neighbours wait for FCGI_GET_VALUES before the config applies. */
export const DISCOVERY_TIMEOUT_MS = 500;

export interface PoolDeps {
  upstream: UpstreamConfig;
  codec: Codec;
  dial: Dial;
  /** Pool-level events (discovery, connections closing); not tied to a request. */
  log: Logger;
  /** How many pools split this upstream's limits (limits.ts); default 1. */
  pools?: number;
}

export class FcgiPool extends BasePool<FcgiConnection, Lease> {
  /** Until a server answers: the configured limits, one request per connection (a burst on a
   *  cold pool must not queue behind one connection while FCGI_GET_VALUES is pending). */
  private readonly discovering: Limits;
  private readonly idleWhy: string;

  constructor(private readonly deps: PoolDeps) {
    super(deps.upstream, deps.pools);
    this.discovering = limitsFor(null, deps.upstream.pool, this.pools);
    this.idleWhy = `closed after ${deps.upstream.pool.idleTimeoutMs / 1000} s idle (idle_timeout)`;
  }

  /** A connection has room again (a request ended or a lease was given back). */
  room(conn: FcgiConnection): void {
    const s = this.serverOf.get(conn);
    if (!s || conn.closed) return this.pump();
    if (conn.load === 0) {
      const limits = s.limits ?? this.discovering;
      if (s.singleUse || conn.draining || s.conns.length > limits.maxConns) {
        conn.close(s.singleUse ? "closed after one request (the server does not keep connections)" : "retired");
        return;
      }
      this.armIdle(conn, this.deps.upstream.pool.idleTimeoutMs, this.idleWhy);
    }
    this.pump();
  }

  protected leaseOn(s: Server<FcgiConnection>, fresh: boolean, log?: Logger): Lease | Promise<Lease> | null {
    const limits = s.limits ?? this.discovering;
    const load = s.conns.reduce((n, c) => n + c.load, 0) + s.opening;
    if (load >= limits.maxReqs) return null;
    let idle: FcgiConnection | null = null;
    for (const c of s.conns) {
      if (c.load === 0 && !c.draining && !c.closed && (!idle || c.idleSince > idle.idleSince)) idle = c;
    }
    if (idle) return fresh ? this.replaceIdle(s, idle, log) : this.lease(idle, idle.served > 0);
    if (s.conns.length + s.opening < limits.maxConns) return this.open(s, false, log);
    if (fresh || !limits.mpxs) return null;
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

  protected async open(s: Server<FcgiConnection>, held: boolean, log = this.deps.log): Promise<Lease> {
    const u = this.deps.upstream;
    const conn = await this.connect(s, held, log, async () =>
      new FcgiConnection(await this.deps.dial(s.address, { connectTimeoutMs: u.connectTimeoutMs }), s.origin, this.deps.codec, u.sendTimeoutMs, this.hooks(s)),
    );
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
    const limits = limitsFor(s.reported, this.deps.upstream.pool, this.pools);
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
    this.forget(s, conn, byServer);
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
}
