// FastCGI over a kept connection (src/pool): the records of the direct exchange (records.ts),
// but BEGIN_REQUEST carries FCGI_KEEP_CONN, the request id comes from the connection, and the
// response arrives as events the connection has already demultiplexed (several requests may
// share it). An Attempt is one try of the request on one leased place: it writes the records,
// is the sink the connection hands this request's records to, and knows whether its failure
// qualifies for the stale-connection retry.
//
// Stale connections. A kept connection may have been closed by the server while it sat idle
// (php-fpm ends a worker after pm.max_requests; an app server may time idle connections out),
// and the close can cross our next request on the wire. A request is therefore sent again,
// once, on a newly opened connection when ALL of these hold:
//   1. the connection was reused: it had completed at least one request and had nothing else
//      in flight when this request was put on it; or the request has an idempotent method
//      and no body (an origin going down closes the new connections it accepted but never
//      served, and RFC 9110 9.2.2 lets such a request be sent again; nginx, with one server,
//      would answer 502);
//   2. it failed at the transport level: a write error, or end of stream / reset on the read
//      side (not a timeout, not a malformed record);
//   3. no record of this request's response had arrived (not one byte of it);
//   4. the body can be sent again: there is none, or all of it is still held (REPLAY_LIMIT, or the
//      host's ReplayHold);
//   5. the client is still there.
// (A connection found closed before a byte of the request was written to it needs no rule.)
// This is nginx's rule for cached keepalive connections (ngx_http_upstream_next: an error on
// a cached connection does not count as a try). nginx stops at non-idempotent methods once
// the request was sent, unless `non_idempotent` is set; edgepass also retries those, because
// 1-3 describe a server closing a connection it was done with. The one case these signs cannot
// tell apart is an app that read the request and died before writing anything (a crashing
// worker); such a request runs twice. Anything else fails as it would on a direct connection.
// Pooled HTTP keep-alive connections follow this same rule (protocol/http/pooled.ts).
import { readTimeout } from "../../core/deadline.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { ConnectionProvider, ExchangeContext, ForwardRequest, ForwardResponse, LeasedRecords, RequestSink } from "../../core/exchange.js";
import { ReplayableBody, type BodyCursor } from "../../core/replay.js";
import { clientGone, clientStall, forwardPooled, resendOnFailure } from "../pooled-lease.js";
import { logSendFailed } from "../send-body.js";
import { preamble, stdin } from "./records.js";
import { joinSmall } from "../../core/bytes.js";
import type { Outgoing } from "../../core/transport.js";
import { fcgiAnswer, FcgiResponse, type AnswerSource } from "./response.js";
import type { Stall } from "../body-stream.js";

const EMPTY = new Uint8Array(0);
const STALE_CODES: ReadonlySet<string> = new Set([Codes.UPSTREAM_CLOSED_EARLY, Codes.UPSTREAM_IO]);

/** `request`: the request's records, built once for every try (records.ts). */
export function pooledFastcgi(req: ForwardRequest, ctx: ExchangeContext, pool: ConnectionProvider<LeasedRecords>, request: Uint8Array): Promise<ForwardResponse> {
  const body = req.body ? new ReplayableBody(req.body, ctx.replay) : null;
  return forwardPooled(pool, req, ctx, body, (lease: LeasedRecords) => new Attempt(lease, req, ctx, request, body));
}

/** One try of the request on one leased connection; also the sink its records go to. */
class Attempt implements RequestSink, AnswerSource {
  private res!: FcgiResponse;
  private id = 0;
  private failure: unknown = null;
  /** The failure came from the connection (closed, reset, write failed). */
  private connFailed = false;
  /** Not one byte of the request was written (the connection closed before it started). */
  private unsent = false;
  private received = 0;
  private waiter: (() => void) | null = null;
  private finished = false;
  private delivered = false;

  constructor(
    private readonly lease: LeasedRecords,
    private readonly req: ForwardRequest,
    private readonly ctx: ExchangeContext,
    private readonly request: Uint8Array,
    private readonly body: ReplayableBody | null,
  ) {}

  get buffered(): number {
    return this.res ? this.res.pendingBytes : 0;
  }

  event(ev: Parameters<RequestSink["event"]>[0]): void {
    this.received++;
    try {
      this.res.handle(ev);
    } catch (e) {
      this.failure ??= e;
      this.wake();
      throw e;
    }
    this.wake();
  }

  fail(err: GatewayError): void {
    if (this.failure === null) {
      this.failure = err;
      this.connFailed = STALE_CODES.has(err.code);
    }
    if (err.code === Codes.CLIENT_TOO_SLOW) {
      this.res.pending.length = 0;
      this.res.pendingBytes = 0;
    }
    this.wake();
  }

