// Builds the gateway once per isolate from the bindings: the Wasm module the Worker imported,
// and the configuration (EDGEPASS_CONFIG when set, else the TOML bundled with the Worker).
// A configuration error answers every request with 500 and the validation message, so a bad
// deploy is obvious rather than silent.
import { createCodec } from "../../codec/index.js";
import { loadConfig } from "../../config/load.js";
import { createGateway, type Gateway } from "../../core/gateway.js";
import { requestLogger } from "../../core/log.js";
import { GatewayError, Codes } from "../../core/errors.js";
import { errorResponse } from "../../core/error-response.js";
import { dialCloudflare } from "./dial.js";

export interface GatewayEnv {
  EDGEPASS_CONFIG?: string;
  EDGEPASS_CONFIG_SOURCE?: string;
}

let cached: { key: string; gateway: Gateway | GatewayError } | undefined;

export function gatewayFor(env: GatewayEnv, wasm: WebAssembly.Module, defaultConfig: string): Gateway | GatewayError {
  const text = env.EDGEPASS_CONFIG ?? defaultConfig;
  const source = env.EDGEPASS_CONFIG ? (env.EDGEPASS_CONFIG_SOURCE ?? "EDGEPASS_CONFIG") : "edgepass.toml";
  const key = source + "\0" + text;
  if (cached?.key === key) return cached.gateway;
  let gateway: Gateway | GatewayError;
  try {
    gateway = createGateway({ config: loadConfig(text, source), codec: createCodec(wasm), dial: dialCloudflare });
  } catch (e) {
    gateway = new GatewayError(Codes.CONFIG_INVALID, 500, `The gateway configuration is invalid: ${e instanceof Error ? e.message : String(e)}`);
  }
  cached = { key, gateway };
  return gateway;
}

export async function handle(request: Request, env: GatewayEnv, wasm: WebAssembly.Module, defaultConfig: string): Promise<Response> {
  const gateway = gatewayFor(env, wasm, defaultConfig);
  const requestId = request.headers.get("cf-ray") ?? undefined;
  if (gateway instanceof GatewayError) {
    const id = requestId ?? "-";
    return errorResponse(gateway, id, requestLogger(id));
  }
  return gateway(request, {
    requestId,
    remoteAddr: request.headers.get("cf-connecting-ip") ?? undefined,
    protocol: (request.cf?.httpProtocol as string | undefined) ?? "HTTP/1.1",
  });
}
