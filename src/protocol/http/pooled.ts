// HTTP/1.1 over kept connections: what viaSocket (exchange.ts) does when the context carries
// the upstream's keep-alive pool (ctx.connections, src/pool, held by the host). The request
// head says Connection: keep-alive; the response reader (stream-response.ts) says whether the
// connection may carry another request; the request must have been sent whole too, else what
// is left of it would reach the next request.
//
// Stale connections: the rule of pooled FastCGI (fastcgi/pooled.ts, documented there
// and in the README), unchanged. A request is sent once more, on a newly opened connection,
// when the connection was reused (it had completed a request and sat idle) or the request is
// idempotent and has no body (resendOnFailure), it failed at the transport level (a write
// error, or end of stream / reset while reading; not a timeout, not a malformed response), not
// one byte of the response had arrived, the body can be sent again (none, or all of it still
// held: REPLAY_LIMIT or the host's ReplayHold), and the client is still there.
import { Codes, isGatewayError } from "../../core/errors.js";
import type { ConnectionProvider, ExchangeContext, ForwardRequest, ForwardResponse, LeasedStream, Reuse } from "../../core/exchange.js";
import { ReplayableBody, type BodyCursor } from "../../core/replay.js";
import { hasBytes, logSendFailed, type Frame } from "../send-body.js";
import { clientStall, forwardPooled, resendOnFailure } from "../pooled-lease.js";
import { readStreamResponse } from "../stream-response.js";

const STALE_CODES: ReadonlySet<string> = new Set([Codes.UPSTREAM_CLOSED_EARLY, Codes.UPSTREAM_IO]);
const EMPTY = new Uint8Array(0);

/** A response that ended before the request was all sent: how long the rest may take before
 *  the connection is closed instead of kept. */
export const SEND_GRACE_MS = 1000;

export async function pooledHttp(
  req: ForwardRequest,
  ctx: ExchangeContext,
  pool: ConnectionProvider<LeasedStream>,
  head: Uint8Array,
  frame: Frame,
): Promise<ForwardResponse> {
  const body = req.body ? new ReplayableBody(req.body, ctx.replay) : null;
  return forwardPooled(pool, req, ctx, body, (lease: LeasedStream) => new Attempt(lease, req, ctx, head, frame, body));
}

/** One try on one leased connection. */
class Attempt {
  private received = false;
  private sendError: unknown = null;
  private sentAll = false;
  private released = false;
  private delivered = false;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly lease: LeasedStream,
    private readonly req: ForwardRequest,
    private readonly ctx: ExchangeContext,
    private readonly head: Uint8Array,
    private readonly frame: Frame,
    private readonly body: ReplayableBody | null,
  ) {}

  /** The stale-connection rule (see the top of this file). */
  staleRetryable(e: unknown): boolean {
    const transport = (x: unknown) => isGatewayError(x) && STALE_CODES.has(x.code);
    return (
      resendOnFailure(this.lease.reused, this.req) &&
      transport(e) &&
      (this.sendError === null || transport(this.sendError)) &&
      !this.received &&
      (this.body === null || this.body.canReplay) &&
      !this.req.signal?.aborted
    );
  }

  async run(): Promise<ForwardResponse> {
    this.sending = this.send(this.body?.cursor() ?? null);
    const res = await readStreamResponse({
      io: { read: (atLeast) => this.read(atLeast), settle: this.lease.settle },
      codec: this.ctx.codec,
      origin: this.lease.origin,
      mode: "http",
      method: this.req.method,
      headLimit: this.ctx.settings.responseHeadLimit,
      log: this.req.log,
      release: (clean, reuse) => this.release(clean, reuse),
      sendError: () => this.sendError,
      stall: clientStall(this.req.log, this.lease.origin),
    });
    this.delivered = true;
    return res;
  }

  private async read(atLeast?: number): Promise<Uint8Array | null> {
    const chunk = await this.lease.read(atLeast);
    if (chunk && chunk.byteLength) this.received = true;
    return chunk;
  }

  private async send(cursor: BodyCursor | null): Promise<void> {
    try {
      if (!cursor) {
        // Marked sent as it is queued: the answer may end before the write's promise settles.
        const p = this.lease.write(this.head);
        this.sentAll = true;
        return await p;
      }
      await this.lease.write(this.head);
      for (;;) {
        const piece = await cursor.next();
        // Replaced by a retry, or the connection was let go.
        if (piece === null) return;
        if (piece === "end") break;
        if (piece.byteLength) await this.lease.write(this.frame(piece));
      }
      const end = this.frame(EMPTY);
      const p = hasBytes(end) ? this.lease.write(end) : Promise.resolve();
      this.sentAll = true;
      await p;
    } catch (e) {
      this.sendError ??= e;
      if (this.released) return;
      logSendFailed(this.req.log, this.lease.origin, e);
      // The request cannot complete on this connection (its body failed, or the connection
      // did): close it, so the response reader sees the end.
      this.lease.release(false, null);
    }
  }

  private release(clean: boolean, reuse: Reuse | null): void {
    if (this.released) return;
    this.released = true;
    // Once the head has been read this try is the last one: what the client still sends
    // has nowhere to go.
    const final = clean || this.delivered;
    if (!clean || !reuse || this.sentAll) {
      this.lease.release(clean, clean && this.sentAll ? reuse : null);
      if (final && !this.sentAll) this.body?.cancel();
      return;
    }
    // The answer ended before the request was all sent (the app answered early): keep the
    // connection only if the rest goes out promptly.
    const timer = setTimeout(() => {
      this.lease.release(true, null);
      this.body?.cancel();
    }, SEND_GRACE_MS);
    void this.sending.then(() => {
      clearTimeout(timer);
      this.lease.release(true, this.sentAll ? reuse : null);
    });
  }
}
