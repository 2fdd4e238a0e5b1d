// Builds the gateway once per isolate from the bindings: the Wasm module the Worker imported,
// and the configuration (EDGEPASS_CONFIG when set, else the TOML bundled with the Worker).
// A configuration error answers every request with 500 and the validation message, so a bad
// deploy is obvious rather than silent. With the UPSTREAM_POOL binding, requests for pooled
// upstreams go to their pool object (pool-client.ts); without it everything is direct.
import { createCodec } from "../../codec/index.js";
import type { GatewayConfig } from "../../config/types.js";
import { loadConfig } from "../../config/load.js";
import { createGateway, type Gateway } from "../../core/gateway.js";
import { requestLogger } from "../../core/log.js";
import { GatewayError, Codes } from "../../core/errors.js";
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

interface Built {
  gateway: Gateway;
  config: GatewayConfig;
}

let cached: { key: string; built: Built | GatewayError; pool: PoolNamespace | undefined } | undefined;

export function gatewayFor(env: GatewayEnv, wasm: WebAssembly.Module, defaultConfig: string): Gateway | GatewayError {
  const built = build(env, wasm, defaultConfig);
  return built instanceof GatewayError ? built : built.gateway;
}

function build(env: GatewayEnv, wasm: WebAssembly.Module, defaultConfig: string): Built | GatewayError {
  const text = env.EDGEPASS_CONFIG ?? defaultConfig;
  const source = env.EDGEPASS_CONFIG ? (env.EDGEPASS_CONFIG_SOURCE ?? "EDGEPASS_CONFIG") : "edgepass.toml";
  const key = source + "\0" + text;
  if (cached?.key === key && cached.pool === env.UPSTREAM_POOL) return cached.built;
  let built: Built | GatewayError;
  try {
    const config = loadConfig(text, source);
    const gateway = createGateway({
      config,
      codec: createCodec(wasm),
      dial: dialCloudflare,
      respond: respondWorkerd,
      handOff: env.UPSTREAM_POOL ? handOffTo(env.UPSTREAM_POOL) : undefined,
    });
    built = { gateway, config };
  } catch (e) {
    built = new GatewayError(Codes.CONFIG_INVALID, 500, `The gateway configuration is invalid: ${e instanceof Error ? e.message : String(e)}`);
  }
  cached = { key, built, pool: env.UPSTREAM_POOL };
  return built;
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
