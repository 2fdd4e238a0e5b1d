// A request over a pooled connection, for any protocol: take a connection (a connect failure
// moves on to the next server: nothing reached any origin yet, so this is safe for every
// method; a client that went away while queued ends it as CLIENT_GONE), try the request on
// it, and once — on a newly opened connection — again when the try failed the way a stale
// kept connection fails (each protocol's Attempt decides: see README, "Stale connections").
import { Codes, GatewayError, isGatewayError } from "../core/errors.js";
import type { ExchangeContext, ForwardRequest, ForwardResponse } from "../core/exchange.js";
import type { ReplayableBody } from "../pool/replay.js";

const CONNECT_CODES: ReadonlySet<string> = new Set([Codes.UPSTREAM_CONNECT_FAILED, Codes.UPSTREAM_CONNECT_TIMEOUT]);

export const clientGone = (): GatewayError => new GatewayError(Codes.CLIENT_GONE, 499, "The client went away before the response.");

/** Counts connect failures across the calls for one request (one per server at most). */
export interface LeaseState {
  fresh: boolean;
  connectFailures: number;
}

export async function leaseFor<L>(
  acquire: (o: { signal?: AbortSignal; fresh?: boolean }) => Promise<L>,
  req: ForwardRequest,
  ctx: ExchangeContext,
  state: LeaseState,
  body: ReplayableBody | null,
): Promise<L> {
  for (;;) {
    try {
      return await acquire({ signal: req.signal, fresh: state.fresh });
    } catch (e) {
      if (isGatewayError(e) && CONNECT_CODES.has(e.code) && ++state.connectFailures < ctx.upstream.servers.length) continue;
      body?.cancel();
      if (req.signal?.aborted && !isGatewayError(e)) throw clientGone();
      throw e;
    }
  }
}

export interface PooledAttempt {
  run(): Promise<ForwardResponse>;
  /** Did it fail the way a stale kept connection fails, with nothing of it accepted? */
  staleRetryable(e: unknown): boolean;
}

export async function forwardPooled<L extends { origin: string }>(
  pool: { acquire(o: { signal?: AbortSignal; fresh?: boolean }): Promise<L>; noteRetry(): void },
  req: ForwardRequest,
  ctx: ExchangeContext,
  body: ReplayableBody | null,
  attemptOn: (lease: L) => PooledAttempt,
): Promise<ForwardResponse> {
  const state: LeaseState = { fresh: false, connectFailures: 0 };
  for (;;) {
    const lease = await leaseFor((o) => pool.acquire(o), req, ctx, state, body);
    const attempt = attemptOn(lease);
    try {
      return await attempt.run();
    } catch (e) {
      if (!state.fresh && attempt.staleRetryable(e)) {
        pool.noteRetry();
        req.log.log("warn", "pool_stale_retry", { origin: lease.origin, code: (e as GatewayError).code });
        state.fresh = true;
        continue;
      }
      body?.cancel();
      throw e;
    }
  }
}
