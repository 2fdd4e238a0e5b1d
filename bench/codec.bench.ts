// Parser throughput: edgepass's Wasm HTTP/1.1 head parser and chunked decoder against two
// anchors measured in the same run — llhttp's own Wasm build (the one undici ships) and Node's
// built-in native llhttp (node:_http_common). Every parser does the same work a caller needs:
// it turns the bytes into a status/method, and header names and values as JS strings.
// Not part of `npm test`: run with `npm run bench`.
import { createRequire } from "node:module";
import { createCodec } from "../src/codec/index.js";
import { loadWasmModuleFromDisk } from "../src/adapter/node/wasm.js";
import { table, timeIt } from "./lib.js";

const require = createRequire(import.meta.url);
const latin1 = new TextDecoder("latin1");

const RESPONSE = Buffer.from(
  "HTTP/1.1 200 OK\r\nDate: Tue, 24 Nov 2026 03:00:00 GMT\r\nContent-Type: text/html; charset=UTF-8\r\n" +
    "Content-Length: 5120\r\nConnection: keep-alive\r\nCache-Control: private, max-age=0\r\n" +
    "Set-Cookie: session=3f2a9c; Path=/; HttpOnly; Secure\r\nSet-Cookie: theme=dark; Path=/\r\n" +
    "X-Powered-By: PHP/8.2.36\r\nVary: Accept-Encoding\r\nStrict-Transport-Security: max-age=31536000\r\n" +
    "X-Frame-Options: SAMEORIGIN\r\n\r\n",
);
const REQUEST = Buffer.from(
  "GET /blog/2026/11/hello-world/?utm_source=feed&utm_medium=rss HTTP/1.1\r\nHost: www.example.org\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36\r\n" +
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-GB,en;q=0.9\r\n" +
    "Accept-Encoding: gzip, deflate, br\r\nCookie: session=3f2a9c; theme=dark; consent=yes\r\n" +
    "Referer: https://www.example.org/\r\nUpgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\n" +
    "Sec-Fetch-Mode: navigate\r\nSec-Fetch-Site: same-origin\r\nConnection: keep-alive\r\n\r\n",
);
const CHUNKED_BODY = (() => {
  const parts: Buffer[] = [Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")];
  const piece = Buffer.alloc(4096, 0x61);
  for (let i = 0; i < 64; i++) parts.push(Buffer.from("1000\r\n"), piece, Buffer.from("\r\n"));
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
})();

// --- edgepass ---
const codec = createCodec(await loadWasmModuleFromDisk());
const oursResponse = () => codec.parseHttpResponseHead(RESPONSE, 65536, "GET")!.headers.length;
const oursRequest = () => codec.parseHttpRequestHead(REQUEST, 65536)!.headers.length;
const oursChunked = () => {
  const head = codec.parseHttpResponseHead(CHUNKED_BODY, 65536, "GET")!;
  const d = codec.chunkedDecoder();
  const r = d.push(CHUNKED_BODY.subarray(head.bodyOffset));
  d.free();
  let n = 0;
  for (const x of r.data) n += x.byteLength;
  return n;
};

// --- llhttp, undici's Wasm build ---
function llhttpWasm(type: "REQUEST" | "RESPONSE") {
  const constants = require("undici/lib/llhttp/constants.js");
  // Node compiles Wasm from bytes (only Workers refuse to); the cast is for the Workers types.
  const mod = new (WebAssembly.Module as unknown as new (b: Uint8Array) => WebAssembly.Module)(require("undici/lib/llhttp/llhttp-wasm.js"));
  let mem: Uint8Array;
  let fields: string[] = [];
  let bodyBytes = 0;
  const text = (at: number, len: number) => latin1.decode(mem.subarray(at, at + len));
  const inst = new WebAssembly.Instance(mod, {
    env: {
      wasm_on_url: (_p: number, at: number, len: number) => (fields.push(text(at, len)), 0),
      wasm_on_status: () => 0,
      wasm_on_message_begin: () => 0,
      wasm_on_header_field: (_p: number, at: number, len: number) => (fields.push(text(at, len)), 0),
      wasm_on_header_value: (_p: number, at: number, len: number) => (fields.push(text(at, len)), 0),
      wasm_on_headers_complete: () => 0,
      wasm_on_body: (_p: number, _at: number, len: number) => ((bodyBytes += len), 0),
      wasm_on_message_complete: () => 0,
    },
  });
  const ll = inst.exports as Record<string, any>;
  ll._initialize?.();
  const parser = ll.llhttp_alloc(constants.TYPE[type]);
  const buf = ll.malloc(1 << 20);
  return (input: Buffer) => {
    mem = new Uint8Array(ll.memory.buffer);
    mem.set(input, buf);
    fields = [];
    bodyBytes = 0;
    ll.llhttp_reset(parser);
    const rc = ll.llhttp_execute(parser, buf, input.length);
    if (rc !== 0) throw new Error(`llhttp error ${rc}`);
    return fields.length + bodyBytes;
  };
}

// --- Node's native llhttp ---
function nodeNative(type: "REQUEST" | "RESPONSE") {
  const { HTTPParser } = require("node:_http_common");
  const p = new HTTPParser();
  let n = 0;
  p[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, headers: string[]) => {
    n = headers.length;
  };
  p[HTTPParser.kOnBody] = (b: Buffer) => {
    n += b.length;
  };
  p[HTTPParser.kOnMessageComplete] = () => {};
  return (input: Buffer) => {
    p.initialize(HTTPParser[type], {});
    const r = p.execute(input);
    if (r instanceof Error) throw r;
    return n;
  };
}

const llRes = llhttpWasm("RESPONSE");
const llReq = llhttpWasm("REQUEST");
const nodeRes = nodeNative("RESPONSE");
const nodeReq = nodeNative("REQUEST");

const cases = [
  { name: `response head (${RESPONSE.length} B, 12 fields)`, bytes: RESPONSE.length, ours: oursResponse, llhttp: () => llRes(RESPONSE), node: () => nodeRes(RESPONSE) },
  { name: `request head (${REQUEST.length} B, 13 fields)`, bytes: REQUEST.length, ours: oursRequest, llhttp: () => llReq(REQUEST), node: () => nodeReq(REQUEST) },
  { name: `chunked 256 KiB (64 chunks)`, bytes: CHUNKED_BODY.length, ours: oursChunked, llhttp: () => llRes(CHUNKED_BODY), node: () => nodeRes(CHUNKED_BODY) },
];

/** bytes per nanosecond × 1000 = MB/s */
const mbps = (bytes: number, ns: number) => ((bytes / ns) * 1000).toFixed(0);

const rows = [];
for (const c of cases) {
  const ours = timeIt(c.ours);
  const ll = timeIt(c.llhttp);
  const node = timeIt(c.node);
  rows.push({
    case: c.name,
    "edgepass wasm": `${mbps(c.bytes, ours)} MB/s (${ours.toFixed(0)} ns)`,
    "llhttp wasm (undici)": `${mbps(c.bytes, ll)} MB/s (${ll.toFixed(0)} ns)`,
    "node native llhttp": `${mbps(c.bytes, node)} MB/s (${node.toFixed(0)} ns)`,
    "vs llhttp wasm": `${(ll / ours).toFixed(2)}x`,
    "vs node native": `${(node / ours).toFixed(2)}x`,
  });
}
table("HTTP/1.1 parsing, time per message (lower is better); ratio > 1 means edgepass is faster", rows);
