// Node: the codec compiled from the bytes of edgepass.wasm (loadCodec with a Uint8Array).
import { readFile } from "node:fs/promises";
import { loadCodec } from "../../../dist/codec/index.js";
import { runCorpus } from "../../../.tmp/hosts/corpus.mjs";

const codec = await loadCodec(await readFile(new URL("../../../wasm/build/edgepass.wasm", import.meta.url)));
console.log(JSON.stringify(runCorpus(`node ${process.version}`, codec)));
