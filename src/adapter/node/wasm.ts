// Node-side loading of the Wasm module: read wasm/build/edgepass.wasm (or its scalar twin,
// where this Node cannot compile SIMD) relative to the package root, compile it once, cache the
// Module. (Workers import the SIMD .wasm as a compiled Module instead; both hand it to
// createCodec.) EDGEPASS_WASM_BUILD=scalar forces the scalar twin, which is how the test suite
// runs the codec's vectors on both builds.

import { readFileSync } from "node:fs";
import { preferredWasmBuild, wasmFileName, type WasmBuild } from "../../codec/index.js";

const cached = new Map<WasmBuild, WebAssembly.Module>();

/** The build to load when none is named: EDGEPASS_WASM_BUILD if set, else what Node runs. */
export function defaultWasmBuild(): WasmBuild {
  const forced = process.env.EDGEPASS_WASM_BUILD;
  if (forced === "simd" || forced === "scalar") return forced;
  if (forced) throw new Error(`edgepass: EDGEPASS_WASM_BUILD must be "simd" or "scalar", got "${forced}"`);
  return preferredWasmBuild();
}

/** The compiled module of one build; throws with the fix when the build output is missing. */
export function loadWasmModuleFromDisk(build: WasmBuild = defaultWasmBuild()): WebAssembly.Module {
  const hit = cached.get(build);
  if (hit) return hit;
  const url = new URL(`../../../wasm/build/${wasmFileName(build)}`, import.meta.url);
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
  cached.set(build, module);
  return module;
}
