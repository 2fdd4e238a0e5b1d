// The UpstreamPool Durable Object's logic (workers/upstream-pool.ts is only the class shell).
// It runs the gateway pipeline for the requests the Worker hands it, with the connections of
// pooled upstreams leased from this object's pools; sockets outlive the request
// that opened them here, which a Worker's do not.
import { createCodec } from "../../codec/index.js";
import type { Codec } from "../../codec/types.js";
import { gatewayBuilder } from "../../core/compose.js";
import type { GatewayRequest } from "../../core/gateway.js";
import { errorResponse } from "../../core/error-response.js";
import { Codes, GatewayError, isGatewayError } from "../../core/errors.js";
import { requestLogger } from "../../core/log.js";
import { Admissions } from "../../pool/admission.js";
import { PoolRegistry } from "../../pool/registry.js";
import { dialCloudflare } from "./dial.js";
import { HopCounts } from "./hop-counts.js";
import { respondToWorker } from "./respond.js";
import { configOf, loaderFor, type GatewayEnv } from "./handler.js";
import { HOP_HEADER, isPooled, type HopInfo, type Reservation } from "./pool-client.js";
import { HealthChecks } from "../../balance/health.js";
import { Plan } from "../../balance/plan.js";
import type { GatewayConfig } from "../../config/types.js";

/** Sets the object's alarm (ctx.storage.setAlarm); absent where there is no storage. */
export type ScheduleAlarm = (at: number) => Promise<void>;

export class PoolHost {
  // Each of an upstream's `shards` objects holds an equal share of its limits.
  private readonly pools = new PoolRegistry(undefined, (u) => u.pool.shards);
  private readonly admissions = new Admissions();
  private readonly handedOn = new HopCounts();
  private codecOnce: Codec | undefined;
  private readonly build = gatewayBuilder(
    () => ({
      codec: this.codec(),
      dial: dialCloudflare,
      respond: respondToWorker,
      countsBytes: true,
      connections: (upstream, requestId) => this.pools.connections({ upstream, codec: this.codec(), dial: dialCloudflare }, requestId, this.admissions),
      peers: (u) => this.pools.peers.get(u),
      hopMeter: (key, length) => this.handedOn.meter(key, length),
    }),
    // Lazy: the constructor's parameters are not assigned yet when fields initialize.
    (text, source) => loaderFor(this.env)(text, source),
  );

  constructor(
    private readonly env: GatewayEnv,
    private readonly wasm: WebAssembly.Module,
    private readonly defaultConfig: string,
    private readonly schedule?: ScheduleAlarm,
  ) {}

  private checks: HealthChecks | undefined;
  /** The alarm is set for this time (null: none). */
  private alarmAt: number | null = null;

  /** The object's alarm: the health checks of the upstreams this object holds that are due
   *  (each shard checks for itself), then the alarm again for the next. */
  async alarm(): Promise<void> {
    this.alarmAt = null;
    if (this.built() instanceof GatewayError) return;
    this.checks ??= new HealthChecks(this.codec(), dialCloudflare, requestLogger("-"));
    const next = await this.checks.runDue(this.checkedPeers());
    if (next !== null) await this.arm(next);
  }

  /** The balancer state of this object's upstreams that have health_check. */
  private checkedPeers() {
    return this.pools.peers.list().filter((p) => p.upstream.balance.healthCheck);
  }

  private async arm(at: number): Promise<void> {
    if (!this.schedule || (this.alarmAt !== null && this.alarmAt <= at)) return;
    this.alarmAt = at;
    await this.schedule(at);
  }

  async fetch(request: Request): Promise<Response> {
    let hop: HopInfo;
    try {
      hop = JSON.parse(request.headers.get(HOP_HEADER) ?? "") as HopInfo;
    } catch {
      const e = new GatewayError(Codes.REQUEST_INVALID, 400, "The pool object only serves requests the gateway Worker hands it.");
      return errorResponse(e, "-", requestLogger("-"));
    }
    if (hop.stats) {
      return new Response(JSON.stringify(this.pools.stats()), { headers: { "content-type": "application/json" } });
    }
    const built = this.built();
    if (built instanceof GatewayError) return errorResponse(built, hop.requestId, requestLogger(hop.requestId));
    const { gateway, config } = built;
    const { stats: _, admission, ...info } = hop;
    if (admission === "optimistic") this.admissions.optimistic(hop.requestId);
    try {
      return await gateway(withoutHop(request), info);
    } finally {
      this.admissions.drop(hop.requestId);
      // The first request for an upstream with health_check starts its checks (its balancer
      // state exists once the request has been forwarded).
      if (this.alarmAt === null && hasHealthChecks(config) && this.checkedPeers().length > 0) void this.arm(Date.now());
    }
  }

