// The kept HTTP/1.1 connections of one upstream (one shard of it), for protocol = "http" with
// pool = "pooled": HTTP upstreams over sockets get the same pool as FastCGI, with HTTP/1.1
// keep-alive. It has the FastCGI pool's shape without the FastCGI parts: the same wait queue
// (queue.ts), server records and statistics (server.ts, stats.ts) and limits (limits.ts, from
// the config only: HTTP has no FCGI_GET_VALUES). One request at a time per connection; an
// idle one is reused most recently used first, so surplus ones reach idle_timeout and close.
//
// A connection goes back to the idle set only when its response ended cleanly and was
// delimited (Content-Length or chunked, never close-delimited, no byte after its end), the
// server allowed another request (HTTP/1.1 without Connection: close, Keep-Alive max not 0)
// and the request was sent whole (stream-response.ts and http/pooled.ts decide; the
// connection is told through release()). A server's Keep-Alive: timeout=N shortens that
// connection's idle time to N s less a margin, so we close before it does.
import type { UpstreamConfig } from "../config/types.js";
import type { ConnectionProvider, LeasedStream, Reuse } from "../core/exchange.js";
import type { Logger } from "../core/log.js";
import type { Dial, Outgoing } from "../core/transport.js";
import { HttpConnection, type HttpConnectionHooks } from "./http-connection.js";
import { limitsFor, type Limits } from "./limits.js";
import { BasePool } from "./base-pool.js";
import type { Server } from "./server.js";

/** Closed this long before the server's Keep-Alive timeout (half of it when that is ≤ 2 s),
 *  so the server's close never crosses our next request. */
export const KEEPALIVE_MARGIN_MS = 1000;

export interface HttpPoolDeps {
  upstream: UpstreamConfig;
  dial: Dial;
  log: Logger;
  /** How many pools split this upstream's limits (limits.ts); default 1. */
  pools?: number;
}

/** How long a connection may idle: idle_timeout, or less when the server keeps it shorter. */
export function idleFor(idleTimeoutMs: number, keepAliveMs: number | null): number {
  if (keepAliveMs === null) return idleTimeoutMs;
  return Math.min(idleTimeoutMs, keepAliveMs - Math.min(KEEPALIVE_MARGIN_MS, keepAliveMs / 2));
}

/** A leased connection, for one exchange (http/pooled.ts). */
export class HttpLease implements LeasedStream {
  private done = false;

  constructor(
    readonly conn: HttpConnection,
    readonly reused: boolean,
  ) {}

  get origin(): string {
    return this.conn.origin;
  }

  read(atLeast?: number): Promise<Uint8Array | null> {
    return this.conn.read(atLeast);
  }

  write(bytes: Outgoing): Promise<void> {
    return this.conn.write(bytes);
  }

  get settle(): HttpConnection["settle"] {
    return this.conn.settle;
  }

  release(clean: boolean, reuse: Reuse | null): void {
    if (this.done) return;
    this.done = true;
    this.conn.finish(clean, reuse);
  }

  /** Gives back a connection no request was sent on. */
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.conn.giveBack();
  }
}

export class HttpPool extends BasePool<HttpConnection, HttpLease> implements ConnectionProvider<HttpLease> {
  private readonly limits: Limits;

  constructor(private readonly deps: HttpPoolDeps) {
    super(deps.upstream, deps.pools);
    // HTTP has no FCGI_GET_VALUES: the config's limits apply from the start.
    this.limits = limitsFor(null, deps.upstream.pool, this.pools);
    for (const s of this.servers) {
      s.discovery = "done";
      s.limits = this.limits;
    }
  }

  protected leaseOn(s: Server<HttpConnection>, fresh: boolean, log?: Logger): HttpLease | Promise<HttpLease> | null {
    let idle: HttpConnection | null = null;
    for (const c of s.conns) {
      if (!c.busy && !c.closed && (!idle || c.idleSince > idle.idleSince)) idle = c;
    }
    if (idle) return fresh ? this.replaceIdle(s, idle, log) : this.lease(idle);
    if (s.conns.length + s.opening < this.limits.maxConns) return this.open(s, false, log);
    return null;
  }

  private lease(conn: HttpConnection): HttpLease {
    this.disarmIdle(conn);
    conn.busy = true;
    return new HttpLease(conn, conn.served > 0);
  }

  protected async open(s: Server<HttpConnection>, held: boolean, log = this.deps.log): Promise<HttpLease> {
    const u = this.deps.upstream;
    const conn = await this.connect(s, held, log, async () =>
      new HttpConnection(await this.deps.dial(s.address, { connectTimeoutMs: u.connectTimeoutMs }), s.origin, u.readTimeoutMs, u.sendTimeoutMs, this.hooks(s)),
    );
    conn.busy = true;
    if (this.disposed) conn.close("closed: the pool shut down");
    return new HttpLease(conn, false);
  }

  private hooks(s: Server<HttpConnection>): HttpConnectionHooks {
    return {
      idle: (conn, reuse) => this.idle(s, conn, reuse),
      closed: (conn, byServer, why) => this.closed(s, conn, byServer, why),
    };
  }

  private idle(s: Server<HttpConnection>, conn: HttpConnection, reuse: Reuse): void {
    const ms = idleFor(this.deps.upstream.pool.idleTimeoutMs, reuse.keepAliveMs);
    if (this.disposed || ms <= 0 || s.conns.length > this.limits.maxConns) {
      conn.close(ms <= 0 ? `closed: the server keeps idle connections only ${reuse.keepAliveMs! / 1000} s (Keep-Alive: timeout)` : "retired");
      return;
    }
    const why = ms < this.deps.upstream.pool.idleTimeoutMs ? "before the server's Keep-Alive timeout" : "idle_timeout";
    this.armIdle(conn, ms, `closed after ${ms / 1000} s idle (${why})`);
    this.pump();
  }

  private closed(s: Server<HttpConnection>, conn: HttpConnection, byServer: boolean, why: string): void {
    this.forget(s, conn, byServer);
    if (byServer) this.deps.log.log("info", "pool_connection_closed", { upstream: this.deps.upstream.name, origin: s.origin, conn: conn.id, why });
    this.pump();
  }
}
