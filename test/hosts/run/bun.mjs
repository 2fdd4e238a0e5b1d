// Bun: the codec compiled from the bytes of edgepass.wasm (loadCodec with an ArrayBuffer).
import { loadCodec } from "../../../dist/codec/index.js";
import { runCorpus } from "../../../.tmp/hosts/corpus.mjs";

const codec = await loadCodec(await Bun.file(new URL("../../../wasm/build/edgepass.wasm", import.meta.url)).arrayBuffer());
console.log(JSON.stringify(runCorpus(`bun ${Bun.version}`, codec)));
