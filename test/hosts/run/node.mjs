// Node: the codec compiled from the bytes of the build this host runs (loadCodec with a
// Uint8Array; edgepass.wasm where Wasm SIMD compiles, else edgepass-scalar.wasm).
import { readFile } from "node:fs/promises";
import { loadCodec, preferredWasmBuild, wasmFileName } from "../../../dist/codec/index.js";
import { runCorpus } from "../../../.tmp/hosts/corpus.mjs";

const codec = await loadCodec(await readFile(new URL(`../../../wasm/build/${wasmFileName(preferredWasmBuild())}`, import.meta.url)));
console.log(JSON.stringify(runCorpus(`node ${process.version} (${codec.build})`, codec)));
