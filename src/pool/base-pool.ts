// What every pool of one upstream (one shard of it) shares, whatever the protocol: the
// servers and their connections, the bounded wait queue served first come first served,
// round robin over servers that are not marked down, saturation as 503, statistics, and
// shutdown. A protocol's pool (pool.ts for FastCGI, http-pool.ts for HTTP keep-alive) says
// only how a place is found on one server (leaseOn) and what a connection does when idle.
import type { UpstreamConfig } from "../config/types.js";
import { Deadlines } from "../core/deadline.js";
import { Codes, GatewayError } from "../core/errors.js";
import type { AcquireOptions } from "../core/exchange.js";
import type { Logger } from "../core/log.js";
import { WaitQueue } from "./queue.js";
import type { Plan } from "../balance/plan.js";
import { newServer, serverStats, type PooledConnection, type Server } from "./server.js";
import type { PoolStats, ServerStats } from "./stats.js";

/** A server whose connect failed is skipped this long while another server is available. */
export const DOWN_MS = 2000;

export abstract class BasePool<C extends PooledConnection & { close(why: string): void }, L> {
  protected readonly servers: Server<C>[];
  protected readonly queue = new WaitQueue<L>();
  /** When each idle connection is to be closed, and why. */
  private readonly idleUntil = new Deadlines<C, string>((conn, why) => {
    if (conn.load === 0 && !conn.closed) conn.close(why);
  });
  protected readonly serverOf = new Map<C, Server<C>>();
  protected disposed = false;
  private cursor = 0;
  private pumping = false;
  private pumpAgain = false;
  private retried = 0;
  private rejectedFull = 0;
  private rejectedTimeout = 0;

  constructor(
    private readonly config: UpstreamConfig,
    /** How many pools split this upstream's limits (limits.ts): the host's business. */
    protected readonly pools = 1,
  ) {
    this.servers = config.servers.map((a) => newServer<C>(a));
  }

  get upstream(): UpstreamConfig {
    return this.config;
  }

  /** A place on a connection, now or after a wait. Rejects with POOL_SATURATED (503) when the
   *  queue is full or the wait passes queue_timeout, or with the connect error when a new
   *  connection was needed and could not be opened. */
  acquire(o: AcquireOptions = {}): L | Promise<L> {
    if (this.disposed) return Promise.reject(new GatewayError(Codes.UPSTREAM_POOL_FAILED, 502, "The connection pool was shut down."));
    const cfg = this.config.pool;
    // First come, first served: take a place directly only when nobody is waiting for one.
    if (this.queue.length === 0 || o.retry) {
      const now = this.tryLease(!!o.fresh, o.plan, o.log);
      if (now) return now;
    }
    if (o.noWait) return Promise.reject(new GatewayError(Codes.POOL_WAIT, 503, `No connection of the upstream "${this.config.name}" is free now; reserve a place first.`));
    if (!o.retry && this.queue.length >= cfg.queue) {
      this.rejectedFull++;
      return Promise.reject(this.saturated(`${this.queue.length} requests are already waiting for one (queue = ${cfg.queue})`));
    }
    return this.queue.wait({
      timeoutMs: cfg.queueTimeoutMs,
      signal: o.signal,
      front: !!o.retry,
      fresh: !!o.fresh,
      plan: o.plan,
      log: o.log,
      onTimeout: this.queueTimedOut,
    });
  }

  /** A waiter's queue_timeout passed (one function for every waiter, not one made per wait). */
  private readonly queueTimedOut = (): Error => {
    this.rejectedTimeout++;
    return this.saturated(`none became free within ${this.config.pool.queueTimeoutMs / 1000} s (queue_timeout)`);
  };

  noteRetry(): void {
    this.retried++;
  }

