// Requests waiting for a connection, first come first served, each with its own deadline.
// A waiter leaves the queue when it is served, when its deadline passes, or when its client
// goes away, whichever is first; nothing is ever resolved twice.
import type { Plan } from "../balance/plan.js";
import type { Logger } from "../core/log.js";
import type { ClientSignal } from "../core/exchange.js";
import { Deadlines } from "../core/deadline.js";

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
  /** The error it gets when its time is up. */
  readonly onTimeout: () => Error;
  reject(e: unknown): void;
}

export class WaitQueue<T> {
  private items: Entry<T>[] = [];
  /** Every waiter's deadline on one timer (Deadlines): a waiter that leaves clears nothing. */
  private readonly deadlines = new Deadlines<Entry<T>, null>((e) => {
    if (this.remove(e)) e.reject(e.onTimeout());
  });

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
      const entry: Entry<T> = { fresh: o.fresh, plan: o.plan, log: o.log, since, onTimeout: o.onTimeout, resolve, reject };
      // Left in place once the waiter is served: a client leaving then finds it gone.
      o.signal?.addEventListener(
        "abort",
        () => {
          if (this.remove(entry)) reject(o.signal?.reason ?? new Error("aborted"));
        },
        { once: true },
      );
      if (o.front) this.items.unshift(entry);
      else this.items.push(entry);
      this.deadlines.set(entry, since + o.timeoutMs, null);
    });
  }

  peek(): Waiter<T> | undefined {
    return this.items[0];
  }

  /** Takes the first waiter out; the caller resolves it. */
  shift(): Waiter<T> | undefined {
    const e = this.items.shift();
    if (e) this.deadlines.delete(e);
    return e;
  }

  /** Fails every waiter (the pool is shutting down). */
  rejectAll(e: unknown): void {
    const items = this.items;
    this.items = [];
    this.deadlines.clear();
    for (const w of items) w.reject(e);
  }

  private remove(entry: Entry<T>): boolean {
    const i = this.items.indexOf(entry);
    if (i < 0) return false;
    this.items.splice(i, 1);
    this.deadlines.delete(entry);
    return true;
  }
}
