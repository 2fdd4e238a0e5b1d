// limit_req and limit_conn: which count a request falls in, and the interface the hosts'
// counters implement — in process on the Node host (memoryLimitStore below), in Durable
// Objects sharded by count in the Worker (adapter/cloudflare/limit-client.ts). Counts are per
// route and key, or per zone and key when routes share a zone.
import type { LimitConnConfig, LimitReqConfig, RouteConfig } from "../config/types.js";
import { ConnLeases, sweepBuckets, takeFromBucket, type Bucket, type BucketOutcome } from "./leaky-bucket.js";
import type { RequestFields } from "../core/gateway.js";

export interface ConnLease {
  release(): void;
}

/** A place that `giveBack` returns once, however often release() is called (a body's end and
 *  its client's leaving may both call it). */
export function leaseOnce(giveBack: () => void): ConnLease {
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      giveBack();
    },
  };
}

export interface LimitStore {
  /** limit_req: one request through the bucket named `counter`. */
  request(counter: string, rate: number, burst: number, nodelay: boolean): Promise<BucketOutcome>;
  /** limit_conn: a lease on one of `max` places, or null when all are taken. `waitUntil`
   *  keeps the host alive for work the release starts after the response. */
  acquire(counter: string, max: number, waitUntil?: (p: Promise<unknown>) => void): Promise<ConnLease | null>;
}

/** The value a limit counts by for this request; null: the request is not counted (nginx
 *  does not count an empty key: a header the client did not send). A client whose address
 *  is unknown is counted together under "-". */
export function limitKeyValue(l: LimitReqConfig | LimitConnConfig, request: { headers: RequestFields }, clientAddr: string | undefined): string | null {
  switch (l.key.kind) {
    case "ip":
      return clientAddr || "-";
    case "route":
      return "";
    case "header": {
      const v = request.headers.get(l.key.name);
      return v === null || v === "" ? null : v;
    }
  }
}

/** The count's name: the zone's, else the route's own (by its place in the file). */
export function counterName(kind: "req" | "conn", route: RouteConfig, l: LimitReqConfig | LimitConnConfig, value: string): string {
  const scope = l.zone !== undefined ? `zone:${l.zone}` : `route:${route.index_in_file}`;
  return `${kind}|${scope}|${value}`;
}

const SWEEP_EVERY = 10_000;

/** Counts in this process (the Node host; tests). `now` is injectable for tests. */
export function memoryLimitStore(now: () => number = Date.now): LimitStore {
  const buckets = new Map<string, Bucket>();
  const rates = new Map<string, number>();
  const leases = new ConnLeases();
  let sinceSweep = 0;
  return {
    async request(counter, rate, burst, nodelay) {
      if (++sinceSweep >= SWEEP_EVERY) {
        sinceSweep = 0;
        sweepBuckets(buckets, (k) => rates.get(k) ?? 1, now());
        for (const k of rates.keys()) if (!buckets.has(k)) rates.delete(k);
      }
      rates.set(counter, rate);
      return takeFromBucket(buckets, counter, rate, burst, nodelay, now());
    },
    async acquire(counter, max) {
      // In one process a request always releases (its body ends or is cancelled): no expiry.
      const id = leases.acquire(counter, max, Infinity, now());
      return id === null ? null : leaseOnce(() => leases.release(counter, id));
    },
  };
}
