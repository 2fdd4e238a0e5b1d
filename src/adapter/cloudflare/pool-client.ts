// The Worker's side of pooling. A Worker cannot keep a socket past the request that opened
// it; a Durable Object can. So a request for a pooled upstream is handed, whole and streaming
// both ways, to that upstream's UpstreamPool object (one of `shards`, picked at random), which
// runs the same pipeline with connections leased from its pool (pool-host.ts). stub.fetch()
// is used rather than RPC: it propagates a client that goes away to the object's response
// stream (with the relay below), which is how the app learns of it (ABORT_REQUEST); an RPC
// call's returned stream was not cancelled at all when we tried.
import type { GatewayConfig, UpstreamConfig } from "../../config/types.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { RequestInfo } from "../../core/gateway.js";
import { relayResponse } from "./respond.js";

/** Carries the request's id and client facts from the Worker to the pool object. Set by the
 *  Worker (replacing any a client sent) and removed by the object before anything else. */
export const HOP_HEADER = "x-edgepass-hop";

export interface HopInfo extends RequestInfo {
  requestId: string;
  /** Not a request: the object answers its pools' statistics. */
  stats?: boolean;
}

/** The binding wrangler.toml declares; absent in setups without Durable Objects. */
export type PoolNamespace = DurableObjectNamespace;

/** Which upstreams go to a pool object. The config refuses pool = "pooled" where no pool can
 *  exist (SCGI, uwsgi, HTTP via fetch), so the mode says it all. */
export const isPooled = (u: UpstreamConfig): boolean => u.pool.mode === "pooled";

export const shardName = (upstream: string, shard: number): string => `${upstream}#${shard}`;

export function handOffTo(ns: PoolNamespace) {
  return (request: Request, upstream: UpstreamConfig, info: RequestInfo & { requestId: string }, onEnd?: () => void): Promise<Response> | null => {
    if (!isPooled(upstream)) return null;
    const shard = Math.floor(Math.random() * upstream.pool.shards);
    const headers = new Headers(request.headers);
    headers.set(HOP_HEADER, JSON.stringify(info satisfies HopInfo));
    const stub = ns.get(ns.idFromName(shardName(upstream.name, shard)));
    // "manual": an encoded body must cross from the object undecoded (respond.ts).
    return stub.fetch(new Request(request, { headers }), { encodeResponseBody: "manual" }).then((res) => relayResponse(res, onEnd), (e: unknown) => {
      throw new GatewayError(
        Codes.UPSTREAM_POOL_FAILED,
        502,
        `The connection pool of the upstream "${upstream.name}" could not be reached.`,
        String(e),
      );
    });
  };
}

/** GET on [gateway] admin_path: every pooled upstream's shards, as JSON. */
export async function poolStatsResponse(config: GatewayConfig, ns: PoolNamespace | undefined, requestId: string): Promise<Response> {
  const upstreams: Record<string, unknown> = {};
  for (const u of Object.values(config.upstreams)) {
    if (!isPooled(u) || !ns) {
      upstreams[u.name] = { mode: "direct" };
      continue;
    }
    const shards = await Promise.all(
      Array.from({ length: u.pool.shards }, async (_, shard) => {
        const stub = ns.get(ns.idFromName(shardName(u.name, shard)));
        const hop: HopInfo = { requestId, stats: true };
        try {
          const res = await stub.fetch("http://pool.internal/", { headers: { [HOP_HEADER]: JSON.stringify(hop) } });
          const pools = (await res.json()) as Array<{ upstream: string }>;
          return { shard, ...(pools.find((p) => p.upstream === u.name) ?? { idle: true, note: "no request has used this shard yet" }) };
        } catch (e) {
          return { shard, error: String(e) };
        }
      }),
    );
    upstreams[u.name] = { mode: "pooled", shards };
  }
  const body = { pooled: ns !== undefined, upstreams };
  if (!ns) Object.assign(body, { note: "no UPSTREAM_POOL binding: every request opens its own connection" });
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-request-id": requestId },
  });
}
