// createCodec: the one place a WebAssembly instance is made. It is handed a compiled Module
// (the Cloudflare Worker imports the .wasm as one and may not compile bytes; Node callers
// compile it themselves, see src/adapter/node/wasm.ts) and instantiates it synchronously.
// The codec is not re-entrant: each call runs to completion before the next uses the scratch
// buffers, which JavaScript's run-to-completion guarantees as long as nothing awaits inside.

import { ABI_VERSION } from "../../wasm/abi/layout";
import { CgiCodec } from "./cgi";
import { checkExports } from "./exports";
import { FastcgiCodec } from "./fastcgi";
import { WasmFcgiDecoder } from "./fcgi-decoder";
import { WasmChunkedDecoder } from "./http-chunked";
import { Http1 } from "./http1";
import { Scratch, WasmHeap } from "./memory";
import type { EdgeCodec } from "./types";

export * from "./types";

export function createCodec(module: WebAssembly.Module): EdgeCodec {
  const instance = new WebAssembly.Instance(module, {});
  const wasm = checkExports(instance.exports);
  if (wasm.abi_version() !== ABI_VERSION) {
    throw new Error(`edgepass codec: Wasm ABI version ${wasm.abi_version()}, codec expects ${ABI_VERSION}; rebuild with \`npm run build\``);
  }
  const heap = new WasmHeap(wasm);
  const input = new Scratch(heap, 64 * 1024);
  const output = new Scratch(heap, 64 * 1024);
  const fastcgi = new FastcgiCodec(heap, input, output);
  const cgi = new CgiCodec(heap, input, output);
  const http1 = new Http1(heap, input, output);
  return {
    fcgiBeginRequest: (id, role, flags) => fastcgi.beginRequest(id, role, flags),
    fcgiParams: (id, encoded) => fastcgi.params(id, encoded),
    fcgiStream: (type, id, data) => fastcgi.stream(type, id, data),
    fcgiAbortRequest: (id) => fastcgi.abortRequest(id),
    fcgiGetValues: (names) => fastcgi.getValues(names),
    fcgiEndRequest: (id, appStatus, protocolStatus) => fastcgi.endRequest(id, appStatus, protocolStatus),
    fcgiGetValuesResult: (pairs) => fastcgi.getValuesResult(pairs),
    fcgiDecodePairs: (encoded) => fastcgi.decodePairs(encoded),
    fcgiDecoder: (mode) => new WasmFcgiDecoder(heap, input, fastcgi, mode),
    buildCgiParams: (input) => cgi.buildParams(input),
    parseCgiHead: (buf, limit) => cgi.parseHead(buf, limit),
    fcgiUnknownType: (type) => fastcgi.unknownType(type),
    fcgiEncodePairs: (pairs) => fastcgi.encodePairs(pairs),
    parseHttpResponseHead: (buf, limit, requestMethod) => http1.parseResponseHead(buf, limit, requestMethod),
    parseHttpRequestHead: (buf, limit) => http1.parseRequestHead(buf, limit),
    chunkedDecoder: () => new WasmChunkedDecoder(heap, input),
    encodeChunk: (data) => http1.encodeChunk(data),
  };
}
