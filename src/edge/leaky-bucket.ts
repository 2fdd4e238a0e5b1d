// The counting behind limit_req and limit_conn, free of any runtime and clock (the caller
// passes `now` in ms), so the in-process store and the Durable Object count alike and a test
// can drive time by hand.
//
// limit_req is nginx's leaky bucket (ngx_http_limit_req_module.c, ngx_http_limit_req_lookup),
// in its integer units: `excess` is in thousandths of a request, `rate` in requests per second
// × 1000. Each request adds 1000 and the bucket drains at `rate`; a request that would leave
// more than burst × 1000 is refused and changes nothing. A request that passes with excess
// waits excess / rate seconds, unless nodelay.

export interface Bucket {
  excess: number;
  last: number;
}

export type BucketOutcome =
  | { ok: true; /** ms to hold the request (0 with nodelay or an empty bucket) */ delayMs: number }
  | { ok: false; /** seconds until one more request fits */ retryAfter: number };

export function takeFromBucket(buckets: Map<string, Bucket>, key: string, rate: number, burst: number, nodelay: boolean, now: number): BucketOutcome {
  const b = buckets.get(key);
  if (!b) {
    buckets.set(key, { excess: 0, last: now });
    return { ok: true, delayMs: 0 };
  }
  let ms = now - b.last;
  // A clock that stepped back: nginx treats a small step as no time, a large one as 1 ms.
  if (ms < -60_000) ms = 1;
  else if (ms < 0) ms = 0;
  // Drained and refilled in one step, clamped after (nginx's order: a request 1/rate after
  // the last one finds the bucket as it was, not one request fuller).
  const excess = Math.max(0, b.excess - Math.trunc((rate * ms) / 1000) + 1000);
  if (excess > burst * 1000) {
    const waitMs = ((excess - burst * 1000) * 1000) / rate;
    return { ok: false, retryAfter: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
  b.excess = excess;
  if (ms) b.last = now;
  return { ok: true, delayMs: nodelay ? 0 : Math.trunc((excess * 1000) / rate) };
}

/** Drops buckets that have drained empty (a returning key starts from empty, which is the
 *  same), so a stream of distinct keys cannot grow memory without bound. */
export function sweepBuckets(buckets: Map<string, Bucket>, rateOf: (key: string) => number, now: number): void {
  for (const [k, b] of buckets) {
    if (b.excess + 1000 - (rateOf(k) * Math.max(0, now - b.last)) / 1000 <= 0) buckets.delete(k);
  }
}

/** limit_conn's counts as leases: each request in flight holds one until it releases it or,
 *  when its holder died without saying so, until the lease expires. A holder that lives
 *  longer renews. Without expiry (ttl Infinity) it is a plain count. */
export class ConnLeases {
  private readonly held = new Map<string, Map<number, number>>();
  private next = 1;

  /** A lease id, or null when `max` are in flight for `key`. */
  acquire(key: string, max: number, ttlMs: number, now: number): number | null {
    let leases = this.held.get(key);
    if (leases) {
      for (const [id, until] of leases) if (until <= now) leases.delete(id);
    } else {
      leases = new Map();
      this.held.set(key, leases);
    }
    if (leases.size >= max) return null;
    const id = this.next++;
    leases.set(id, now + ttlMs);
    return id;
  }

  /** False when the lease is gone (expired and taken over): the holder should stop renewing. */
  renew(key: string, id: number, ttlMs: number, now: number): boolean {
    const leases = this.held.get(key);
    if (!leases?.has(id)) return false;
    leases.set(id, now + ttlMs);
    return true;
  }

  release(key: string, id: number): void {
    const leases = this.held.get(key);
    if (!leases) return;
    leases.delete(id);
    if (leases.size === 0) this.held.delete(key);
  }

  inFlight(key: string, now: number): number {
    let n = 0;
    for (const until of this.held.get(key)?.values() ?? []) if (until > now) n++;
    return n;
  }
}
