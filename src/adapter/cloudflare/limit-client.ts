// The Worker's side of the limits: each count lives in its own LimitCounter Durable Object
// (named by the count, so sharded by key), reached by RPC. A route without limits never gets
// here. A limit_conn place is renewed while the response streams and released when it ends;
// the release outlives the response through waitUntil.
import type { BucketOutcome } from "../../edge/leaky-bucket.js";
import { leaseOnce, type ConnLease, type LimitStore } from "../../edge/limits.js";
import { Codes, GatewayError } from "../../core/errors.js";
import { LEASE_RENEW_MS, type LimitCounterApi } from "./limit-counter.js";

export type LimitNamespace = DurableObjectNamespace;

type Stub = { [K in keyof LimitCounterApi]: (...a: Parameters<LimitCounterApi[K]>) => Promise<ReturnType<LimitCounterApi[K]>> };

export function durableLimitStore(ns: LimitNamespace): LimitStore {
  const stub = (counter: string) => ns.get(ns.idFromName(counter)) as unknown as Stub;
  const unreachable = (e: unknown) =>
    new GatewayError(Codes.LIMITS_UNAVAILABLE, 503, "The gateway's limit counters could not be reached; try again.", `limits: ${String(e)}`);
  return {
    async request(counter, rate, burst, nodelay): Promise<BucketOutcome> {
      try {
        return await stub(counter).request(rate, burst, nodelay);
      } catch (e) {
        throw unreachable(e);
      }
    },
    async acquire(counter, max, waitUntil = () => {}): Promise<ConnLease | null> {
      const s = stub(counter);
      let id: number | null;
      try {
        id = await s.acquire(max);
      } catch (e) {
        throw unreachable(e);
      }
      if (id === null) return null;
      const lease = id;
      const timer = setInterval(() => {
        s.renew(lease).then((alive) => alive || clearInterval(timer), () => {});
      }, LEASE_RENEW_MS);
      return leaseOnce(() => {
        clearInterval(timer);
        waitUntil(s.release(lease).catch(() => {}));
      });
    },
  };
}
