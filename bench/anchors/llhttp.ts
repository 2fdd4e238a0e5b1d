// Anchor: llhttp's own Wasm build, the one undici ships, driven the way undici drives it: each
// input is copied into the instance's memory and llhttp_execute calls back per span. In
// "offsets" mode the callbacks only record (offset, length) pairs; in "strings" mode they build
// latin-1 strings the way a caller would need them. Body data becomes a view of the caller's
// input per span, as undici's onBody does and as edgepass's decoder returns it.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const latin1 = new TextDecoder("latin1");

export type LlhttpMode = "offsets" | "strings";

export function llhttpWasm(type: "REQUEST" | "RESPONSE", mode: LlhttpMode) {
  const constants = require("undici/lib/llhttp/constants.js");
  // Node compiles Wasm from bytes (only Workers refuse to); the cast is for the Workers types.
  const Module = WebAssembly.Module as unknown as new (b: Uint8Array) => WebAssembly.Module;
  const mod = new Module(require("undici/lib/llhttp/llhttp-wasm.js"));
  let mem = new Uint8Array(0);
  let base = 0;
  const spans = new Int32Array(2 * 4096);
  let nSpans = 0;
  let fields: string[] = [];
  let bodyBytes = 0;
  let input: Uint8Array = new Uint8Array(0);
  const span = mode === "offsets"
    ? (_p: number, at: number, len: number) => {
        spans[nSpans++] = at - base;
        spans[nSpans++] = len;
        return 0;
      }
    : (_p: number, at: number, len: number) => {
        fields.push(latin1.decode(mem.subarray(at, at + len)));
        return 0;
      };
  const inst = new WebAssembly.Instance(mod, {
    env: {
      wasm_on_url: span,
      wasm_on_status: span,
      wasm_on_message_begin: () => 0,
      wasm_on_header_field: span,
      wasm_on_header_value: span,
      wasm_on_headers_complete: () => 0,
      wasm_on_body: (_p: number, at: number, len: number) => {
        bodyBytes += new Uint8Array(input.buffer, input.byteOffset + at - base, len).length;
        return 0;
      },
      wasm_on_message_complete: () => 0,
      wasm_on_chunk_header: () => 0,
      wasm_on_chunk_complete: () => 0,
    },
  });
  const ll = inst.exports as Record<string, any>;
  ll._initialize?.();
  const parser = ll.llhttp_alloc(constants.TYPE[type]);
  const bufSize = 1 << 20;
  base = ll.malloc(bufSize);
  const feed = (bytes: Uint8Array): void => {
    input = bytes;
    mem = new Uint8Array(ll.memory.buffer);
    mem.set(bytes, base);
    const rc = ll.llhttp_execute(parser, base, bytes.length);
    if (rc !== 0) throw new Error(`llhttp error ${rc}`);
  };
  return {
    /** One message from its start: returns what it saw so the work cannot be skipped. */
    message(input: Uint8Array): number {
      nSpans = 0;
      fields = [];
      bodyBytes = 0;
      ll.llhttp_reset(parser);
      feed(input);
      return nSpans + fields.length + bodyBytes;
    },
    /** A message whose head is `head` and whose body arrives as `pieces` (socket reads). */
    stream(head: Uint8Array, pieces: Uint8Array[]): number {
      nSpans = 0;
      fields = [];
      bodyBytes = 0;
      ll.llhttp_reset(parser);
      feed(head);
      for (const p of pieces) feed(p);
      return bodyBytes;
    },
  };
}
