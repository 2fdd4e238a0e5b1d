// The LimitCounter Durable Object: one count of limit_req or limit_conn (one route or zone,
// one key value). The logic is in src/adapter/cloudflare/limit-counter.ts.
import { DurableObject } from "cloudflare:workers";
import type { GatewayEnv } from "../src/adapter/cloudflare/handler.js";
import { LimitCounter as Counter } from "../src/adapter/cloudflare/limit-counter.js";

export class LimitCounter extends DurableObject<GatewayEnv> {
  private readonly counter = new Counter(this.ctx.storage.kv ?? null);

  request(rate: number, burst: number, nodelay: boolean) {
    return this.counter.request(rate, burst, nodelay);
  }

  acquire(max: number) {
    return this.counter.acquire(max);
  }

  renew(id: number) {
    return this.counter.renew(id);
  }

  release(id: number) {
    this.counter.release(id);
  }
}
