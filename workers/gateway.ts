// Worker entry. Required bindings: none. Optional vars:
//   EDGEPASS_CONFIG          TOML text that replaces the bundled edgepass.toml
//   EDGEPASS_CONFIG_SOURCE   the name to use for it in error messages
import wasm from "../wasm/build/edgepass.wasm";
import defaultConfig from "../edgepass.toml";
import { handle, type GatewayEnv } from "../src/adapter/cloudflare/handler.js";

export default {
  fetch(request, env) {
    return handle(request, env, wasm, defaultConfig);
  },
} satisfies ExportedHandler<GatewayEnv>;
