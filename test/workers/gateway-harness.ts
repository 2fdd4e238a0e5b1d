// Runs the real gateway (codec from the real Wasm module, real connect() sockets) inside
// workerd, with a configuration written by each test and a log it can read back.
import wasm from "../../wasm/build/edgepass.wasm";
import { createCodec } from "../../src/codec/index.js";
import { loadConfig } from "../../src/config/load.js";
import { createGateway } from "../../src/core/gateway.js";
import { dialCloudflare } from "../../src/adapter/cloudflare/dial.js";

export interface Harness {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  lines: string[];
}

export function harness(toml: string): Harness {
  const lines: string[] = [];
  const gateway = createGateway({
    config: loadConfig(toml, "test.toml"),
    codec: createCodec(wasm),
    dial: dialCloudflare,
    sink: (_level, line) => lines.push(line),
  });
  return {
    lines,
    fetch: (path, init) =>
      gateway(new Request(`http://gw.test${path}`, init), { remoteAddr: "203.0.113.7", requestId: `t${lines.length}` }),
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
