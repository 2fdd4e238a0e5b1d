// A request body that can be sent a second time, for the one retry a stale kept connection
// allows. What has been read from the client is held up to REPLAY_LIMIT (or the body's whole
// length, where the host's ReplayHold has room); past it nothing is held and the body can no
// longer be replayed (SECURITY.md: a streamed body is never
// replayed). The client's stream is read by one shared pull, so a superseded sender and its
// replacement never read it twice or out of order.
import { Codes, GatewayError } from "./errors.js";
import { readBody } from "./body.js";
import { drain } from "./drain.js";
import type { RequestBody } from "./exchange.js";
import type { Pieces } from "./pieces.js";

/** The methods nginx does not count as idempotent (RFC 9110 9.2.2; LOCK is WebDAV's): a try
 *  of one that may have reached the app never moves on to another server, nor to a new
 *  connection after a new one failed (only the stale kept-connection rule resends them). */
const NON_IDEMPOTENT: ReadonlySet<string> = new Set(["POST", "PATCH", "LOCK"]);

export function idempotent(method: string): boolean {
  return !NON_IDEMPOTENT.has(method);
}

/** Bodies up to this size are always held for a retry. */
export const REPLAY_LIMIT = 64 * 1024;

/** Room a host gives to hold longer bodies (up to `limit` each) for a retry, within a total
 *  for all its requests: a body held can ride a kept connection and move on to another server
 *  as a short one does, where one not held goes on a new connection. `edgepass serve` has the
 *  memory for it; a Worker holds REPLAY_LIMIT at most. */
export interface ReplayHold {
  readonly limit: number;
  /** Room for `n` more bytes held, or false when the total would pass the budget. */
  take(n: number): boolean;
  give(n: number): void;
}

/** The longest body a ReplayableBody may hold under `hold`. */
export function holdable(hold: ReplayHold | undefined): number {
  return Math.max(REPLAY_LIMIT, hold?.limit ?? 0);
}

export function replayHold(limit: number, budget: number): ReplayHold {
  let held = 0;
  return {
    limit,
    take(n) {
      if (held + n > budget) return false;
      held += n;
      return true;
    },
    give(n) {
      held -= n;
    },
  };
}

export interface BodyCursor {
  /** The next piece, "end" after the last, or null when a newer cursor replaced this one. */
  next(): Promise<Uint8Array | "end" | null>;
  /** Every byte the body declared (its Content-Length) has been handed out: the next call
   *  could only say "end", so a sender may end the body with the piece it holds. */
  readonly complete: boolean;
}

export class ReplayableBody {
  /** Pieces read from the client, from index `base` on (earlier ones were let go). */
  private pieces: Uint8Array[] = [];
  private base = 0;
  private total = 0;
  private done = false;
  private reading: Promise<void> | null = null;
  /** The client's body; null once the request is over and nothing more is read from it. */
  private reader: Pieces | null;
  /** Its declared length (null: unknown). */
  private readonly length: number | null;
  private generation = 0;
  private draining: Promise<void> | null = null;
  /** Bytes held at most: REPLAY_LIMIT, the body's length when the host's hold took room for
   *  it, -1 once released (nothing more is held). */
  private limit = REPLAY_LIMIT;
  /** The room taken from the host's hold, given back by release(). */
  private taken = 0;

  constructor(
    body: RequestBody,
    private readonly hold?: ReplayHold,
  ) {
    // Once nothing is held for a resend (past the limit, every piece handed on and written by
    // its sender before it asks for the next), reads go into the memory of the last one.
    this.reader = readBody(body, () => this.pieces.length === 0 && this.total > this.limit);
    const n = (this.length = body.length);
    if (hold && n !== null && n > REPLAY_LIMIT && n <= hold.limit && hold.take(n)) this.limit = this.taken = n;
  }

  /** Will the whole body be held, so that it can be sent a second time if need be? */
  get mayReplay(): boolean {
    return this.length !== null && this.length <= this.limit;
  }

  /** Can a new cursor start from the first byte? */
  get canReplay(): boolean {
    return this.base === 0 && this.total <= this.limit;
  }

  /** No resend will be asked for (the answer began, or the request is over): what is held is
   *  let go as it is sent, and the host's room given back. */
  release(): void {
    this.limit = -1;
    if (this.taken) this.hold!.give(this.taken);
    this.taken = 0;
  }

  /** Starts sending from the first byte; any earlier cursor stops at its next call. */
  cursor(): BodyCursor {
    if (this.generation > 0 && !this.canReplay) throw new Error("ReplayableBody: the body was not held, it cannot be sent again");
    const gen = ++this.generation;
    let i = 0;
    let sent = 0;
    const declared = this.length;
    return {
      get complete() {
        return declared !== null && sent === declared;
      },
      next: async () => {
        for (;;) {
          if (gen !== this.generation) return null;
          if (i < this.base + this.pieces.length) {
            const piece = this.pieces[i - this.base];
            i++;
            // Past the limit nothing more will be replayed: let go of what this (the newest)
            // cursor has sent.
            if (this.total > this.limit) {
              this.pieces.splice(0, i - this.base);
              this.base = i;
            }
            sent += piece.byteLength;
            if (declared !== null && sent > declared) {
              throw new GatewayError(Codes.REQUEST_INVALID, 400, "The request body is longer than its Content-Length.");
            }
            return piece;
          }
          if (this.done) {
            if (declared !== null && sent !== declared) {
              throw new GatewayError(Codes.BODY_READ_FAILED, 400, "The request body is shorter than its Content-Length.");
            }
            return "end";
          }
          await this.pull();
        }
      },
    };
  }

  /** The request is over: what the client still sends is read and dropped, within bounds
   *  (core/drain.ts), so its connection can carry its next request. */
  cancel(): void {
    this.release();
    this.generation++;
    this.pieces = [];
    if (this.draining) return;
    this.draining = this.done || !this.reader ? Promise.resolve() : drain(this.reader);
    // The client's body is let go here as when it is done (see pull): a finished request
    // reachable through this buffer was copied and promoted by every young collection until
    // a full one saw it was dead, a tenth of a form post's CPU (README, the serve bench).
    this.reader = null;
  }

  /** Resolves once cancel()'s drain is over (answer the client only then: a body left unread
   *  when the response ends costs the client its connection). */
  settled(): Promise<void> {
    return this.draining ?? Promise.resolve();
  }

  private pull(): Promise<void> {
    this.reading ??= (async () => {
      let got: Uint8Array[] | null;
      try {
        if (!this.reader) throw new Error("its request is over");
        got = await this.reader.next();
      } catch (e) {
        throw new GatewayError(Codes.BODY_READ_FAILED, 400, "The client stopped sending the request body.", String(e));
      } finally {
        this.reading = null;
      }
      if (got === null) this.done = true;
      else {
        for (const p of got) {
          this.pieces.push(p);
          this.total += p.byteLength;
        }
        // Every declared byte is here: the body is over (its end need not be read).
        if (this.length !== null && this.total >= this.length) this.done = true;
      }
      // Nothing more is read from the client: its body (and through it the request's state)
      // is let go now, not whenever the last thing holding this buffer goes.
      if (this.done) this.reader = null;
    })();
    return this.reading;
  }
}
