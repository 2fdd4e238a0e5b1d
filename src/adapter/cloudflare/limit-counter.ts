// The LimitCounter Durable Object's logic (workers/limit-counter.ts is the class shell): one
// object per count (limit kind, route or zone, key value), so the counts are exact and global
// and a busy key never queues behind another. limit_req's bucket is kept in the object's
// storage too, so an object evicted between two requests of a slow rate ("1r/m") still
// remembers; limit_conn's places are leases in memory that the Worker renews while its
// response streams and releases at its end, and that expire on their own when a Worker
// died without saying so: a place is never held forever.
import { ConnLeases, takeFromBucket, type Bucket, type BucketOutcome } from "../../edge/leaky-bucket.js";

/** How long a lease lives unless renewed, and how often the Worker renews it. */
export const LEASE_TTL_MS = 30_000;
export const LEASE_RENEW_MS = 10_000;

/** The RPC surface the Worker calls (limit-client.ts). */
export interface LimitCounterApi {
  request(rate: number, burst: number, nodelay: boolean): BucketOutcome;
  acquire(max: number): number | null;
  renew(id: number): boolean;
  release(id: number): void;
}

/** The part of DurableObjectStorage's synchronous key-value API used here. */
interface SyncKv {
  get<T>(key: string): T | undefined;
  put<T>(key: string, value: T): void;
}

export class LimitCounter implements LimitCounterApi {
  private buckets: Map<string, Bucket> | null = null;
  private readonly leases = new ConnLeases();

  constructor(private readonly kv: SyncKv | null) {}

  request(rate: number, burst: number, nodelay: boolean): BucketOutcome {
    if (!this.buckets) {
      this.buckets = new Map();
      const saved = this.kv?.get<Bucket>("bucket");
      if (saved) this.buckets.set("", saved);
    }
    const out = takeFromBucket(this.buckets, "", rate, burst, nodelay, Date.now());
    if (out.ok) this.kv?.put("bucket", this.buckets.get(""));
    return out;
  }

  acquire(max: number): number | null {
    return this.leases.acquire("", max, LEASE_TTL_MS, Date.now());
  }

  renew(id: number): boolean {
    return this.leases.renew("", id, LEASE_TTL_MS, Date.now());
  }

  release(id: number): void {
    this.leases.release("", id);
  }
}
