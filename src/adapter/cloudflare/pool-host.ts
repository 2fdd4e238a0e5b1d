// The UpstreamPool Durable Object's logic (workers/upstream-pool.ts is only the class shell).
// It runs the gateway pipeline for the requests the Worker hands it, with FastCGI and HTTP
// exchanges that lease kept connections from this object's pools; sockets outlive the request
// that opened them here, which a Worker's do not.
import { createCodec } from "../../codec/index.js";
import { gatewayBuilder } from "../../core/compose.js";
import { errorResponse } from "../../core/error-response.js";
import { Codes, GatewayError } from "../../core/errors.js";
import type { Gateway } from "../../core/gateway.js";
import { requestLogger } from "../../core/log.js";
import { PoolRegistry } from "../../pool/registry.js";
import { pooledFastcgiExchange } from "../../protocol/fastcgi/pooled-exchange.js";
import { pooledHttpExchange } from "../../protocol/http/exchange.js";
import { dialCloudflare } from "./dial.js";
import { LENGTH_HEADER, respondToWorker } from "./respond.js";
import { configOf, loaderFor, type GatewayEnv } from "./handler.js";
import { HOP_HEADER, type HopInfo } from "./pool-client.js";

export class PoolHost {
  private readonly pools = new PoolRegistry();
  private readonly build = gatewayBuilder(
    () => ({
      codec: createCodec(this.wasm),
      dial: dialCloudflare,
      respond: respondToWorker,
      exchanges: { fastcgi: pooledFastcgiExchange(this.pools), http: pooledHttpExchange(this.pools) },
    }),
    // Lazy: the constructor's parameters are not assigned yet when fields initialize.
    (text, source) => loaderFor(this.env)(text, source),
  );

  constructor(
    private readonly env: GatewayEnv,
    private readonly wasm: WebAssembly.Module,
    private readonly defaultConfig: string,
  ) {}

  async fetch(request: Request): Promise<Response> {
    let hop: HopInfo;
    try {
      hop = JSON.parse(request.headers.get(HOP_HEADER) ?? "") as HopInfo;
    } catch {
      const e = new GatewayError(Codes.REQUEST_INVALID, 400, "The pool object only serves requests the gateway Worker hands it.");
      return errorResponse(e, "-", requestLogger("-"));
    }
    if (hop.stats) {
      return new Response(JSON.stringify(this.pools.stats()), { headers: { "content-type": "application/json" } });
    }
    const gateway = this.gateway();
    if (gateway instanceof GatewayError) return errorResponse(gateway, hop.requestId, requestLogger(hop.requestId));
    const headers = new Headers(request.headers);
    headers.delete(HOP_HEADER);
    const { stats: _, ...info } = hop;
    return withOwnLength(await gateway(new Request(request, { headers, signal: request.signal }), info));
  }

  private gateway(): Gateway | GatewayError {
    const { text, source } = configOf(this.env, this.defaultConfig);
    const built = this.build(text, source);
    return built instanceof GatewayError ? built : built.gateway;
  }
}

/** The longest page of the gateway's own held to state its length. */
const OWN_PAGE_MAX = 64 * 1024;

/** An answer the gateway made itself (an error page: a short text, not written by a Respond)
 *  would cross to the Worker without its length, and reach the client chunked. Held here, its
 *  length goes with it like a proxied body's; one past OWN_PAGE_MAX streams on as it is. */
async function withOwnLength(res: Response): Promise<Response> {
  if (!res.body || res.headers.has(LENGTH_HEADER) || !res.headers.has("x-edgepass-error")) return res;
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.length;
    if (size > OWN_PAGE_MAX) {
      const rest = new ReadableStream<Uint8Array>({
        start(c) {
          for (const p of parts) c.enqueue(p);
        },
        pull: async (c) => {
          const next = await reader.read();
          if (next.done) c.close();
          else c.enqueue(next.value);
        },
        cancel: (why) => reader.cancel(why),
      });
      return new Response(rest, res);
    }
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const p of parts) (body.set(p, at), (at += p.length));
  const headers = new Headers(res.headers);
  headers.set(LENGTH_HEADER, String(size));
  return new Response(body, { status: res.status, statusText: res.statusText, headers });
}