  /** The stale-connection rule, conditions 1-5 (see the top of this file). */
  staleRetryable(e: unknown): boolean {
    return (
      (this.unsent || resendOnFailure(this.lease.reused, this.req)) &&
      this.connFailed &&
      e === this.failure &&
      this.received === 0 &&
      (this.body === null || this.body.canReplay) &&
      !this.req.signal?.aborted
    );
  }

  async run(): Promise<ForwardResponse> {
    const { codec } = this.ctx;
    const origin = this.lease.origin;
    try {
      this.id = this.lease.start(this);
    } catch (e) {
      // The connection closed between the lease and now: nothing was sent on it at all.
      this.failure = e;
      this.connFailed = this.unsent = true;
      throw e;
    }
    this.res = new FcgiResponse(codec, null, this.id, this.ctx.settings.responseHeadLimit, this.req.log, origin);
    // The client went away (the request's signal, where the host provides one; otherwise the
    // response stream's cancel says so): stop waiting, tell the app.
    this.req.signal?.addEventListener("abort", this.onClientGone, { once: true });
    void this.send(this.body?.cursor() ?? null);
    return fcgiAnswer(this.res, this, this.req.method, this.req.log, origin);
  }

  // The attempt is its answer's source (AnswerSource): methods, not a closure each per request.
  step(): Promise<void> {
    return this.failure ? Promise.reject(this.failure) : this.wait();
  }

  release(clean: boolean): void {
    this.finish(clean);
  }

  /** Once the head went to the client this attempt is the last one. */
  headed(): void {
    this.delivered = true;
  }

  /** The connection stops reading while the client holds too much (backpressure). */
  taken(piece: Uint8Array): void {
    this.res.pendingBytes -= piece.byteLength;
    this.lease.resume();
  }

  get stall(): Stall {
    return clientStall(this.req.log, this.lease.origin);
  }

  private async send(cursor: BodyCursor | null): Promise<void> {
    const { codec } = this.ctx;
    const id = this.id;
    const frame = stdin(codec, id);
    // The last write is marked sent as it is queued, not when it completes: the app may
    // answer (and end the request) before the write's promise settles.
    const last = (bytes: Outgoing) => {
      const p = this.lease.write(bytes);
      this.lease.sentAll();
      return p;
    };
    try {
      const first = preamble(this.request, id, cursor !== null);
      if (!cursor) return await last(first);
      // What opens the request waits for the body's first piece and goes out with it, and
      // with the body's end when that piece completes it: a form post is one write, and
      // the app is woken once for it, not three times.
      let held: Uint8Array[] = [first];
      for (;;) {
        const piece = await cursor.next();
        // Replaced by a retry, or the app has answered / nobody wants the answer: records
        // for an ended request would be a protocol error on a multiplexed connection.
        if (piece === null || this.finished || this.res.ended || this.failure) return;
        if (piece === "end") break;
        // A large piece is not copied: its records are views of it, written as a list.
        held.push(...frame(piece));
        if (cursor.complete) break;
        await this.lease.write(joinSmall(held));
        held = [];
      }
      held.push(...frame(EMPTY));
      await last(joinSmall(held));
    } catch (e) {
      if (this.connFailed || this.finished) return;
      // The client's body failed (cut short, too long): the request cannot complete.
      logSendFailed(this.req.log, this.lease.origin, e);
      this.failure ??= e;
      this.lease.abandon(true);
      this.wake();
    }
  }

  /** The client went away: a wait for the head ends; a body being passed on stops. */
  private readonly onClientGone = () => {
    this.failure ??= clientGone();
    this.wake();
    if (this.delivered) this.finish(false);
  };

  /** The exchange is over for us. `clean`: the response was passed on whole (or has no
   *  body); otherwise the client went away or it failed, and the app is told to stop. */
  private finish(clean: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.lease.readDone();
    this.req.signal?.removeEventListener("abort", this.onClientGone);
    if (!this.res.ended) this.lease.abandon(!clean);
    // Once the response went to the client this attempt is the last one.
    if (this.delivered) this.body?.cancel();
  }

  private wake(): void {
    this.lease.readDone();
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Until the next record for this request or a failure, at most read_timeout (the
   *  connection's timer: no timer of its own). */
  private wait(): Promise<void> {
    this.lease.readWait(this.ctx.upstream.readTimeoutMs, this.readExpired);
    return new Promise<void>((r) => (this.waiter = r));
  }

  private readonly readExpired = (): void => {
    this.failure ??= readTimeout(this.lease.origin, this.ctx.upstream.readTimeoutMs);
    this.wake();
  };

}
