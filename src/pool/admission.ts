// How a request gets its place in a pool object without waiting where a restart can lose it.
//
// A pool object can be reset (a deploy, a move), and Cloudflare's runtime resends only calls
// that never reached it: a request waiting inside the object's queue is lost, and the Worker
// cannot tell whether it had reached the origin. So only a request the Worker may send again
// waits inside a fetch():
//   - a GET, HEAD, OPTIONS or TRACE with no body is sent at once, "queued": it waits in the
//     pool's queue like any request; if the object goes away, the Worker sends it once more
//     (after reserving, below), as it would after a reset at the origin;
//   - any other request with no body is sent at once, "optimistic": it takes a free place or
//     is answered POOL_WAIT at once, before anything reached the origin;
//   - a request with a body, or one answered POOL_WAIT, first reserves a place by RPC
//     (PoolHost.reserve): the wait happens there, and a reset during it is safe to resend,
//     because nothing was sent. The reserved lease is parked under the request id until the
//     request's fetch() claims it, or for PARK_MS, after which it is given back.
// The exchanges ask here first (admittedPool) and the pool after.
import type { AcquireOptions } from "../core/exchange.js";

/** How long a reserved place waits for its request (normally one round trip away). */
export const PARK_MS = 2000;

/** A lease that can be given back unused. */
export interface Parkable {
  readonly reused: boolean;
  cancel(): void;
}

type Entry = { kind: "parked"; lease: Parkable; server?: number; timer: ReturnType<typeof setTimeout> } | { kind: "optimistic" };

/** What a request brought: its parked lease (on server `server` of its upstream), or that it
 *  must not wait. */
export interface Brought {
  lease?: Parkable;
  server?: number;
  noWait?: boolean;
}

export class Admissions {
  private readonly entries = new Map<string, Entry>();

  /** Holds `lease` (on server `server`) for the request `id` until it is claimed or PARK_MS
   *  pass. */
  park(id: string, lease: Parkable, server?: number, ms = PARK_MS): void {
    this.drop(id);
    const timer = setTimeout(() => {
      if (this.entries.get(id)?.kind === "parked") this.entries.delete(id);
      lease.cancel();
    }, ms);
    this.entries.set(id, { kind: "parked", lease, server, timer });
  }

  /** The request `id` came without a reserved place: it must not queue. */
  optimistic(id: string): void {
    if (!this.entries.has(id)) this.entries.set(id, { kind: "optimistic" });
  }

  /** What the request `id` brought: its parked lease, or that it must not wait. */
  take(id: string): Brought {
    const e = this.entries.get(id);
    if (!e) return {};
    this.entries.delete(id);
    if (e.kind === "optimistic") return { noWait: true };
    clearTimeout(e.timer);
    return { lease: e.lease, server: e.server };
  }

  /** The request is over: a place it never claimed goes back. */
  drop(id: string): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    if (e.kind === "parked") {
      clearTimeout(e.timer);
      e.lease.cancel();
    }
  }
}

export interface LeaseSource<L> {
  acquire(o: AcquireOptions): L | Promise<L>;
  noteRetry(): void;
}

/** `pool`, but the first acquire of request `id` takes what it brought (admissions). */
export function admittedPool<L extends Parkable>(pool: LeaseSource<L>, admissions: Admissions | undefined, id: string): LeaseSource<L> {
  if (!admissions) return pool;
  let brought: Brought | undefined;
  return {
    acquire(o) {
      if (!brought) {
        brought = admissions.take(id);
        const lease = brought.lease;
        // A body that cannot be sent twice needs a new connection; a kept one will not do.
        if (lease && !(o.fresh && lease.reused)) {
          // The request's walk over the servers starts on the one the place is on.
          if (o.plan && brought.server !== undefined) {
            o.plan.take(brought.server);
            o.plan.connected(brought.server);
          }
          return lease as L;
        }
        lease?.cancel();
      }
      // Not waiting holds until something was sent: the stale-connection retry (o.retry)
      // follows a request that may have reached the origin, and must not be turned away.
      return pool.acquire(brought.noWait && !o.retry ? { ...o, noWait: true } : o);
    },
    noteRetry: () => pool.noteRetry(),
  };
}
