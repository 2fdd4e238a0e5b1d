// Node-side loading of the Wasm module: read wasm/build/edgepass.wasm relative to the package
// root, compile it once, cache the Module. (Workers import the .wasm as a compiled Module
// instead; both hand it to createCodec.)

import { readFileSync } from "node:fs";

let cached: WebAssembly.Module | undefined;

/** The compiled edgepass.wasm; throws with the fix when the build output is missing. */
export function loadWasmModuleFromDisk(): WebAssembly.Module {
  if (cached) return cached;
  const url = new URL("../../../wasm/build/edgepass.wasm", import.meta.url);
  let bytes: Buffer;
  try {
    bytes = readFileSync(url);
  } catch (e) {
    throw new Error(`edgepass: cannot read the Wasm module (${(e as Error).message}); run \`npm run build\` first`);
  }
  // Node compiles synchronously from bytes (only browsers' main threads cap that); the type
  // cast is needed because the Workers types in this project declare Module non-constructible.
  const Module = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module;
  const module = new Module(bytes);
  cached = module;
  return module;
}
