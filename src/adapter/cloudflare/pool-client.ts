// The Worker's side of pooling. A Worker cannot keep a socket past the request that opened
// it; a Durable Object can. So a request for a pooled upstream is handed, whole and streaming
// both ways, to that upstream's UpstreamPool object (one of `shards`, picked at random), which
// runs the same pipeline with connections leased from its pool (pool-host.ts). stub.fetch()
// is used rather than RPC: it propagates a client that goes away to the object's response
// stream (with the relay below), which is how the app learns of it (ABORT_REQUEST); an RPC
// call's returned stream was not cancelled at all when we tried.
import type { GatewayConfig, UpstreamConfig } from "../../config/types.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { HandOffInfo, RequestInfo } from "../../core/gateway.js";
import { REPLAY_LIMIT } from "../../core/replay.js";
import { clientGone } from "../../protocol/pooled-lease.js";
import type { ClientResponse } from "../../core/respond.js";
import { relayed } from "./respond.js";

/** Carries the request's id and client facts from the Worker to the pool object. Set by the
 *  Worker (replacing any a client sent) and removed by the object before anything else. */
export const HOP_HEADER = "x-edgepass-hop";

export interface HopInfo extends RequestInfo {
  requestId: string;
  /** Not a request: the object answers its pools' statistics. */
  stats?: boolean;
  /** "reserved": a place was reserved for this request (PoolHost.reserve); "queued": none was,
   *  and the request may wait for one in the object, because the Worker sends it again if the
   *  object goes away; "optimistic": none was, and it must not wait (pool/admission.ts). */
  admission?: "reserved" | "queued" | "optimistic";
}

/** PoolHost.reserve's answer: a place is held, or why not (a status for the client). */
export type Reservation = { ok: true } | { ok: false; code: string; status: number; message: string };

/** The pool object as the Worker calls it. */
interface PoolStub {
  fetch(request: Request, init?: RequestInit): Promise<Response>;
  reserve(upstream: string, requestId: string, fresh: boolean, key: string | null): Promise<Reservation>;
  sent(handOff: string): Promise<number | null>;
}

/** The binding wrangler.toml declares; absent in setups without Durable Objects. */
export type PoolNamespace = DurableObjectNamespace;

/** Which upstreams go to a pool object. The config refuses pool = "pooled" where no pool can
 *  exist (SCGI, uwsgi, HTTP via fetch), so the mode says it all. */
export const isPooled = (u: UpstreamConfig): boolean => u.pool.mode === "pooled";

export const shardName = (upstream: string, shard: number): string => `${upstream}#${shard}`;

/** Reserve calls the platform failed (the object was reset or moved) are made again this many
 *  times at most, with backoff, within the upstream's queue_timeout. */
const RESERVE_TRIES = 6;
/** Methods a Worker sends again when the object went away with the request in it. */
const IDEMPOTENT: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

/** Names each hand-off of this isolate (RequestInfo.handOff): a random prefix per isolate, as
 *  many isolates hand requests to one object, and a counter. (Set at the first request:
 *  workerd makes no random values in global scope.) */
let isolate: string | undefined;
let handOffs = 0;

export function handOffTo(ns: PoolNamespace) {
  return (request: Request, upstream: UpstreamConfig, info: HandOffInfo, onEnd?: () => void): Promise<ClientResponse> | null => {
    if (!isPooled(upstream)) return null;
    return handOff(ns, request, upstream, info, onEnd);
  };
}

// A reset object loses the calls that reached it (pool/admission.ts). So a request that could
// not be sent again waits for a connection only inside reserve(), which is safe to call again;
// one that may be sent again (no body, a safe method) waits inside fetch(), which saves two
// calls between the Worker and the object whenever every connection is busy.
async function handOff(ns: PoolNamespace, request: Request, upstream: UpstreamConfig, info: HandOffInfo, onEnd?: () => void): Promise<ClientResponse> {
  const id = ns.idFromName(shardName(upstream.name, Math.floor(Math.random() * upstream.pool.shards)));
  const hasBody = request.body !== null;
  const length = Number(request.headers.get("content-length") ?? NaN);
  // Only a held body can be sent twice (core/replay.ts); the others need a new connection.
  const fresh = hasBody && !(length <= REPLAY_LIMIT);
  const deadline = Date.now() + upstream.pool.queueTimeoutMs;
  let reserve = hasBody;
  const resendable = !hasBody && IDEMPOTENT.has(request.method);
  let resent = false;
  for (let tries = 0; ; ) {
    // A stub that threw is broken for good: every attempt takes a new one.
    const stub = ns.get(id) as unknown as PoolStub;
    if (reserve) {
      let r: Reservation;
      try {
        r = await untilGone(stub.reserve(upstream.name, info.requestId, fresh, info.balanceKey ?? null), request.signal);
      } catch (e) {
        if (e === GONE) throw clientGone();
        if (!(e as { overloaded?: boolean }).overloaded && ++tries < RESERVE_TRIES && Date.now() < deadline) {
          await new Promise((ok) => setTimeout(ok, 20 * 2 ** tries * (0.5 + Math.random())));
          continue;
        }
        throw unreachable(upstream, e);
      }
      if (!r.ok) throw new GatewayError(r.code, r.status, r.message);
    }
    const headers = new Headers(request.headers);
    const { balanceKey: _, waitUntil, ...hop } = info;
    // Sent again after a reset, a request has reserved its place (reserve() is retried; a
    // second fetch() would not be).
    const admission = reserve ? "reserved" : resendable ? "queued" : "optimistic";
    const handOff = `${(isolate ??= crypto.randomUUID().slice(0, 8))}.${++handOffs}`;
    headers.set(HOP_HEADER, JSON.stringify({ ...hop, admission, handOff } satisfies HopInfo));
    let res: Response;
    try {
      // "manual": an encoded body must cross from the object undecoded (respond.ts).
      res = await stub.fetch(new Request(request, { headers }), { encodeResponseBody: "manual" });
    } catch (e) {
      // The object went away with the request in it, which may have reached the origin:
      // sent again only when that is harmless (SECURITY.md), and once.
      if (resendable && !resent) {
        resent = true;
        reserve = true;
        continue;
      }
      throw unreachable(upstream, e);
    }
    if (res.headers.get("x-edgepass-error") === Codes.POOL_WAIT) {
      await res.body?.cancel();
      reserve = true;
      continue;
    }
    return relayed(res, { onEnd, sent: () => stub.sent(handOff), waitUntil });
  }
}

const GONE = Symbol("client gone");

/** `p`, or GONE once the client went away (a place reserved meanwhile is given back after
 *  PARK_MS unclaimed). */
function untilGone<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(GONE);
  return new Promise<T>((resolve, reject) => {
    const gone = () => reject(GONE);
    signal.addEventListener("abort", gone, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", gone));
  });
}

function unreachable(upstream: UpstreamConfig, e: unknown): GatewayError {
  return new GatewayError(Codes.UPSTREAM_POOL_FAILED, 502, `The connection pool of the upstream "${upstream.name}" could not be reached.`, String(e));
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
