// Timeouts at every stage (SECURITY.md, "Reliability promises"): each await on the network
// races a timer, and the loser is cleaned up so no timer outlives the request.
import { Codes, GatewayError } from "./errors.js";

/** A timeout that is set: 0 and Infinity mean none. */
const isSet = (ms: number): boolean => ms > 0 && Number.isFinite(ms);

export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => GatewayError): Promise<T> {
  if (!isSet(ms)) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** `p`'s outcome, or undefined once `ms` passed first (a wait that may end without an answer);
 *  the timer never outlives the wait. */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

export const readTimeout = (origin: string, ms: number): GatewayError =>
  new GatewayError(Codes.UPSTREAM_READ_TIMEOUT, 504, `The origin ${origin} did not send anything for ${ms / 1000} s (read_timeout).`);

export const readFailed = (origin: string, e: unknown): GatewayError =>
  new GatewayError(Codes.UPSTREAM_IO, 502, `Reading from the origin ${origin} failed.`, String(e));

export const sendTimeout = (origin: string, ms: number): GatewayError =>
  new GatewayError(Codes.UPSTREAM_SEND_TIMEOUT, 504, `The origin ${origin} did not accept the request within ${ms / 1000} s (send_timeout).`);

export const sendFailed = (origin: string, e: unknown): GatewayError =>
  e instanceof GatewayError ? e : new GatewayError(Codes.UPSTREAM_IO, 502, `Writing to the origin ${origin} failed.`, String(e));

/** One timer for deadlines that come and go: set for the earliest, moved only when an earlier
 *  one comes, never cleared when a deadline is dropped (its owner, when it fires, finds what is
 *  due and sets it for the next). Setting and clearing a timer per deadline is a pair of
 *  native calls in workerd, and a timer object each in Node. Node: it never keeps the process
 *  alive (what waits is held by its own sockets). */
export class EarliestTimer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private at = Infinity;

  constructor(private readonly fire: () => void) {}

  /** Fires by `at` (a Date.now() time) at the latest. */
  by(at: number): void {
    if (at >= this.at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(this.run, Math.max(0, at - Date.now()));
    (this.timer as { unref?: () => void }).unref?.();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Infinity;
  }

  private readonly run = (): void => {
    this.timer = undefined;
    this.at = Infinity;
    this.fire();
  };
}

/** A timeout for a wait that starts again often (each read from an origin, each piece handed
 *  to a client, each wait for a client's next bytes): start() only notes the deadline, and one
 *  timer serves every wait. When it fires early it is set again for what is left; it is moved
 *  only for a wait that must end sooner than it fires; when no wait is on, it is not set
 *  again. A timer, a promise and closures made per read were about a quarter of the
 *  JavaScript heap a 4 MiB response allocated. */
export class Watchdog {
  private readonly timer = new EarliestTimer(() => this.fire());
  private until = 0;
  private on = false;

  constructor(
    private readonly ms: number,
    private readonly expired: () => void,
  ) {}

  /** A wait of `ms` (the watchdog's own length unless given) starts now. */
  start(ms = this.ms): void {
    this.until = Date.now() + ms;
    this.on = true;
    this.timer.by(this.until);
  }

  stop(): void {
    this.on = false;
  }

  /** Stops, and clears the timer (no timer is left behind the work it guarded). */
  dispose(): void {
    this.on = false;
    this.timer.clear();
  }

  private fire(): void {
    if (!this.on) return;
    if (this.until > Date.now()) return this.timer.by(this.until);
    this.on = false;
    this.expired();
  }
}

/** Many deadlines by key on one EarliestTimer, for keys without a bound (a hop's count) or
 *  that come back (an idle connection's). `due` hears each deadline that passed, already
 *  dropped. */
export class Deadlines<K, V> {
  private readonly entries = new Map<K, { at: number; value: V | undefined }>();
  private readonly timer = new EarliestTimer(() => this.fire());

  constructor(private readonly due: (key: K, value: V) => void) {}

  /** `key` is due at `at` (a Date.now() time), replacing any deadline it had. */
  set(key: K, at: number, value: V): void {
    const had = this.entries.get(key);
    if (had) {
      had.at = at;
      had.value = value;
    } else this.entries.set(key, { at, value });
    this.timer.by(at);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Drops `key`'s deadline but keeps its place, for a key that will have one again (a pooled
   *  connection leased and idle by turns): a Map whose only entry is deleted and added back
   *  for every request shrinks and grows its table each time, a runtime call and a new table
   *  that cost more than the rest of the deadline's work. `delete` once the key is gone. */
  disarm(key: K): void {
    const e = this.entries.get(key);
    if (e) {
      e.at = Infinity;
      e.value = undefined;
    }
  }

  /** Drops every deadline and the timer. */
  clear(): void {
    this.entries.clear();
    this.timer.clear();
  }

  private fire(): void {
    const now = Date.now();
    let next = Infinity;
    for (const [key, e] of this.entries) {
      if (e.at > now) next = Math.min(next, e.at);
      else {
        this.entries.delete(key);
        this.due(key, e.value as V);
      }
    }
    this.timer.by(next);
  }
}

type Lane = "connect" | "send" | "read";

/** One timer for a connection's connect_timeout, send_timeout and read_timeout, as Deadlines:
 *  set once, when the connect starts, and cleared when the connection closes; a send or a read
 *  that starts later only notes its deadline. In workerd each timer set and cleared is a pair
 *  of native calls: a timer for the connect, one per write and one for the reads were three
 *  pairs for every small request (about 2% of workerd's CPU for it). A pooled connection keys
 *  its requests' read timeouts by their leases the same way. A wait whose timeout is not set
 *  (0 or Infinity) is not timed. */
export class ConnectionTimers<K = Lane> {
  // A connection has a few waits at a time (its lanes, or the reads of the requests on it):
  // parallel arrays with a count, not a Map, whose entry came and went with every request (each
  // delete shrank its table and the next add grew it again), nor push and pop, which give an
  // array's store back when it empties. A slot past the count holds nothing.
  private readonly keys: Array<K | undefined> = [];
  private readonly ats: number[] = [];
  private readonly fns: Array<(() => void) | undefined> = [];
  private count = 0;
  private readonly timer = new EarliestTimer(() => this.fire());

  /** `p`, or `timedOut()`'s error once `ms` passed first. */
  race<T>(lane: K, p: Promise<T>, ms: number, timedOut: () => GatewayError): Promise<T> {
    if (!isSet(ms)) return p;
    return new Promise<T>((resolve, reject) => {
      this.start(lane, ms, () => reject(timedOut()));
      p.then(
        (v) => (this.stop(lane), resolve(v)),
        (e) => (this.stop(lane), reject(e)),
      );
    });
  }

  /** A wait of `ms` on `lane` starts now; `expired` runs if it is not stopped by then. */
  start(lane: K, ms: number, expired: () => void): void {
    if (!isSet(ms)) return;
    const at = Date.now() + ms;
    let i = this.indexOf(lane);
    if (i < 0) {
      i = this.count++;
      if (i === this.keys.length) {
        this.keys.push(lane);
        this.ats.push(at);
        this.fns.push(expired);
      }
      this.keys[i] = lane;
    }
    this.ats[i] = at;
    this.fns[i] = expired;
    this.timer.by(at);
  }

  stop(lane: K): void {
    const i = this.indexOf(lane);
    if (i >= 0) this.remove(i);
  }

  /** Drops every deadline and clears the timer: no timer outlives the connection. */
  dispose(): void {
    while (this.count > 0) this.remove(this.count - 1);
    this.timer.clear();
  }

  private indexOf(lane: K): number {
    for (let i = 0; i < this.count; i++) if (this.keys[i] === lane) return i;
    return -1;
  }

  /** The last wait takes slot `i`'s place. */
  private remove(i: number): void {
    const last = --this.count;
    this.keys[i] = this.keys[last];
    this.ats[i] = this.ats[last];
    this.fns[i] = this.fns[last];
    this.keys[last] = undefined;
    this.fns[last] = undefined;
  }

  /** Runs the waits that are due (each dropped first), and sets the timer for the next. */
  private fire(): void {
    const now = Date.now();
    for (let i = 0; i < this.count; ) {
      if (this.ats[i] > now) {
        i++;
        continue;
      }
      const expired = this.fns[i]!;
      this.remove(i);
      expired();
    }
    let next = Infinity;
    for (let i = 0; i < this.count; i++) next = Math.min(next, this.ats[i]);
    this.timer.by(next);
  }
}
