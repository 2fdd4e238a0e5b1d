// workerd: the .wasm imported as a compiled WebAssembly.Module (Workers refuse to compile
// bytes), handed to the synchronous createCodec.
import wasm from "../../../wasm/build/edgepass.wasm";
import { createCodec } from "../../../dist/codec/index.js";
import { runCorpus } from "../../../.tmp/hosts/corpus.mjs";

export default {
  fetch() {
    return Response.json(runCorpus("workerd", createCodec(wasm)));
  },
};
