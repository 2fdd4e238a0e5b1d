// The pools one host keeps (in the Worker setup: one UpstreamPool Durable Object), one per
// upstream (FastCGI: FcgiPool; HTTP keep-alive: HttpPool), created on first use. A changed upstream definition (a new config) gets a new
// pool and the old one is shut down. A host hands them to the exchanges as the context's
// connections (connections() below, through GatewayDeps.connections).
import type { Codec } from "../codec/types.js";
import type { UpstreamConfig } from "../config/types.js";
import type { Connections } from "../core/exchange.js";
import { requestLogger, type LogSink, type Logger } from "../core/log.js";
import type { Dial } from "../core/transport.js";
import { admittedPool, type Admissions } from "./admission.js";
import { HttpPool } from "./http-pool.js";
import { FcgiPool } from "./pool.js";
import type { PoolStats } from "./stats.js";
import { PeersRegistry } from "../balance/registry.js";

export interface PoolContext {
  upstream: UpstreamConfig;
  codec: Codec;
  dial: Dial;
}

export class PoolRegistry {
  private readonly pools = new Map<string, { key: string; pool: FcgiPool | HttpPool }>();
  private readonly log: Logger;
  /** The balancer state of every upstream this host forwards to (pooled or not). */
  readonly peers = new PeersRegistry();
  /** Run once when the registry is disposed (a plain server's health-check timer). */
  readonly onDispose: Array<() => void> = [];

  /** `poolsOf`: how many pools split an upstream's limits, which only the host knows (the
   *  Worker: its `shards` pool objects); default one. */
  constructor(
    sink?: LogSink,
    private readonly poolsOf: (u: UpstreamConfig) => number = () => 1,
  ) {
    // Pool events belong to no single request; "-" marks them in the log.
    this.log = requestLogger("-", sink);
  }

  private readonly keys = new WeakMap<UpstreamConfig, string>();

  get(ctx: PoolContext): FcgiPool {
    return this.pool(ctx, FcgiPool, () => new FcgiPool({ upstream: ctx.upstream, codec: ctx.codec, dial: ctx.dial, log: this.log, pools: this.poolsOf(ctx.upstream) }));
  }

  /** The HTTP keep-alive pool of an upstream with protocol = "http". */
  http(ctx: Omit<PoolContext, "codec">): HttpPool {
    return this.pool(ctx, HttpPool, () => new HttpPool({ upstream: ctx.upstream, dial: ctx.dial, log: this.log, pools: this.poolsOf(ctx.upstream) }));
  }

  /** The kept connections request `requestId` to `ctx.upstream` leases, or undefined when
   *  that upstream is not pooled (the exchange dials its own). `admissions`: the places
   *  reserved for requests before they arrived (the pool object). */
  connections(ctx: PoolContext, requestId: string, admissions?: Admissions): Connections | undefined {
    const u = ctx.upstream;
    if (u.pool.mode !== "pooled") return undefined;
    if (u.protocol === "fastcgi") {
      const src = admittedPool(this.get(ctx), admissions, requestId);
      return { kind: "records", acquire: (o) => src.acquire(o), noteRetry: () => src.noteRetry() };
    }
    // Only a socket of our own can be kept; via = "fetch" leaves connections to the platform.
    if (u.protocol === "http" && u.http?.via === "socket") {
      const src = admittedPool(this.http(ctx), admissions, requestId);
      return { kind: "stream", acquire: (o) => src.acquire(o), noteRetry: () => src.noteRetry() };
    }
    return undefined;
  }

  private pool<P extends FcgiPool | HttpPool>(ctx: { upstream: UpstreamConfig }, kind: abstract new (...a: never[]) => P, make: () => P): P {
    const u = ctx.upstream;
    // Worked out once per config object (a config is not changed once loaded), not per request.
    let key = this.keys.get(u);
    if (key === undefined) this.keys.set(u, (key = JSON.stringify([u.protocol, u.servers, u.connectTimeoutMs, u.sendTimeoutMs, u.readTimeoutMs, u.pool])));
    const have = this.pools.get(u.name);
    if (have?.key === key && have.pool instanceof kind) return have.pool;
    have?.pool.dispose();
    const pool = make();
    this.pools.set(u.name, { key, pool });
    return pool;
  }

  stats(): PoolStats[] {
    return [...this.pools.values()].map((p) => {
      const s = p.pool.stats();
      const peers = this.peers.find(s.upstream)?.stats();
      if (peers) s.servers.forEach((srv, i) => (srv.balance = peers[i]));
      return s;
    });
  }

  dispose(): void {
    for (const f of this.onDispose.splice(0)) f();
    for (const { pool } of this.pools.values()) pool.dispose();
    this.pools.clear();
  }
}
