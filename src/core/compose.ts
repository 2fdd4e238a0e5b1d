// Config text → a gateway, built once per text and cached: the one composition every host
// calls (the Worker, the pool Durable Object, and the plain server host). A configuration that
// does not validate becomes CONFIG_INVALID (500 with the validation message on every request),
// so a bad deploy is obvious rather than silent.
import { loadConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import { Codes, GatewayError } from "./errors.js";
import { createGateway, type Gateway, type GatewayDeps } from "./gateway.js";

export interface Built<Out = Response> {
  gateway: Gateway<Out>;
  config: GatewayConfig;
}

/** Everything createGateway needs but the config. */
export type HostDeps<Out = Response> = Omit<GatewayDeps<Out>, "config">;

/** How a host reads its config text (where relative paths resolve, which host it runs on). */
export type Load = (text: string, source: string) => GatewayConfig;

/** Returns a builder that keeps the last result for the same text and source. `deps` may
 *  depend on the config (the file store its [assets] name). */
export function gatewayBuilder<Out = Response>(deps: (config: GatewayConfig) => HostDeps<Out>, load: Load = loadConfig): (text: string, source: string) => Built<Out> | GatewayError {
  let cached: { key: string; built: Built<Out> | GatewayError } | undefined;
  return (text, source) => {
    const key = source + "\0" + text;
    if (cached?.key === key) return cached.built;
    let built: Built<Out> | GatewayError;
    try {
      const config = load(text, source);
      built = { gateway: createGateway<Out>({ config, ...deps(config) }), config };
    } catch (e) {
      built = new GatewayError(Codes.CONFIG_INVALID, 500, `The gateway configuration is invalid: ${e instanceof Error ? e.message : String(e)}`);
    }
    cached = { key, built };
    return built;
  };
}
