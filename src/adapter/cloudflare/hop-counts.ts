// What a pool object handed the Worker of each streamed body, for the Worker's request line
// (bytes_out). The Worker relays such a body to the client through a native pipe, which moves
// the bytes without calling into JavaScript and so counts nothing; when that pipe did not end
// at a length the Worker knew, it asks here (PoolHost.sent).
import { Deadlines, within } from "../../core/deadline.js";
import type { BodyMeter } from "../../core/respond.js";

/** A count the Worker has not asked for is dropped after this long. */
const KEEP_MS = 60_000;
/** How long an answer waits for a body still being written (the client left, and the cut
 *  has yet to reach this object's writer). */
const SETTLE_MS = 2_000;

interface Count {
  n: number;
  ended: boolean;
  /** Resolves when the body ended. */
  done: Promise<void>;
}

export class HopCounts {
  private readonly open = new Map<string, Count>();
  private readonly expiry = new Deadlines<string, Count>((key, c) => this.forget(key, c));

  /** Counts the body handed on under `key`. One that ends whole at a known `length` is
   *  forgotten at once: the Worker knows its count. */
  meter(key: string, length: number | null): BodyMeter {
    let ended!: () => void;
    const c: Count = { n: 0, ended: false, done: new Promise<void>((r) => (ended = r)) };
    this.open.set(key, c);
    return {
      count: (n) => {
        c.n += n;
      },
      end: () => {
        if (c.ended) return;
        c.ended = true;
        ended();
        if (length !== null && c.n === length) this.forget(key, c);
        else this.expiry.set(key, Date.now() + KEEP_MS, c);
      },
    };
  }

  /** The bytes handed on under `key` once that body ended (or SETTLE_MS passed), then
   *  forgotten; null when none is known (it ended whole at its length, or long ago). */
  async take(key: string): Promise<number | null> {
    const c = this.open.get(key);
    if (!c) return null;
    if (!c.ended) await within(c.done, SETTLE_MS);
    this.forget(key, c);
    return c.n;
  }

  private forget(key: string, c: Count): void {
    if (this.open.get(key) !== c) return;
    this.open.delete(key);
    this.expiry.delete(key);
  }
}
