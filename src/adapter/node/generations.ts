// The gateways of `edgepass serve` over its life: the current one takes new requests; one
// replaced by a reload (SIGHUP) keeps the requests it already took until they are answered,
// then its pools close. Each gateway has its own pools, so an upstream changed by the new
// config never sees a request of the old one and the old one's connections end with it.
import type { GatewayConfig } from "../../config/types.js";
import type { Gateway } from "../../core/gateway.js";
import type { ClientResponse } from "../../core/respond.js";
import type { PoolRegistry } from "../../pool/registry.js";

export interface Generation {
  gateway: Gateway<ClientResponse>;
  config: GatewayConfig;
  pools: PoolRegistry;
  /** Requests taken and not yet answered to the end. */
  inFlight: number;
  retired: boolean;
}

export class Generations {
  private cur: Generation;
  private readonly all = new Set<Generation>();

  constructor(first: Omit<Generation, "inFlight" | "retired">) {
    this.cur = { ...first, inFlight: 0, retired: false };
    this.all.add(this.cur);
  }

  get current(): Generation {
    return this.cur;
  }

  /** Makes `next` the gateway for new requests; the old one closes once its requests end. */
  replace(next: Omit<Generation, "inFlight" | "retired">): void {
    const old = this.cur;
    this.cur = { ...next, inFlight: 0, retired: false };
    this.all.add(this.cur);
    old.retired = true;
    this.closeIfDone(old);
  }

  /** The current gateway for one request; call the returned function once its answer is
   *  written (or the connection ended), exactly once. */
  take(): { gen: Generation; release: () => void } {
    const gen = this.cur;
    gen.inFlight++;
    let released = false;
    return {
      gen,
      release: () => {
        if (released) return;
        released = true;
        gen.inFlight--;
        this.closeIfDone(gen);
      },
    };
  }

  /** Closes every gateway's pools (the server is stopping). */
  dispose(): void {
    for (const g of this.all) g.pools.dispose();
    this.all.clear();
  }

  private closeIfDone(g: Generation): void {
    if (!g.retired || g.inFlight > 0 || !this.all.has(g)) return;
    this.all.delete(g);
    g.pools.dispose();
  }
}
