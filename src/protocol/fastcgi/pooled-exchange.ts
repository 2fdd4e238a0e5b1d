// FastCGI over pooled connections (src/pool): the same records as the direct exchange, but
// BEGIN_REQUEST carries FCGI_KEEP_CONN, the request id comes from the connection, and the
// response arrives as events the connection has already demultiplexed. Upstreams with
// pool = "direct" go to the direct exchange unchanged.
//
// Stale connections. A kept connection may have been closed by the server while it sat idle
// (php-fpm ends a worker after pm.max_requests; an app server may time idle connections out),
// and the close can cross our next request on the wire. A request is therefore sent again,
// once, on a newly opened connection when ALL of these hold:
//   1. the connection was reused: it had completed at least one request and had nothing else
//      in flight when this request was put on it;
//   2. it failed at the transport level: a write error, or end of stream / reset on the read
//      side (not a timeout, not a malformed record);
//   3. no record of this request's response had arrived (not one byte of it);
//   4. the body can be sent again: there is none, or all of it is still held (REPLAY_LIMIT);
//   5. the client is still there.
// (A connection found closed before a byte of the request was written to it needs no rule.)
// This is nginx's rule for cached keepalive connections (ngx_http_upstream_next: an error on
// a cached connection does not count as a try). nginx stops at non-idempotent methods once
// the request was sent, unless `non_idempotent` is set; edgepass also retries those, because
// 1-3 describe a server closing a connection it was done with. The one case these signs cannot
// tell apart is an app that read the request and died before writing anything (a crashing
// worker); such a request runs twice. Anything else fails as it would on a direct connection.
// Pooled HTTP keep-alive connections follow this same rule (protocol/http/pooled.ts).
import type { Exchange, ExchangeContext, ForwardRequest, ForwardResponse } from "../../core/exchange.js";
import type { Lease } from "../../pool/lease.js";
import { admittedPool, type Admissions, type LeaseSource } from "../../pool/admission.js";
import type { PoolRegistry } from "../../pool/registry.js";
import { ReplayableBody } from "../../pool/replay.js";
import { paramsError } from "../params-error.js";
import { forwardPooled } from "../pooled-lease.js";
import { fastcgiExchange } from "./exchange.js";
import { Attempt } from "./pooled-attempt.js";

/** `admissions`: the places reserved for requests before they arrived (the pool object). */
export function pooledFastcgiExchange(pools: PoolRegistry, admissions?: Admissions): Exchange {
  return {
    needsLength: () => true,
    forward(req, ctx) {
      if (ctx.upstream.pool.mode !== "pooled") return fastcgiExchange.forward(req, ctx);
      return forwardPooledFcgi(req, ctx, admittedPool(pools.get(ctx), admissions, req.requestId));
    },
  };
}

function forwardPooledFcgi(req: ForwardRequest, ctx: ExchangeContext, pool: LeaseSource<Lease>): Promise<ForwardResponse> {
  let params: Uint8Array;
  try {
    params = ctx.codec.buildCgiParams({
      owned: req.cgi,
      headers: req.headers,
      underscoresInHeaders: ctx.settings.underscoresInHeaders,
      format: "fastcgi",
    });
  } catch (e) {
    throw paramsError(e);
  }
  const body = req.body ? new ReplayableBody(req.body) : null;
  return forwardPooled(pool, req, ctx, body, (lease: Lease) => new Attempt(lease, req, ctx, params, body));
}
