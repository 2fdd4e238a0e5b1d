// Requests waiting for a connection, first come first served, each with its own deadline.
// A waiter leaves the queue when it is served, when its deadline passes, or when its client
// goes away, whichever is first; nothing is ever resolved twice.
import type { Plan } from "../balance/plan.js";
import type { Logger } from "../core/log.js";
import type { ClientSignal } from "../core/exchange.js";
import { EarliestTimer } from "../core/deadline.js";

export interface WaitOptions {
  timeoutMs: number;
  onTimeout: () => Error;
  signal?: ClientSignal;
  /** Retries go first: they were admitted before anyone now waiting. */
  front?: boolean;
  /** Passed back to the pool: this waiter needs a newly opened connection. */
  fresh: boolean;
  /** Passed back to the pool: the servers this waiter may go to. */
  plan?: Plan;
  /** Passed back to the pool: the waiter's request logger. */
  log?: Logger;
}

export interface Waiter<T> {
  readonly fresh: boolean;
  readonly plan?: Plan;
  readonly log?: Logger;
  readonly since: number;
  resolve(v: T | Promise<T>): void;
}

interface Entry<T> extends Waiter<T> {
  /** When its time is up (Date.now()), and the error it gets then. */
  readonly until: number;
  readonly onTimeout: () => Error;
  reject(e: unknown): void;
}

const ONCE = { once: true } as const;

export class WaitQueue<T> {
  private items: Entry<T>[] = [];
  /** Every waiter's deadline on one timer, set for the earliest: a waiter that leaves clears
   *  nothing, and the timer, when it finds none due, is set for the next. The deadlines are
   *  the entries' own, not a Map's, whose entry per waiter was added and dropped again. */
  private readonly timer = new EarliestTimer(() => this.fire());

  get length(): number {
    return this.items.length;
  }

  /** Milliseconds the oldest waiter has waited (0 when none). */
  oldestWaitMs(now = Date.now()): number {
    return this.items.length ? now - Math.min(...this.items.map((e) => e.since)) : 0;
  }

  wait(o: WaitOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (o.signal?.aborted) return reject(o.signal.reason ?? new Error("aborted"));
      const since = Date.now();
      const entry: Entry<T> = { fresh: o.fresh, plan: o.plan, log: o.log, since, until: since + o.timeoutMs, onTimeout: o.onTimeout, resolve, reject };
      // Left in place once the waiter is served: a client leaving then finds it gone.
      o.signal?.addEventListener(
        "abort",
        () => {
          if (this.remove(entry)) reject(o.signal?.reason ?? new Error("aborted"));
        },
        ONCE,
      );
      if (o.front) this.items.unshift(entry);
      else this.items.push(entry);
      this.timer.by(entry.until);
    });
  }

  peek(): Waiter<T> | undefined {
    return this.items[0];
  }

  /** Takes the first waiter out; the caller resolves it. */
  shift(): Waiter<T> | undefined {
    return this.items.shift();
  }

  /** Fails every waiter (the pool is shutting down). */
  rejectAll(e: unknown): void {
    const items = this.items;
    this.items = [];
    this.timer.clear();
    for (const w of items) w.reject(e);
  }

  private remove(entry: Entry<T>): boolean {
    const i = this.items.indexOf(entry);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /** Fails the waiters whose time is up, then sets the timer for the next. */
  private fire(): void {
    const now = Date.now();
    const due: Entry<T>[] = [];
    const waiting: Entry<T>[] = [];
    let next = Infinity;
    for (const e of this.items) {
      if (e.until <= now) due.push(e);
      else (waiting.push(e), (next = Math.min(next, e.until)));
    }
    if (due.length) this.items = waiting;
    this.timer.by(next);
    for (const e of due) e.reject(e.onTimeout());
  }
}
