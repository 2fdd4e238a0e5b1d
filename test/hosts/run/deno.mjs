// Deno: the codec compiled from the bytes of edgepass.wasm (loadCodec with a Uint8Array).
import { loadCodec } from "../../../dist/codec/index.js";
import { runCorpus } from "../../../.tmp/hosts/corpus.mjs";

const codec = await loadCodec(await Deno.readFile(new URL("../../../wasm/build/edgepass.wasm", import.meta.url)));
console.log(JSON.stringify(runCorpus(`deno ${Deno.version.deno}`, codec)));
