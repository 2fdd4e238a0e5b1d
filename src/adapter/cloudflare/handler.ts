// Builds the gateway once per isolate from the bindings: the Wasm module the Worker imported,
// and the configuration (EDGEPASS_CONFIG when set, else the TOML bundled with the Worker).
// A configuration error answers every request with 500 and the validation message, so a bad
// deploy is obvious rather than silent. With the UPSTREAM_POOL binding, requests for pooled
// upstreams go to their pool object (pool-client.ts); without it everything is direct.
import { createCodec } from "../../codec/index.js";
import { gatewayBuilder, type Built } from "../../core/compose.js";
import { requestLogger } from "../../core/log.js";
import { GatewayError } from "../../core/errors.js";
import { errorResponse } from "../../core/error-response.js";
import { dialCloudflare } from "./dial.js";
import { respondWorkerd } from "./respond.js";
import { handOffTo, poolStatsResponse, type PoolNamespace } from "./pool-client.js";

export interface GatewayEnv {
  EDGEPASS_CONFIG?: string;
  EDGEPASS_CONFIG_SOURCE?: string;
  /** The UpstreamPool Durable Object namespace (wrangler.toml); optional. */
  UPSTREAM_POOL?: PoolNamespace;
}

/** The config text and the name errors give it: EDGEPASS_CONFIG when set, else the bundled file. */
export function configOf(env: GatewayEnv, defaultConfig: string): { text: string; source: string } {
  if (env.EDGEPASS_CONFIG === undefined) return { text: defaultConfig, source: "edgepass.toml" };
  return { text: env.EDGEPASS_CONFIG, source: env.EDGEPASS_CONFIG_SOURCE ?? "EDGEPASS_CONFIG" };
}

// One builder per isolate and pool binding (a test may run the handler with and without one).
let builder: { pool: PoolNamespace | undefined; wasm: WebAssembly.Module; build: ReturnType<typeof gatewayBuilder> } | undefined;

function build(env: GatewayEnv, wasm: WebAssembly.Module, defaultConfig: string): Built | GatewayError {
  if (!builder || builder.pool !== env.UPSTREAM_POOL || builder.wasm !== wasm) {
    const pool = env.UPSTREAM_POOL;
    builder = {
      pool,
      wasm,
      build: gatewayBuilder(() => ({
        codec: createCodec(wasm),
        dial: dialCloudflare,
        respond: respondWorkerd,
        handOff: pool ? handOffTo(pool) : undefined,
      })),
    };
  }
  const { text, source } = configOf(env, defaultConfig);
  return builder.build(text, source);
}

export async function handle(request: Request, env: GatewayEnv, wasm: WebAssembly.Module, defaultConfig: string): Promise<Response> {
  const built = build(env, wasm, defaultConfig);
  const requestId = request.headers.get("cf-ray") ?? undefined;
  if (built instanceof GatewayError) {
    const id = requestId ?? "-";
    return errorResponse(built, id, requestLogger(id));
  }
  const admin = built.config.gateway.adminPath;
  if (admin && new URL(request.url).pathname === admin) {
    const id = requestId ?? crypto.randomUUID();
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("405 Method Not Allowed\n\nThe pool statistics answer GET only.\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    return poolStatsResponse(built.config, env.UPSTREAM_POOL, id);
  }
  return built.gateway(request, {
    requestId,
    remoteAddr: request.headers.get("cf-connecting-ip") ?? undefined,
    protocol: (request.cf?.httpProtocol as string | undefined) ?? "HTTP/1.1",
    acceptEncoding: request.cf?.clientAcceptEncoding as string | undefined,
  });
}
