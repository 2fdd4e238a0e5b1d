// Codec kernels against anchors measured in the same run: llhttp's own Wasm build (the one
// undici ships), Node's native llhttp binding, a plain TypeScript FastCGI implementation
// (bench/anchors/fastcgi-plain.ts) and the fastcgi-client npm library. Every contender does the
// same work on the same bytes, and outputs are compared before anything is timed.
// Not part of `npm test`: `npm run bench -- codec [--json]`.
import { readFileSync } from "node:fs";
import { createCodec } from "../src/codec/index.js";
import { defaultWasmBuild, loadWasmModuleFromDisk } from "../src/adapter/node/wasm.js";
import { wasmFileName } from "../src/codec/index.js";
import { fastcgiClientConnection } from "./anchors/fastcgi-client.js";
import { decodeResponse, encodeRequest } from "./anchors/fastcgi-plain.js";
import { llhttpWasm } from "./anchors/llhttp.js";
import { nodeNative } from "./anchors/node-http.js";
import { CHUNKED_HEAD, chunkedBody, fastcgiResponse, HEAD_4K, PARAMS, reads, REQUEST, RESPONSE, STDIN } from "./inputs.js";
import { alternate, median, table } from "./lib.js";

const json = process.argv.includes("--json");
// The build this Node loads (SIMD); EDGEPASS_WASM_BUILD=scalar times the scalar twin.
const build = defaultWasmBuild();
const module = loadWasmModuleFromDisk(build);
const codec = createCodec(module);
const LIMIT = 64 * 1024;

// --- HTTP heads ---
const llReq = llhttpWasm("REQUEST", "offsets");
const llRes = llhttpWasm("RESPONSE", "offsets");
const nodeReq = nodeNative("REQUEST");

const oursScanRequest = (buf: Uint8Array) => () => codec.scanHttpRequestHead(buf, LIMIT)!.fieldCount;
const oursScanResponse = () => codec.scanHttpResponseHead(RESPONSE, LIMIT, "GET")!.fieldCount;
const oursHeaders = () => {
  const h = codec.parseHttpRequestHead(REQUEST, LIMIT)!;
  return h.headers.length + h.target.length;
};

// --- chunked bodies, arriving as 64 KiB socket reads ---
function chunked(size: number) {
  const pieces = reads(chunkedBody(size));
  const ll = llhttpWasm("RESPONSE", "offsets");
  return {
    ours: () => {
      const d = codec.chunkedDecoder();
      let n = 0;
      for (const p of pieces) for (const x of d.push(p).data) n += x.length;
      d.free();
      return n;
    },
    llhttp: () => ll.stream(CHUNKED_HEAD, pieces),
  };
}
const ch16 = chunked(16);
const ch1k = chunked(1024);
const ch16k = chunked(16 * 1024);

// --- FastCGI ---
const EMPTY = new Uint8Array(0);
// One call: BEGIN_REQUEST, the pairs encoded straight into PARAMS records, STDIN.
const oursEncode = () => codec.fcgiRequest(1, 1, 1, PARAMS, STDIN).length;
const RESPONSE_404 = fastcgiResponse(1);
// One decoder per connection, as the pool keeps it: END_REQUEST frees the id for the next one.
const decoder = codec.fcgiDecoder("client");
const oursDecode = () => {
  const d = decoder;
  d.track(1);
  const stdout: Uint8Array[] = [];
  let ended = false;
  for (const e of d.push(RESPONSE_404)) {
    if (e.kind === "stream" && e.type === 6 && !e.end) stdout.push(e.data);
    else if (e.kind === "end-request") ended = true;
  }
  if (!ended) throw new Error("no END_REQUEST");
  const head = codec.parseCgiHead(stdout[0], LIMIT)!;
  let body = -head.bodyOffset;
  for (const d of stdout) body += d.length;
  return head.status + head.headers.length + body;
};
const plainDecode = () => {
  const r = decodeResponse(RESPONSE_404, 1);
  let body = 0;
  for (const d of r.body) body += d.length;
  return r.status + r.headers.length + body;
};
const lib = fastcgiClientConnection();
await lib.ready;
const paramsObject = Object.fromEntries(PARAMS);
const libEncode = () => {
  let n = 0;
  for (const b of lib.encodeRequest(1, paramsObject, STDIN)) n += b.length;
  return n;
};
const RESPONSE_404_BUFFER = Buffer.from(RESPONSE_404);
const libDecode = () => {
  const r = lib.decodeResponse(RESPONSE_404_BUFFER);
  let body = 0;
  for (const d of r.body) body += d.length;
  return r.status + r.headers.length + body;
};