  /** Waits for a place on a connection of `upstream` and holds it for the request `requestId`,
   *  whose fetch() follows (admission.ts). `fresh`: its body cannot be sent twice, so only a
   *  newly opened connection will do. `key`: the request's balance hash key, so the place is
   *  on the server the request would get. Errors come back as values: a thrown one means the
   *  object went away, which the Worker may answer by asking again. */
  async reserve(upstream: string, requestId: string, fresh: boolean, key: string | null = null): Promise<Reservation> {
    const built = this.built();
    if (built instanceof GatewayError) return refusal(built);
    const u = built.config.upstreams[upstream];
    if (!u || !isPooled(u)) return refusal(new GatewayError(Codes.UPSTREAM_POOL_FAILED, 502, `The upstream "${upstream}" has no pool here.`));
    const pool = u.protocol === "http" ? this.pools.http({ upstream: u, dial: dialCloudflare }) : this.pools.get({ upstream: u, codec: this.codec(), dial: dialCloudflare });
    const plan = new Plan(this.pools.peers.get(u), key);
    // A connect failure moves on to the next server, as an exchange's own acquire does.
    for (;;) {
      try {
        const lease = await pool.acquire({ fresh, plan, log: requestLogger(requestId) });
        // The request's own plan takes the server when it claims the place (admission.ts).
        const server = plan.current;
        if (server !== undefined) plan.again(server);
        this.admissions.park(requestId, lease, server);
        return { ok: true };
      } catch (e) {
        const connect = isGatewayError(e) && (e.code === Codes.UPSTREAM_CONNECT_FAILED || e.code === Codes.UPSTREAM_CONNECT_TIMEOUT);
        if (connect && plan.hasNext()) continue;
        return refusal(isGatewayError(e) ? e : new GatewayError(Codes.UPSTREAM_POOL_FAILED, 502, "The pool could not reserve a connection.", String(e)));
      }
    }
  }

  /** What this object handed the Worker of the streamed body of the hand-off `key`, for the
   *  Worker's request line (hop-counts.ts); null when the Worker knows it already. */
  sent(key: string): Promise<number | null> {
    return this.handedOn.take(key);
  }

  private codec(): Codec {
    return (this.codecOnce ??= createCodec(this.wasm));
  }

  private built() {
    const { text, source } = configOf(this.env, this.defaultConfig);
    return this.build(text, source);
  }
}

/** Whether any upstream of `config` has health_check (most have none: no per-request scan). */
const checked = new WeakMap<GatewayConfig, boolean>();
function hasHealthChecks(config: GatewayConfig): boolean {
  let yes = checked.get(config);
  if (yes === undefined) checked.set(config, (yes = Object.values(config.upstreams).some((u) => u.balance.healthCheck)));
  return yes;
}

/** The Worker's request as the object's gateway reads it, without the hop header: a view of
 *  it, where a copy would make a Headers and a Request per request. */
function withoutHop(request: Request): GatewayRequest {
  const h = request.headers;
  const hop = (name: string) => name.length === HOP_HEADER.length && name.toLowerCase() === HOP_HEADER;
  return {
    method: request.method,
    url: request.url,
    body: request.body,
    signal: request.signal,
    headers: {
      get: (name) => (hop(name) ? null : h.get(name)),
      has: (name) => !hop(name) && h.has(name),
      forEach(fn) {
        h.forEach((v, k) => {
          if (k !== HOP_HEADER) fn(v, k);
        });
      },
    },
  };
}

function refusal(e: GatewayError): Reservation {
  return { ok: false, code: e.code, status: e.status, message: e.message };
}
