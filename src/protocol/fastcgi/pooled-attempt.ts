// One try of a pooled FastCGI request on one leased connection (see pooled-exchange.ts): it
// writes the records, is the sink the connection hands this request's records to, and turns
// them into the head and a pull-driven body stream. It also knows whether its failure
// qualifies for the stale-connection retry.
import { FcgiFlags, FcgiRole, FcgiType } from "../../codec/types.js";
import { withTimeout } from "../../core/deadline.js";
import { Codes, GatewayError, isGatewayError } from "../../core/errors.js";
import type { ExchangeContext, ForwardRequest, ForwardResponse } from "../../core/exchange.js";
import type { RequestSink } from "../../pool/connection.js";
import type { Lease } from "../../pool/lease.js";
import type { BodyCursor, ReplayableBody } from "../../pool/replay.js";
import { clientGone, CLIENT_STALL_MS } from "../pooled-lease.js";
import { concatBytes } from "../../core/bytes.js";
import { clientHead, FcgiResponse } from "./response.js";

const EMPTY = new Uint8Array(0);
const STALE_CODES: ReadonlySet<string> = new Set([Codes.UPSTREAM_CLOSED_EARLY, Codes.UPSTREAM_IO]);



/** One try of the request on one leased connection; also the sink its records go to. */
export class Attempt implements RequestSink {
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
    private readonly lease: Lease,
    private readonly req: ForwardRequest,
    private readonly ctx: ExchangeContext,
    private readonly params: Uint8Array,
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

  /** The stale-connection rule, conditions 1-5 (pooled-exchange.ts). */
  staleRetryable(e: unknown): boolean {
    return (
      (this.lease.reused || this.unsent) &&
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
    try {
      while (!this.res.head) {
        if (this.failure) throw this.failure;
        if (this.res.ended) throw this.res.endedWithoutHead();
        await this.wait();
      }
    } catch (e) {
      this.finish(false);
      throw e;
    }
    const head = this.res.head;
    let headers: Array<[string, string]>;
    let noBody: boolean;
    try {
      ({ headers, noBody } = clientHead(head, this.req.method, origin));
    } catch (e) {
      this.finish(false);
      throw e;
    }
    this.delivered = true;
    // No body to pass on: let the app finish (what it still sends is dropped) without an
    // abort, so the connection can be kept.
    if (noBody) this.finish(true);
    return { status: head.status, statusText: head.reason, headers, body: noBody ? null : this.bodyStream() };
  }

  private async send(cursor: BodyCursor | null): Promise<void> {
    const { codec } = this.ctx;
    const id = this.id;
    // The last write is marked sent as it is queued, not when it completes: the app may
    // answer (and end the request) before the write's promise settles.
    const last = (bytes: Uint8Array) => {
      const p = this.lease.write(bytes);
      this.lease.sentAll();
      return p;
    };
    try {
      const preamble = concatBytes([
        codec.fcgiBeginRequest(id, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN),
        codec.fcgiParams(id, this.params),
        cursor ? EMPTY : codec.fcgiStream(FcgiType.STDIN, id, EMPTY),
      ]);
      if (!cursor) return await last(preamble);
      await this.lease.write(preamble);
      for (;;) {
        const piece = await cursor.next();
        // Replaced by a retry, or the app has answered / nobody wants the answer: records
        // for an ended request would be a protocol error on a multiplexed connection.
        if (piece === null || this.finished || this.res.ended || this.failure) return;
        if (piece === "end") break;
        await this.lease.write(codec.fcgiStream(FcgiType.STDIN, id, piece));
      }
      await last(codec.fcgiStream(FcgiType.STDIN, id, EMPTY));
    } catch (e) {
      if (this.connFailed || this.finished) return;
      // The client's body failed (cut short, too long): the request cannot complete.
      this.req.log.log("warn", "upstream_send_failed", { origin: this.lease.origin, error: isGatewayError(e) ? e.code : String(e) });
      this.failure ??= e;
      this.lease.abandon(true);
      this.wake();
    }
  }

  private bodyStream(): ReadableStream<Uint8Array> {
    const res = this.res;
    let stall: ReturnType<typeof setTimeout> | undefined;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          clearTimeout(stall);
          try {
            for (;;) {
              const next = res.pending.shift();
              if (next) {
                res.pendingBytes -= next.byteLength;
                this.lease.resume();
                controller.enqueue(next);
                stall = setTimeout(() => {
                  if (this.finished || res.ended) return;
                  this.req.log.log("warn", "client_stalled", { origin: this.lease.origin, after_ms: CLIENT_STALL_MS });
                  this.finish(false);
                }, CLIENT_STALL_MS);
                return;
              }
              if (this.failure) throw this.failure;
              if (res.ended) {
                controller.close();
                this.finish(true);
                return;
              }
              await this.wait();
            }
          } catch (e) {
            this.req.log.log("error", "response_cut", {
              origin: this.lease.origin,
              code: isGatewayError(e) ? e.code : "INTERNAL",
              detail: isGatewayError(e) ? (e.detail ?? e.message) : String(e),
            });
            controller.error(e);
            this.finish(false);
          }
        },
        cancel: () => {
          clearTimeout(stall);
          this.finish(false);
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** The exchange is over for us. `clean`: the response was passed on whole (or has no
   *  body); otherwise the client went away or it failed, and the app is told to stop. */
  private readonly onClientGone = () => {
    this.failure ??= clientGone();
    this.wake();
    if (this.delivered) this.finish(false);
  };

  private finish(clean: boolean): void {
    if (this.finished) return;
    this.finished = true;
    this.req.signal?.removeEventListener("abort", this.onClientGone);
    if (!this.res.ended) this.lease.abandon(!clean);
    // Once the response went to the client this attempt is the last one.
    if (this.delivered) this.body?.cancel();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Until the next record for this request or a failure, at most read_timeout. */
  private wait(): Promise<void> {
    const ms = this.ctx.upstream.readTimeoutMs;
    return withTimeout(new Promise<void>((r) => (this.waiter = r)), ms, () => {
      const err = new GatewayError(
        Codes.UPSTREAM_READ_TIMEOUT,
        504,
        `The origin ${this.lease.origin} did not send anything for ${ms / 1000} s (read_timeout).`,
      );
      this.failure ??= err;
      return err;
    });
  }
}