// Same answers before any timing: a contender that skips work would win for nothing.
function same(what: string, results: Record<string, unknown>): void {
  const values = Object.entries(results).map(([k, v]) => [k, JSON.stringify(v)]);
  for (const [k, v] of values) if (v !== values[0][1]) throw new Error(`${what}: ${k} answers ${v}, ${values[0][0]} ${values[0][1]}`);
}
same("fastcgi-encode", {
  ours: Buffer.from(codec.fcgiRequest(1, 1, 1, PARAMS, STDIN)).toString("hex"),
  oursRecords: Buffer.concat([codec.fcgiBeginRequest(1, 1, 1), codec.fcgiParams(1, codec.fcgiEncodePairs(PARAMS)), codec.fcgiStream(5, 1, STDIN), codec.fcgiStream(5, 1, EMPTY)]).toString("hex"),
  plain: Buffer.from(encodeRequest(1, PARAMS, STDIN)).toString("hex"),
  lib: Buffer.concat(lib.encodeRequest(1, paramsObject, STDIN)).toString("hex"),
});
same("fastcgi-decode", { ours: oursDecode(), plain: plainDecode(), lib: libDecode() });
same("chunked-decode", { ours: ch16.ours(), ours1k: ch1k.ours(), ours16k: ch16k.ours(), llhttp: ch16.llhttp() });
{
  const h = codec.parseHttpRequestHead(REQUEST, LIMIT)!;
  const flat: string[] = [];
  for (const [n, v] of h.headers) flat.push(n, v);
  let nodeHeaders: string[] = [];
  const { HTTPParser } = (await import("node:module")).createRequire(import.meta.url)("node:_http_common");
  const p = new HTTPParser();
  p[HTTPParser.kOnHeadersComplete] = (_a: number, _b: number, headers: string[]) => (nodeHeaders = headers);
  p.initialize(HTTPParser.REQUEST, {});
  p.execute(Buffer.from(REQUEST));
  same("http-headers-to-js", { ours: flat, node: nodeHeaders });
}

type Kernel = { name: string; what: string; ours: () => unknown; anchors: Record<string, () => unknown> };
const kernels: Kernel[] = [
  { name: "http-head-parse-request", what: `request head, ${REQUEST.length} B, offsets`, ours: oursScanRequest(REQUEST), anchors: { "llhttp wasm": () => llReq.message(REQUEST) } },
  { name: "http-head-parse-response", what: `response head, ${RESPONSE.length} B, offsets`, ours: oursScanResponse, anchors: { "llhttp wasm": () => llRes.message(RESPONSE) } },
  { name: "http-head-parse-4k", what: `request head, ${HEAD_4K.length} B, 32 fields, offsets`, ours: oursScanRequest(HEAD_4K), anchors: { "llhttp wasm": () => llReq.message(HEAD_4K) } },
  { name: "http-headers-to-js", what: `request head, ${REQUEST.length} B, JS strings`, ours: oursHeaders, anchors: { "node native": () => nodeReq(REQUEST) } },
  { name: "chunked-decode-16b", what: "256 KiB in 16 B chunks", ours: ch16.ours, anchors: { "llhttp wasm": ch16.llhttp } },
  { name: "chunked-decode-1k", what: "256 KiB in 1 KiB chunks", ours: ch1k.ours, anchors: { "llhttp wasm": ch1k.llhttp } },
  { name: "chunked-decode-16k", what: "256 KiB in 16 KiB chunks", ours: ch16k.ours, anchors: { "llhttp wasm": ch16k.llhttp } },
  { name: "fastcgi-encode", what: "BEGIN + 30 params + 4 KiB STDIN", ours: oursEncode, anchors: { "plain TS": () => encodeRequest(1, PARAMS, STDIN).length, "fastcgi-client": libEncode } },
  { name: "fastcgi-decode", what: "Status: 404 head + 16 KiB body", ours: oursDecode, anchors: { "plain TS": plainDecode, "fastcgi-client": libDecode } },
];

