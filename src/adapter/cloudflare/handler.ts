// Builds the gateway once per isolate from the bindings: the Wasm module the Worker imported,
// and the configuration (EDGEPASS_CONFIG when set, else the TOML bundled with the Worker).
// A configuration error answers every request with 500 and the validation message, so a bad
// deploy is obvious rather than silent. With the UPSTREAM_POOL binding, requests for pooled
// upstreams go to their pool object (pool-client.ts); without it everything is direct.
import { createCodec } from "../../codec/index.js";
import type { GatewayConfig } from "../../config/types.js";
import { loadConfig } from "../../config/load.js";
import { layeredStore, type FileStore } from "../../edge/file-store.js";
import { storeOverFetch } from "../../edge/store-wire.js";
import { assetsStore, r2Store } from "./assets-store.js";
import { cgiProtocol } from "../../core/cgi-env.js";
import { gatewayBuilder, type Built } from "../../core/compose.js";
import { requestLogger } from "../../core/log.js";
import { GatewayError } from "../../core/errors.js";
import { errorResponse } from "../../core/error-response.js";
import { dialCloudflare } from "./dial.js";
import { respondWorkerd } from "./respond.js";
import { handOffTo, poolStatsResponse, type PoolNamespace } from "./pool-client.js";
import { durableLimitStore, type LimitNamespace } from "./limit-client.js";
import { clientTlsFromCf } from "../../core/client-tls.js";
import { adminRefusal } from "../../core/dispatch.js";
import { cloudflareCacheStore } from "./cache-store.js";

export interface GatewayEnv {
  EDGEPASS_CONFIG?: string;
  EDGEPASS_CONFIG_SOURCE?: string;
  /** The UpstreamPool Durable Object namespace (wrangler.toml); optional. */
  UPSTREAM_POOL?: PoolNamespace;
  /** The LimitCounter Durable Object namespace (wrangler.toml): limit_req / limit_conn
   *  counts; without it each isolate counts alone. */
  LIMITS?: LimitNamespace;
  /** The folder a relative [assets] directory is resolved against (`edgepass dev` sets it to
   *  the config file's folder); X-Sendfile paths must lie inside that directory. */
  EDGEPASS_CONFIG_DIR?: string;
  /** Workers Static Assets (wrangler.toml [assets] binding). */
  ASSETS?: Fetcher;
  /** `edgepass dev`: the assets directory on the Node side, read live (store-wire.ts). Wins
   *  over ASSETS when both are bound. */
  EDGEPASS_FILES?: Fetcher;
  /** [assets] r2 names an R2 bucket binding; it is looked up here by that name. */
  [binding: string]: unknown;
}

/** The files the config's [assets] are served from: the assets (deployed, or dev's live
 *  directory), then the R2 bucket for files added at run time. */
export function filesFor(config: GatewayConfig, env: GatewayEnv): FileStore | null {
  if (!config.assets) return null;
  const stores: FileStore[] = [];
  if (env.EDGEPASS_FILES) stores.push(storeOverFetch((r) => env.EDGEPASS_FILES!.fetch(r)));
  else if (env.ASSETS) stores.push(assetsStore(env.ASSETS));
  const r2 = config.assets.r2 ? (env[config.assets.r2] as R2Bucket | undefined) : undefined;
  if (r2) stores.push(r2Store(r2));
  return stores.length ? layeredStore(stores) : null;
}

/** How the Worker and the pool object read the config text. */
export const loaderFor = (env: GatewayEnv) => (text: string, source: string) => loadConfig(text, source, env.EDGEPASS_CONFIG_DIR);

/** The bindings a built gateway holds on to; another set (a test's env) rebuilds it. */
export const bindingsOf = (env: GatewayEnv): unknown[] => Object.values(env).filter((v) => typeof v === "object");

/** The config text and the name errors give it: EDGEPASS_CONFIG when set, else the bundled file. */
export function configOf(env: GatewayEnv, defaultConfig: string): { text: string; source: string } {
  if (env.EDGEPASS_CONFIG === undefined) return { text: defaultConfig, source: "edgepass.toml" };
  return { text: env.EDGEPASS_CONFIG, source: env.EDGEPASS_CONFIG_SOURCE ?? "EDGEPASS_CONFIG" };
}

// One builder per isolate and set of bindings (a test may run the handler with several).
let builder:
  | { env: GatewayEnv; bindings: unknown[]; wasm: WebAssembly.Module; config: { text: string; source: string }; build: (text: string, source: string) => Built | GatewayError }
  | undefined;

function build(env: GatewayEnv, wasm: WebAssembly.Module, defaultConfig: string): Built | GatewayError {
  // The platform passes the same env object to every request of an isolate: its bindings and
  // config text are looked at again only when another one comes (a test's).
  if (builder?.env !== env || builder.wasm !== wasm) {
    const bindings = bindingsOf(env);
    if (!builder || builder.wasm !== wasm || builder.bindings.length !== bindings.length || builder.bindings.some((b, i) => b !== bindings[i])) {
      const pool = env.UPSTREAM_POOL;
      builder = {
        env,
        bindings,
        config: configOf(env, defaultConfig),
        wasm,
        build: gatewayBuilder<Response>(
          (config) => ({
            codec: createCodec(wasm),
            dial: dialCloudflare,
            respond: respondWorkerd,
            // respondWorkerd counts what it hands on for the log, without a stream for it.
            countsBytes: true,
            fieldsUtf8: true,
            // workerd speaks WebSocket to the client; messages go to the origin as frames.
            tunnels: "messages",
            files: filesFor(config, env),
            handOff: pool ? handOffTo(pool) : undefined,
            limits: env.LIMITS ? durableLimitStore(env.LIMITS) : undefined,
            cache: config.routes.some((r) => r.cache) ? cloudflareCacheStore() : undefined,
          }),
          loaderFor(env),
        ),
      };
    }
    builder.env = env;
    builder.config = configOf(env, defaultConfig);
  }
  return builder.build(builder.config.text, builder.config.source);
}

export async function handle(request: Request, env: GatewayEnv, wasm: WebAssembly.Module, defaultConfig: string, ctx?: ExecutionContext): Promise<Response> {
  const built = build(env, wasm, defaultConfig);
  const requestId = request.headers.get("cf-ray") ?? undefined;
  if (built instanceof GatewayError) {
    const id = requestId ?? "-";
    return errorResponse(built, id, requestLogger(id));
  }
  const admin = built.config.gateway.adminPath;
  if (admin && new URL(request.url).pathname === admin) {
    const id = requestId ?? crypto.randomUUID();
    const refused = adminRefusal(built.config.gateway, request.headers.get("authorization"), undefined);
    if (refused) return errorResponse(refused, id, requestLogger(id));
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("405 Method Not Allowed\n\nThe pool statistics answer GET only.\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    return poolStatsResponse(built.config, env.UPSTREAM_POOL, id);
  }
  // request.cf is parsed from JSON and deep-frozen at its first read, about a tenth of a small
  // request's CPU; every forwarded request needs two of its fields (the client's protocol, and
  // its own Accept-Encoding, which the platform rewrites in the header).
  const cf = request.cf;
  return built.gateway(request, {
    requestId,
    remoteAddr: request.headers.get("cf-connecting-ip") ?? undefined,
    protocol: cgiProtocol(cf?.httpProtocol as string | undefined),
    acceptEncoding: cf?.clientAcceptEncoding as string | undefined,
    tls: clientTlsFromCf(cf as Record<string, unknown> | undefined, request.url.startsWith("https:")),
    waitUntil: ctx ? (p) => ctx.waitUntil(p) : undefined,
  });
}
