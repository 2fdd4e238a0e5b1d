// Runs the real gateway (codec from the real Wasm module, real connect() sockets) inside
// workerd, with a configuration written by each test and a log it can read back.
import wasm from "../../wasm/build/edgepass.wasm";
import { createCodec } from "../../src/codec/index.js";
import { loadConfig } from "../../src/config/load.js";
import { createGateway } from "../../src/core/gateway.js";
import { dialCloudflare } from "../../src/adapter/cloudflare/dial.js";
import { filesFor, type GatewayEnv } from "../../src/adapter/cloudflare/handler.js";

export interface Harness {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  lines: string[];
}

/** `env`: the bindings the gateway's file stores come from (ASSETS, an R2 bucket), as the
 *  Worker handler finds them. */
export function harness(toml: string, env?: GatewayEnv): Harness {
  const lines: string[] = [];
  const config = loadConfig(toml, "test.toml");
  const gateway = createGateway({
    config,
    codec: createCodec(wasm),
    dial: dialCloudflare,
    sink: (_level, line) => lines.push(line),
    files: env ? filesFor(config, env) : null,
  });
  return {
    lines,
    fetch: (path, init) =>
      gateway(new Request(`http://gw.test${path}`, init), {
        remoteAddr: "203.0.113.7",
        requestId: `t${lines.length}`,
        acceptEncoding: init?.headers ? new Headers(init.headers).get("accept-encoding") : null,
      }),
  };
}

export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A deterministic byte pattern, so big bodies can be checked without storing them. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
