// A request over a pooled connection, for any protocol: take a connection (a connect failure
// moves on to the next server: nothing reached any origin yet, so this is safe for every
// method; a client that went away while queued ends it as CLIENT_GONE), try the request on
// it, and once — on a newly opened connection — again when the try failed the way a stale
// kept connection (or an origin going down) fails (each protocol's Attempt decides, with
// resendOnFailure: see README, "Stale connections").
import { Codes, GatewayError, isGatewayError } from "../core/errors.js";
import { noteConnection, since } from "../core/access-log.js";
import type { AcquireOptions, ExchangeContext, ForwardRequest, ForwardResponse } from "../core/exchange.js";
import type { Logger } from "../core/log.js";
import { idempotent, type ReplayableBody } from "../core/replay.js";
import type { Stall } from "./body-stream.js";

const CONNECT_CODES: ReadonlySet<string> = new Set([Codes.UPSTREAM_CONNECT_FAILED, Codes.UPSTREAM_CONNECT_TIMEOUT]);

/** A client that takes nothing of the response for this long is treated as gone (nginx's
 *  send_timeout default). Besides slow clients this catches a disconnect the platform did not
 *  report: workerd sometimes leaves a Durable Object's response stream neither read nor
 *  cancelled after its client left, which would otherwise pin the connection (and, on a
 *  one-request-at-a-time server like php-fpm, an app worker) for as long as the app runs. */
export const CLIENT_STALL_MS = 60_000;

export const clientGone = (): GatewayError => new GatewayError(Codes.CLIENT_GONE, 499, "The client went away before the response.");

/** The stall guard of a response body on a kept connection (CLIENT_STALL_MS). */
export function clientStall(log: Logger, origin: string): Stall {
  return { ms: CLIENT_STALL_MS, stalled: () => log.log("warn", "client_stalled", { origin, after_ms: CLIENT_STALL_MS }) };
}

/** Counts connect failures across the calls for one request (one per server at most). */
export interface LeaseState {
  /** Only a newly opened connection will do. */
  fresh: boolean;
  /** This is the stale-connection retry (it goes ahead of the queue). */
  retry: boolean;
  connectFailures: number;
}

type Acquire<L> = (o: AcquireOptions) => L | Promise<L>;

/** A lease for the request: the pool's free connection at once (no promise), else a wait,
 *  with a connect failure moving on to the next server while the plan allows. */
export function leaseFor<L>(acquire: Acquire<L>, req: ForwardRequest, ctx: ExchangeContext, state: LeaseState, body: ReplayableBody | null): L | Promise<L> {
  let got: L | Promise<L>;
  try {
    got = acquire({ signal: req.signal, fresh: state.fresh, retry: state.retry, plan: ctx.plan, log: req.log });
  } catch (e) {
    return leaseAfter(e, acquire, req, ctx, state, body);
  }
  return got instanceof Promise ? got.catch((e: unknown) => leaseAfter(e, acquire, req, ctx, state, body)) : got;
}

/** After a failed acquire: another try, or the failure the request ends with. */
async function leaseAfter<L>(e: unknown, acquire: Acquire<L>, req: ForwardRequest, ctx: ExchangeContext, state: LeaseState, body: ReplayableBody | null): Promise<L> {
  const another = ctx.plan ? ctx.plan.hasNext() : ++state.connectFailures < ctx.upstream.servers.length;
  if (isGatewayError(e) && CONNECT_CODES.has(e.code) && another) return leaseFor(acquire, req, ctx, state, body);
  body?.cancel();
  await body?.settled();
  if (req.signal?.aborted && !isGatewayError(e)) throw clientGone();
  throw e;
}

/** Whether the connection a try failed on allows one more try on a new connection (the other
 *  conditions, nothing of the answer received and the body still held, are the attempt's):
 *  a kept connection, which the server may have closed as the request crossed it; or, for an
 *  idempotent request without a body (RFC 9110 9.2.2 lets it be sent again), a new one: an
 *  origin going down (php-fpm stopped or restarted) closes the connections it had accepted
 *  but not served. */
export function resendOnFailure(reused: boolean, req: ForwardRequest): boolean {
  return reused || (req.body === null && idempotent(req.method));
}

export interface PooledAttempt {
  run(): Promise<ForwardResponse>;
  /** Did it fail the way a stale kept connection fails, with nothing of it accepted? */
  staleRetryable(e: unknown): boolean;
}

export async function forwardPooled<L extends { origin: string }>(
  pool: { acquire: Acquire<L>; noteRetry(): void },
  req: ForwardRequest,
  ctx: ExchangeContext,
  body: ReplayableBody | null,
  attemptOn: (lease: L) => PooledAttempt,
): Promise<ForwardResponse> {
  // A body that cannot be sent twice never rides a kept connection, which the server may be
  // closing just as the request crosses it (php-fpm at pm.max_requests): the retry that saves
  // other requests then would be impossible. A new connection costs a connect and a close on
  // both sides, about a quarter of a 256 KiB upload's CPU on serve, so serve holds bodies up to
  // 1 MiB (ReplayHold) to spare them that.
  const state: LeaseState = { fresh: body !== null && !body.mayReplay, retry: false, connectFailures: 0 };
  try {
    for (;;) {
      const t0 = performance.now();
      const leased = leaseFor((o) => pool.acquire(o), req, ctx, state, body);
      const lease = leased instanceof Promise ? await leased : leased;
      // connect_ms here is the wait for a connection: 0-ish for a kept one, as nginx counts it.
      if (req.record) noteConnection(req.record, lease.origin, since(t0), state.connectFailures + (state.retry ? 1 : 0));
      const attempt = attemptOn(lease);
      try {
        return await attempt.run();
      } catch (e) {
        if (!state.retry && attempt.staleRetryable(e)) {
          pool.noteRetry();
          req.log.log("warn", "pool_stale_retry", { origin: lease.origin, code: (e as GatewayError).code });
          state.fresh = true;
          state.retry = true;
          if (ctx.plan?.current !== undefined) ctx.plan.again(ctx.plan.current);
          continue;
        }
        body?.cancel();
        await body?.settled();
        throw e;
      }
    }
  } finally {
    // The answer began or the request failed: no try is left to send the body again.
    body?.release();
  }
}
