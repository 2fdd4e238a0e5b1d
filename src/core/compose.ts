// Config text → a gateway, built once per text and cached: the one composition every host
// calls (the Worker, the pool Durable Object, and the plain server host). A configuration that
// does not validate becomes CONFIG_INVALID (500 with the validation message on every request),
// so a bad deploy is obvious rather than silent.
import { loadConfig } from "../config/load.js";
import type { ConfigHost, GatewayConfig } from "../config/types.js";
import { Codes, GatewayError } from "./errors.js";
import { createGateway, type Gateway, type GatewayDeps } from "./gateway.js";

export interface Built {
  gateway: Gateway;
  config: GatewayConfig;
}

/** Everything createGateway needs but the config. */
export type HostDeps = Omit<GatewayDeps, "config">;

/** Returns a builder that keeps the last result for the same text and source; `host` is
 *  where the config runs (config/types.ts, ConfigHost). */
export function gatewayBuilder(deps: () => HostDeps, host: ConfigHost = "edge"): (text: string, source: string) => Built | GatewayError {
  let cached: { key: string; built: Built | GatewayError } | undefined;
  return (text, source) => {
    const key = source + "\0" + text;
    if (cached?.key === key) return cached.built;
    let built: Built | GatewayError;
    try {
      const config = loadConfig(text, source, host);
      built = { gateway: createGateway({ config, ...deps() }), config };
    } catch (e) {
      built = new GatewayError(Codes.CONFIG_INVALID, 500, `The gateway configuration is invalid: ${e instanceof Error ? e.message : String(e)}`);
    }
    cached = { key, built };
    return built;
  };
}