  stats(): PoolStats {
    const now = Date.now();
    const servers = this.servers.map((s) => serverStats(s, now));
    const sum = (f: (s: ServerStats) => number) => servers.reduce((n, s) => n + f(s), 0);
    return {
      upstream: this.config.name,
      shards: this.pools,
      open: sum((s) => s.open),
      busy: sum((s) => s.busy),
      idle: sum((s) => s.idle),
      queued: this.queue.length,
      queueLimit: this.config.pool.queue,
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
    this.idleUntil.clear();
    this.queue.rejectAll(new GatewayError(Codes.UPSTREAM_POOL_FAILED, 502, "The connection pool was shut down."));
    for (const s of this.servers) for (const c of [...s.conns]) c.close("closed: the pool shut down");
  }

  /** A place on server `s`: an idle connection, a new one, or null when it has no room. */
  protected abstract leaseOn(s: Server<C>, fresh: boolean, log?: Logger): L | Promise<L> | null;

  /** A new connection to `s`, leased; `held`: the caller already counted it in `s.opening`. */
  protected abstract open(s: Server<C>, held: boolean, log?: Logger): Promise<L>;

  /** A new connection in place of `idle`, for a request that needs one (a body that cannot be
   *  sent again, a retry): it gives up an idle kept connection, room under max_connections or
   *  not. php-fpm gives each kept connection a worker of its own even while it idles (an HTTP
   *  origin may too), so with more connections allowed than it has workers a new one would
   *  wait in its listen queue until an idle one timed out. */
  protected replaceIdle(s: Server<C>, idle: C, log?: Logger): Promise<L> {
    // Hold the place first: closing lets the pool serve waiters, who must not take it.
    s.opening++;
    idle.close("closed to make room for a new connection");
    return this.open(s, true, log);
  }

  protected saturated(why: string): GatewayError {
    const busy = this.servers.reduce((n, s) => n + s.conns.length, 0);
    return new GatewayError(
      Codes.POOL_SATURATED,
      503,
      `The upstream "${this.config.name}" is saturated: all ${busy} of its connections are busy and ${why}. Try again in a moment.`,
    );
  }

  /** Serves waiters in order while places are free. */
  protected pump(): void {
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
          const lease = this.tryLease(w.fresh, w.plan, w.log);
          if (!lease) break;
          this.queue.shift();
          w.resolve(lease);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** Requests on server `s` in this pool (least_conn and random_two compare these). */
  protected load(s: Server<C>): number {
    return s.conns.reduce((n, c) => n + c.load, 0) + s.opening;
  }

  private tryLease(fresh: boolean, plan?: Plan, log?: Logger): L | Promise<L> | null {
    if (plan) return this.tryPlanned(fresh, plan, log);
    const n = this.servers.length;
    const now = Date.now();
    const anyUp = this.servers.some((s) => s.downUntil <= now);
    for (let k = 0; k < n; k++) {
      const i = (this.cursor + k) % n;
      const s = this.servers[i];
      if (anyUp && s.downUntil > now) continue;
      const lease = this.leaseOn(s, fresh, log);
      if (lease) {
        this.cursor = (i + 1) % n;
        return lease;
      }
    }
    return null;
  }

  /** A place on the first server of the request's plan that has room. The plan's balancer
   *  decides availability (max_fails, health checks) and order; a failed connect counts
   *  against the server there. */
  private tryPlanned(fresh: boolean, plan: Plan, log?: Logger): L | Promise<L> | null {
    for (const i of plan.candidates((k) => this.load(this.servers[k]))) {
      const lease = this.leaseOn(this.servers[i], fresh, log);
      if (!lease) continue;
      plan.take(i);
      if (!(lease instanceof Promise)) {
        plan.connected(i);
        return lease;
      }
      return lease.then(
        (l) => {
          plan.connected(i);
          return l;
        },
        (e: unknown) => {
          plan.peers.fail(i);
          throw e;
        },
      );
    }
    return null;
  }

  /** Opens a connection to `s` with `make` (dial + wrap), keeping the server's counters; a
   *  failed connect marks the server down for DOWN_MS and is logged. `held`: the caller has
   *  already counted this connection in `s.opening`. */
  protected async connect(s: Server<C>, held: boolean, log: Logger, make: () => Promise<C>): Promise<C> {
    if (!held) s.opening++;
    let conn: C;
    try {
      conn = await make();
    } catch (e) {
      s.opening--;
      s.connectFailures++;
      s.downUntil = Date.now() + DOWN_MS;
      const err = e instanceof GatewayError ? e : new GatewayError(Codes.UPSTREAM_CONNECT_FAILED, 502, `Could not connect to the origin ${s.origin}.`, String(e));
      log.log("warn", "upstream_connect_failed", { upstream: this.config.name, origin: s.origin, code: err.code, detail: err.detail ?? err.message });
      queueMicrotask(() => this.pump());
      throw err;
    }
    s.opening--;
    s.opened++;
    s.downUntil = 0;
    s.conns.push(conn);
    this.serverOf.set(conn, s);
    return conn;
  }

  /** Closes `conn` after `ms` unless it is in use or gone by then. */
  protected armIdle(conn: C, ms: number, why: string): void {
    this.idleUntil.set(conn, Date.now() + ms, why);
  }

  /** Takes a closed connection off its server's books. */
  protected forget(s: Server<C>, conn: C, byServer: boolean): void {
    const i = s.conns.indexOf(conn);
    if (i >= 0) s.conns.splice(i, 1);
    this.serverOf.delete(conn);
    this.idleUntil.delete(conn);
    s.servedOnClosed += conn.served;
    if (byServer) s.closedByServer++;
    else s.closedByGateway++;
  }

  /** `conn` is in use: no idle deadline, its place kept for the next (Deadlines.disarm). */
  protected disarmIdle(conn: C): void {
    this.idleUntil.disarm(conn);
  }
}
