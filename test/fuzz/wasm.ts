// The codec under fuzzing, with a hold on its Wasm instance: the properties need the raw
// exports (to poison the bytes around an input) and the memory (to see it grow). createCodec
// makes its instance itself, so the constructor is wrapped for that one call; nothing in
// src/ changes for the test.

import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { createCodec } from "../../src/codec/index";
import type { Codec } from "../../src/codec/types";
import { checkExports, type WasmExports } from "../../src/codec/exports";

export interface FuzzCodec {
  codec: Codec;
  wasm: WasmExports;
  /** The linear memory's current size in bytes (it only grows, by memory.grow). */
  memoryBytes(): number;
}

export function fuzzCodec(): FuzzCodec {
  const Original = WebAssembly.Instance;
  let seen: WebAssembly.Instance | undefined;
  const Capturing = function (module: WebAssembly.Module, imports?: WebAssembly.Imports) {
    seen = new Original(module, imports);
    return seen;
  } as unknown as typeof WebAssembly.Instance;
  let codec: Codec;
  (WebAssembly as { Instance: typeof WebAssembly.Instance }).Instance = Capturing;
  try {
    codec = createCodec(loadWasmModuleFromDisk());
  } finally {
    (WebAssembly as { Instance: typeof WebAssembly.Instance }).Instance = Original;
  }
  if (!seen) throw new Error("fuzzCodec: createCodec made no WebAssembly.Instance");
  const wasm = checkExports(seen.exports);
  return { codec, wasm, memoryBytes: () => wasm.memory.buffer.byteLength };
}
