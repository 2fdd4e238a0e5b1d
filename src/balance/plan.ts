// One request's walk over the servers of its upstream: which servers it may still try, in
// what order, within next_upstream_tries and next_upstream_timeout. Connect failures move on
// inside a try (protocol/connect.ts, the pools); failures after the request was sent move on
// in next-upstream.ts, only when that is safe.
import type { LoadOf, Peers } from "./peers.js";

const NONE: readonly number[] = Object.freeze([]);
const FIRST: readonly number[] = Object.freeze([0]);

export class Plan {
  private readonly tried = new Set<number>();
  private readonly started: number;
  private tries = 0;
  /** The server the current try got a connection to (undefined while connecting). */
  current: number | undefined;

  constructor(
    readonly peers: Peers,
    readonly key: string | null,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  /** Servers this request has not tried yet, best first; empty once the budget is spent. */
  candidates(load?: LoadOf): readonly number[] {
    if (!this.mayTryAnother()) return NONE;
    // One server (most upstreams): no ranking to do, and no arrays made per request.
    if (this.peers.servers.length === 1) return this.tried.has(0) ? NONE : FIRST;
    return this.peers.order(this.key, load).filter((i) => !this.tried.has(i));
  }

  /** Is another server allowed (tries and time left), whether or not one is available? */
  mayTryAnother(): boolean {
    const b = this.peers.upstream.balance;
    const max = b.tries === 0 ? this.peers.servers.length : b.tries;
    if (this.tries >= max) return false;
    return this.tries === 0 || b.timeoutMs === 0 || this.now() - this.started < b.timeoutMs;
  }

  /** Is there an untried server the budget allows? */
  hasNext(): boolean {
    return this.candidates().length > 0;
  }

  /** The request is about to be tried on server i (a connect counts as a try). */
  take(i: number): void {
    this.tried.add(i);
    this.tries++;
    this.current = undefined;
    this.peers.states[i].picked++;
  }

  /** The try on server i has its connection. */
  connected(i: number): void {
    this.current = i;
  }

  /** A kept connection turned out stale: the retry on a new one is not a try of its own
   *  (nginx: an error on a cached connection does not count), so i may be taken again. */
  again(i: number): void {
    if (this.tried.delete(i)) this.tries--;
    this.peers.states[i].picked--;
  }

  /** How many servers were tried (the first included). */
  get count(): number {
    return this.tries;
  }
}
