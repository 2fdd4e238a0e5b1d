// The UpstreamPool Durable Object's logic (workers/upstream-pool.ts is only the class shell).
// It runs the gateway pipeline for the requests the Worker hands it, with FastCGI and HTTP
// exchanges that lease kept connections from this object's pools; sockets outlive the request
// that opened them here, which a Worker's do not.
import { createCodec } from "../../codec/index.js";
import { gatewayBuilder } from "../../core/compose.js";
import { errorResponse } from "../../core/error-response.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { Gateway } from "../../core/gateway.js";
import { requestLogger } from "../../core/log.js";
import { PoolRegistry } from "../../pool/registry.js";
import { pooledFastcgiExchange } from "../../protocol/fastcgi/pooled-exchange.js";
import { pooledHttpExchange } from "../../protocol/http/exchange.js";
import { dialCloudflare } from "./dial.js";
import { respondToWorker } from "./respond.js";
import { configOf, loaderFor, type GatewayEnv } from "./handler.js";
import { HOP_HEADER, type HopInfo } from "./pool-client.js";
import { HealthChecks } from "../../balance/health.js";

/** Sets the object's alarm (ctx.storage.setAlarm); absent where there is no storage. */
export type ScheduleAlarm = (at: number) => Promise<void>;

export class PoolHost {
  private readonly pools = new PoolRegistry();
  private readonly build = gatewayBuilder(
    () => ({
      codec: createCodec(this.wasm),
      dial: dialCloudflare,
      respond: respondToWorker,
      exchanges: { fastcgi: pooledFastcgiExchange(this.pools), http: pooledHttpExchange(this.pools) },
      peers: (u) => this.pools.peers.get(u),
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
    const built = this.gateway();
    if (built instanceof GatewayError) return;
    this.checks ??= new HealthChecks(createCodec(this.wasm), dialCloudflare, requestLogger("-"));
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
    const gateway = this.gateway();
    if (gateway instanceof GatewayError) return errorResponse(gateway, hop.requestId, requestLogger(hop.requestId));
    const headers = new Headers(request.headers);
    headers.delete(HOP_HEADER);
    const { stats: _, ...info } = hop;
    const res = gateway(new Request(request, { headers, signal: request.signal }), info);
    // The first request for an upstream with health_check starts its checks (its balancer
    // state exists once the request has been forwarded).
    void res.finally(() => {
      if (this.alarmAt === null && this.checkedPeers().length > 0) void this.arm(Date.now());
    }).catch(() => {});
    return res;
  }

  private gateway(): Gateway | GatewayError {
    const { text, source } = configOf(this.env, this.defaultConfig);
    const built = this.build(text, source);
    return built instanceof GatewayError ? built : built.gateway;
  }
}
