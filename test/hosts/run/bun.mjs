// Bun: the codec compiled from the bytes of the build this host runs (loadCodec with an
// ArrayBuffer; edgepass.wasm where Wasm SIMD compiles, else edgepass-scalar.wasm).
import { loadCodec, preferredWasmBuild, wasmFileName } from "../../../dist/codec/index.js";
import { runCorpus } from "../../../.tmp/hosts/corpus.mjs";

const codec = await loadCodec(await Bun.file(new URL(`../../../wasm/build/${wasmFileName(preferredWasmBuild())}`, import.meta.url)).arrayBuffer());
console.log(JSON.stringify(runCorpus(`bun ${Bun.version} (${codec.build})`, codec)));
