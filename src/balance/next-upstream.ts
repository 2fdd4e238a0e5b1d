// Forwards a request through its upstream's Exchange, moving on to the next server when a try
// fails and moving on is safe (SECURITY.md, nginx's proxy_next_upstream "error timeout"):
//   - a connect failure, for any method: nothing reached the origin (handled inside the try,
//     protocol/connect.ts and the pools, which ask the same Plan for the next server);
//   - the origin closed or reset the connection, went silent (read or send timeout), or
//     answered FastCGI OVERLOADED, before the response head: only for an idempotent method
//     (not POST, PATCH, LOCK), and only when the body can be sent again: none, or one of known
//     length up to REPLAY_LIMIT (or the host's ReplayHold), held here for the resend (a
//     streamed body never is);
//   - OVERLOADED means the app refused the request unread, so any method may move on.
// Once the head arrived the response is the client's. Failures count against the server's
// max_fails (passive health); an answer forgives them.
import { Codes, isGatewayError } from "../core/errors.js";
import { formatAddress } from "../core/transport.js";
import type { Exchange, ExchangeContext, ForwardRequest, ForwardResponse, RequestBody } from "../core/exchange.js";
import { PiecesBody } from "../core/pieces.js";
import { holdable, idempotent, ReplayableBody } from "../core/replay.js";
import { hashKeyOf } from "./hash.js";
import type { Peers } from "./peers.js";
import { Plan } from "./plan.js";

/** Failures that say the server is unwell (counted for max_fails) and may move on. */
const SERVER_FAILURES: ReadonlySet<string> = new Set([Codes.UPSTREAM_CLOSED_EARLY, Codes.UPSTREAM_IO, Codes.UPSTREAM_READ_TIMEOUT, Codes.UPSTREAM_SEND_TIMEOUT]);

export function planFor(peers: Peers, req: ForwardRequest): Plan {
  const hk = peers.upstream.balance.hashKey;
  return new Plan(peers, hk ? hashKeyOf(hk, req) : null);
}

export function forwardBalanced(exchange: Exchange, req: ForwardRequest, ctx: ExchangeContext, peers: Peers): Promise<ForwardResponse> {
  const plan = planFor(peers, req);
  const original = req.body;
  // Held here for another server; a pooled try holds its own copy for the stale-connection
  // resend, so a body over REPLAY_LIMIT counts twice against the host's hold (stricter, not
  // looser).
  const holds = original && original.length !== null && original.length <= holdable(ctx.replay);
  const replay = peers.servers.length > 1 && holds ? new ReplayableBody(original, ctx.replay) : null;
  // The context is this request's own (the gateway makes one per request): it carries the
  // plan without a copy.
  ctx.plan = plan;
  if (!replay) return tries(exchange, req, ctx, peers, plan, original, null);
  return tries(exchange, req, ctx, peers, plan, original, replay).finally(() => replay.release());
}

async function tries(exchange: Exchange, req: ForwardRequest, ctx: ExchangeContext, peers: Peers, plan: Plan, original: RequestBody | null, replay: ReplayableBody | null): Promise<ForwardResponse> {
  for (;;) {
    // Each try reads its own copy of a held body, set on the request itself: a copy of the
    // request with another body would be another shape for every read of its fields.
    if (replay) req.body = replayStream(replay, original!.length);
    try {
      const res = await exchange.forward(req, ctx);
      if (plan.current !== undefined) peers.ok(plan.current);
      return res;
    } catch (e) {
      const server = plan.current;
      const code = isGatewayError(e) ? e.code : "";
      if (server !== undefined && SERVER_FAILURES.has(code)) peers.fail(server);
      const safe =
        server !== undefined &&
        (SERVER_FAILURES.has(code) || code === Codes.UPSTREAM_OVERLOADED) &&
        (code === Codes.UPSTREAM_OVERLOADED || idempotent(req.method)) &&
        (original === null || (replay !== null && replay.canReplay));
      if (safe && !req.signal?.aborted && plan.hasNext()) {
        req.log.log("warn", "upstream_next", { upstream: ctx.upstream.name, origin: formatAddress(peers.servers[server]), code, tries: plan.count });
        continue;
      }
      if (replay) {
        replay.cancel();
        await replay.settled();
      }
      throw e;
    }
  }
}

/** A fresh copy of the held body for one try; the exchange owns it like a client's. */
function replayStream(replay: ReplayableBody, length: number | null): RequestBody {
  const cursor = replay.cursor();
  return {
    length,
    stream: new PiecesBody({
      async next() {
        const piece = await cursor.next();
        if (piece === "end") return null;
        if (piece === null) throw new Error("superseded by another try");
        return [piece];
      },
      // A try that gives up its copy leaves the client's body to the next try.
      cancel() {},
    }),
    count: undefined,
  };
}
