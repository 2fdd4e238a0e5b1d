// The UpstreamPool Durable Object: holds the long-lived connections of one upstream shard
// (named "<upstream>#<shard>"). A Worker cannot keep a socket across requests; a Durable
// Object can. The logic is in src/adapter/cloudflare/pool-host.ts and src/pool/.
import { DurableObject } from "cloudflare:workers";
import wasm from "../wasm/build/edgepass.wasm";
import defaultConfig from "../edgepass.toml";
import type { GatewayEnv } from "../src/adapter/cloudflare/handler.js";
import { PoolHost } from "../src/adapter/cloudflare/pool-host.js";
import type { Reservation } from "../src/adapter/cloudflare/pool-client.js";

export class UpstreamPool extends DurableObject<GatewayEnv> {
  private readonly host = new PoolHost(this.env, wasm, defaultConfig, (at) => this.ctx.storage.setAlarm(at));

  override fetch(request: Request): Promise<Response> {
    return this.host.fetch(request);
  }

  /** RPC: hold a place on a connection for a request about to be sent (admission.ts). */
  reserve(upstream: string, requestId: string, fresh: boolean, key: string | null): Promise<Reservation> {
    return this.host.reserve(upstream, requestId, fresh, key);
  }

  /** RPC: the bytes of a streamed body this object handed the Worker (PoolHost.sent). */
  sent(key: string): Promise<number | null> {
    return this.host.sent(key);
  }

  /** health_check: each run checks what is due and sets the alarm for the next. */
  override alarm(): Promise<void> {
    return this.host.alarm();
  }
}
