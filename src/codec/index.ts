// The codec's entry point, published as `edgepass/codec`: the one place a WebAssembly instance
// is made. It runs in any JavaScript host (Node, Deno, Bun, browsers, workerd) and so names no
// host API: the caller hands it the module, compiled or as bytes. Cloudflare Workers import the
// .wasm as a compiled Module (they refuse to compile bytes); other hosts may pass bytes or a
// fetch() Response. The codec is not re-entrant: each call runs to completion before the next
// uses the scratch buffers, which JavaScript's run-to-completion guarantees as nothing awaits.

import { ABI_VERSION } from "../../wasm/abi/layout.js";
import { CgiCodec } from "./cgi.js";
import { checkExports } from "./exports.js";
import { FastcgiCodec } from "./fastcgi.js";
import { WasmFcgiDecoder } from "./fcgi-decoder.js";
import { WasmChunkedDecoder } from "./http-chunked.js";
import { Http1 } from "./http1.js";
import { Scratch, WasmHeap } from "./memory.js";
import { preferredWasmBuild } from "./simd.js";
import type { Codec } from "./types.js";

export * from "./types.js";
export { ABI_VERSION };
export { preferredWasmBuild, wasmFileName, wasmSimdSupported } from "./simd.js";

/** What the codec can be made from: the compiled module, or the bytes of edgepass.wasm. */
export type WasmSource = WebAssembly.Module | ArrayBuffer | ArrayBufferView;

/** Both builds (edgepass.wasm, edgepass-scalar.wasm): the codec makes itself from the one this
 *  host can run (preferredWasmBuild()). */
export interface WasmBuilds<T> {
  simd: T;
  scalar: T;
}

function isBuilds<T>(x: unknown): x is WasmBuilds<T> {
  return typeof x === "object" && x !== null && "simd" in x && "scalar" in x;
}

/** Synchronous: from a compiled module, or from bytes where the host may compile them
 *  synchronously (Node, Deno, Bun, browser workers; not Cloudflare Workers, and browsers' main
 *  thread only for small modules — use loadCodec there). */
export function createCodec(source: WasmSource | WasmBuilds<WasmSource>): Codec {
  if (isBuilds<WasmSource>(source)) source = source[preferredWasmBuild()];
  return instantiate(source instanceof WebAssembly.Module ? source : compileSync(source));
}

/** Asynchronous: also takes a fetch() Response (or its promise), compiled while it streams
 *  when the host supports that and the server sends `Content-Type: application/wasm`. */
export async function loadCodec(
  source: WasmSource | Response | PromiseLike<Response> | WasmBuilds<WasmSource | Response | PromiseLike<Response>>,
): Promise<Codec> {
  if (isBuilds<WasmSource | Response | PromiseLike<Response>>(source)) source = source[preferredWasmBuild()];
  if (source instanceof WebAssembly.Module) return instantiate(source);
  if (isBytes(source)) return instantiate(await compile(source));
  const res = await source;
  if (!res.ok) throw new Error(`edgepass codec: fetching the Wasm module answered ${res.status} ${res.statusText}`);
  const streaming = (WebAssembly as { compileStreaming?: (r: Response) => Promise<WebAssembly.Module> }).compileStreaming;
  if (streaming && res.headers.get("content-type")?.split(";")[0].trim() === "application/wasm") {
    return instantiate(await streaming(res));
  }
  return instantiate(await compile(await res.arrayBuffer()));
}

function isBytes(x: unknown): x is ArrayBuffer | ArrayBufferView {
  return x instanceof ArrayBuffer || ArrayBuffer.isView(x);
}

// Declared here because the Workers types in this project leave it out.
type WasmCompile = { compile(bytes: BufferSource): Promise<WebAssembly.Module> };

async function compile(bytes: ArrayBuffer | ArrayBufferView): Promise<WebAssembly.Module> {
  try {
    return await (WebAssembly as unknown as WasmCompile).compile(bytes as BufferSource);
  } catch (e) {
    throw compileError(e);
  }
}

function compileSync(bytes: ArrayBuffer | ArrayBufferView): WebAssembly.Module {
  // The Workers types declare Module non-constructible; every other host can construct it.
  const Module = WebAssembly.Module as unknown as new (bytes: BufferSource) => WebAssembly.Module;
  try {
    return new Module(bytes as BufferSource);
  } catch (e) {
    throw compileError(e);
  }
}

function compileError(e: unknown): Error {
  const why = e instanceof Error ? e.message : String(e);
  return new Error(
    `edgepass codec: cannot compile the Wasm module (${why}). If this host refuses to compile ` +
      "Wasm from bytes (Cloudflare Workers), import edgepass.wasm as a module and pass that; " +
      "if the bytes are not edgepass.wasm, rebuild it with `npm run build`",
  );
}

function instantiate(module: WebAssembly.Module): Codec {
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
    fcgiStreamPieces: (type, id, data) => fastcgi.streamPieces(type, id, data),
    fcgiRequest: (id, role, flags, params, stdin) => fastcgi.request(id, role, flags, params, stdin),
    fcgiAbortRequest: (id) => fastcgi.abortRequest(id),
    fcgiGetValues: (names) => fastcgi.getValues(names),
    fcgiEndRequest: (id, appStatus, protocolStatus) => fastcgi.endRequest(id, appStatus, protocolStatus),
    fcgiGetValuesResult: (pairs) => fastcgi.getValuesResult(pairs),
    fcgiDecodePairs: (encoded) => fastcgi.decodePairs(encoded),
    fcgiUnknownType: (type) => fastcgi.unknownType(type),
    fcgiEncodePairs: (pairs) => fastcgi.encodePairs(pairs),
    fcgiDecoder: (mode) => new WasmFcgiDecoder(heap, input, fastcgi, mode),
    buildCgiParams: (input) => cgi.buildParams(input),
    fcgiRequestFromCgi: (input, role, flags) => cgi.fcgiRequest(input, role, flags),
    parseCgiHead: (buf, limit) => cgi.parseHead(buf, limit),
    parseHttpResponseHead: (buf, limit, requestMethod) => http1.parseResponseHead(buf, limit, requestMethod),
    parseHttpRequestHead: (buf, limit) => http1.parseRequestHead(buf, limit),
    scanHttpResponseHead: (buf, limit, requestMethod) => http1.scanResponseHead(buf, limit, requestMethod),
    scanHttpRequestHead: (buf, limit) => http1.scanRequestHead(buf, limit),
    chunkedDecoder: () => new WasmChunkedDecoder(heap, input),
    encodeChunk: (data) => http1.encodeChunk(data),
    encodeChunkPieces: (data) => http1.encodeChunkPieces(data),
    build: wasm.simd_build() === 1 ? "simd" : "scalar",
  };
}
