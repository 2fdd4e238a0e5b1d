// Worker entry. Required bindings: none. Optional:
//   EDGEPASS_CONFIG          TOML text that replaces the bundled edgepass.toml
//   EDGEPASS_CONFIG_SOURCE   the name to use for it in error messages
//   UPSTREAM_POOL            the UpstreamPool Durable Object namespace: pooled upstreams keep
//                            their connections there; without it every request dials
//   LIMITS                   the LimitCounter Durable Object namespace: limit_req and
//                            limit_conn counts, one object per count; without it each
//                            isolate counts on its own
import wasm from "../wasm/build/edgepass.wasm";
import defaultConfig from "../edgepass.toml";
import { handle, type GatewayEnv } from "../src/adapter/cloudflare/handler.js";

export { UpstreamPool } from "./upstream-pool.js";
export { LimitCounter } from "./limit-counter.js";

export default {
  fetch(request, env, ctx) {
    return handle(request, env, wasm, defaultConfig, ctx);
  },
} satisfies ExportedHandler<GatewayEnv>;