const fmt = (opsPerS: number) => (opsPerS >= 1e6 ? `${(opsPerS / 1e6).toFixed(2)} M/s` : `${(opsPerS / 1e3).toFixed(1)} k/s`);
const results: Record<string, { ours: number; anchor: number; anchorName: string; ratio: number; anchors: Record<string, number> }> = {};
const rows: Array<Record<string, string>> = [];
// BENCH_KERNELS=chunked,fastcgi times only kernels whose name contains one of the words.
const pick = process.env.BENCH_KERNELS?.split(",");
// Every contender runs a little before any is timed, so the first kernel timed does not also
// pay for the JIT warming up shared code (the codec's, the anchors' glue).
for (const k of kernels) {
  if (pick && !pick.some((w) => k.name.includes(w))) continue;
  for (const fn of [k.ours, ...Object.values(k.anchors)]) for (const t = performance.now(); performance.now() - t < 50; ) fn();
}
for (const k of kernels) {
  if (pick && !pick.some((w) => k.name.includes(w))) continue;
  const ops = alternate({ ours: k.ours, ...k.anchors });
  const anchors = Object.fromEntries(Object.keys(k.anchors).map((a) => [a, Math.round(ops[a])]));
  // The binding anchor is the fastest one: every target ratio is against each anchor.
  const anchorName = Object.keys(k.anchors).reduce((a, b) => (ops[a] >= ops[b] ? a : b));
  const ratio = ops.ours / ops[anchorName];
  results[k.name] = { ours: Math.round(ops.ours), anchor: Math.round(ops[anchorName]), anchorName, ratio: Number(ratio.toFixed(2)), anchors };
  rows.push({
    kernel: k.name,
    input: k.what,
    edgepass: `${fmt(ops.ours)} (${(1e9 / ops.ours).toFixed(0)} ns)`,
    anchors: Object.keys(k.anchors).map((a) => `${a} ${fmt(ops[a])}`).join(", "),
    ratio: Object.keys(k.anchors).map((a) => `${(ops.ours / ops[a]).toFixed(2)}x`).join(" / "),
  });
}
table("Codec kernels, operations per second (median of 9 alternating rounds); ratio > 1: edgepass faster", rows);

// Module size and the cost of making a codec from the compiled module (what each isolate pays).
const sizeOf = (b: "simd" | "scalar") => readFileSync(new URL(`../wasm/build/${wasmFileName(b)}`, import.meta.url)).length;
const bytes = sizeOf(build);
const times: number[] = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  createCodec(module);
  times.push(performance.now() - t);
}
const instantiateMs = Number(median(times).toFixed(3));
console.log(`\nWasm module: ${build} build (${wasmFileName(build)}), ${bytes} bytes (simd ${sizeOf("simd")}, scalar ${sizeOf("scalar")}); createCodec from the compiled module: ${instantiateMs} ms (median of 50)`);
if (json) console.log(JSON.stringify({ kernels: results, worker: {}, wasm: { build, bytes, instantiateMs, bytesByBuild: { simd: sizeOf("simd"), scalar: sizeOf("scalar") } } }));
