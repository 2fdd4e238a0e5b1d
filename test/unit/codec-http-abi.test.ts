// The HTTP/1.1 exports as wasm/ABI.md section 11 documents them, called without the TypeScript
// codec, the way a non-JavaScript host would: the worked example (11.6), argument checks, the
// layouts, in-place chunk encoding and that decoder states are really freed.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as Codes from "../../wasm/abi/codes";
import * as H1 from "../../wasm/abi/http1";
import { FIELD_SIZE } from "../../wasm/abi/layout";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import type { WasmExports } from "../../src/codec/exports";

const module = loadWasmModuleFromDisk();
const instantiate = () => new WebAssembly.Instance(module, {}).exports as unknown as WasmExports;
const abiDoc = readFileSync(new URL("../../wasm/ABI.md", import.meta.url), "utf8");
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** Copies `bytes` into fresh Wasm memory; returns its address. */
function put(w: WasmExports, bytes: Uint8Array): number {
  const p = w.alloc(Math.max(bytes.length, 1));
  new Uint8Array(w.memory.buffer).set(bytes, p);
  return p;
}

const i32At = (w: WasmExports, p: number) => new Int32Array(w.memory.buffer)[p >>> 2];

describe("layouts", () => {
  it("keep the head table header below the first field entry", () => {
    const offsets = [H1.H1_VERSION, H1.H1_STATUS, H1.H1_REASON_START, H1.H1_REASON_END, H1.H1_METHOD_START,
      H1.H1_METHOD_END, H1.H1_TARGET_START, H1.H1_TARGET_END, H1.H1_FRAMING, H1.H1_LENGTH_LO, H1.H1_LENGTH_HI,
      H1.H1_FLAGS, H1.H1_FIELD_COUNT];
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(Math.max(...offsets) + 4).toBeLessThanOrEqual(H1.H1_FIELDS);
    expect(abiDoc).toContain(`\`table\` must hold \`${H1.H1_FIELDS} + ${FIELD_SIZE} * cap\` bytes`);
  });

  it("keep the chunked state's private fields below the span table", () => {
    expect(H1.CH_NAME_MATCH + 4).toBeLessThanOrEqual(H1.CH_SPANS);
    expect(H1.CH_REMAINING % 8).toBe(0); // a u64
    expect(H1.CH_STATE_SIZE).toBe(H1.CH_SPANS + H1.CH_SPAN_CAP * H1.CH_SPAN_SIZE);
    expect(abiDoc).toContain(`**${H1.CH_STATE_SIZE} bytes**`);
  });
});

describe("ABI.md worked example (section 11.6)", () => {
  const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const body = "5;a=1\r\nhello\r\n0\r\n\r\n";

  it("parses the head into the documented table", () => {
    const w = instantiate();
    const buf = put(w, ascii(head + body));
    const table = w.alloc(H1.H1_FIELDS + 16 * FIELD_SIZE);
    expect(w.http_parse_response_head(buf, 66, 8192, H1.H1_REQ_OTHER, table, 16)).toBe(47);
    const t = new Int32Array(w.memory.buffer, table, H1.H1_FIELDS / 4 + 4);
    expect([t[0], t[1], t[2], t[3]]).toEqual([11, 200, 13, 15]);
    expect([t[H1.H1_FRAMING / 4], t[H1.H1_FLAGS / 4], t[H1.H1_FIELD_COUNT / 4]]).toEqual([H1.H1_FRAMING_CHUNKED, H1.H1F_KEEP_ALIVE, 1]);
    expect([...t.subarray(H1.H1_FIELDS / 4, H1.H1_FIELDS / 4 + 4)]).toEqual([17, 34, 36, 43]);
    expect(w.http_parse_response_head(buf, 30, 8192, H1.H1_REQ_OTHER, table, 16)).toBe(0);
  });

  it("reports CL with TE as -46", () => {
    const w = instantiate();
    const wire = ascii("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
    const buf = put(w, wire);
    const table = w.alloc(H1.H1_FIELDS + 16 * FIELD_SIZE);
    expect(w.http_parse_response_head(buf, wire.length, 8192, 0, table, 16)).toBe(-46);
    expect(Codes.HTTP_CL_AND_TE).toBe(-46);
  });

  it("decodes the body whole and in two feeds", () => {
    const w = instantiate();
    const buf = put(w, ascii(body));
    const state = w.http_chunked_new();
    expect(w.http_chunked_feed(state, buf, 19)).toBe(1);
    expect([i32At(w, state + H1.CH_SPANS), i32At(w, state + H1.CH_SPANS + 4)]).toEqual([7, 12]);
    expect([i32At(w, state + H1.CH_CONSUMED), i32At(w, state + H1.CH_DONE)]).toEqual([19, 1]);
    w.http_chunked_free(state);

    const s2 = w.http_chunked_new();
    expect(w.http_chunked_feed(s2, buf, 9)).toBe(1);
    expect([i32At(w, s2 + H1.CH_SPANS), i32At(w, s2 + H1.CH_SPANS + 4), i32At(w, s2 + H1.CH_DONE)]).toEqual([7, 9, 0]);
    expect(w.http_chunked_feed(s2, buf + 9, 10)).toBe(1);
    expect([i32At(w, s2 + H1.CH_SPANS), i32At(w, s2 + H1.CH_SPANS + 4), i32At(w, s2 + H1.CH_DONE)]).toEqual([0, 3, 1]);
    w.http_chunked_free(s2);
  });
});

describe("arguments", () => {
  it("rejects a bad limit or request kind with BAD_ARGUMENT", () => {
    const w = instantiate();
    const buf = put(w, ascii("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    const table = w.alloc(H1.H1_FIELDS + FIELD_SIZE);
    expect(w.http_parse_request_head(buf, 27, 0, table, 1)).toBe(Codes.BAD_ARGUMENT);
    expect(w.http_parse_request_head(buf, 27, 0x80000000, table, 1)).toBe(Codes.BAD_ARGUMENT);
    expect(w.http_parse_response_head(buf, 27, 100, 3, table, 1)).toBe(Codes.BAD_ARGUMENT);
  });

  it("stops at cap fields with HTTP_TOO_MANY_FIELDS", () => {
    const w = instantiate();
    const buf = put(w, ascii("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n"));
    const table = w.alloc(H1.H1_FIELDS + 2 * FIELD_SIZE);
    expect(w.http_parse_request_head(buf, 33, 100, table, 1)).toBe(Codes.HTTP_TOO_MANY_FIELDS);
    expect(w.http_parse_request_head(buf, 33, 100, table, 2)).toBe(33);
  });
});

describe("http_encode_chunk", () => {
  it("sizes exactly and refuses a short buffer", () => {
    const w = instantiate();
    expect([0, 1, 15, 16, 255, 256, 0xffffffff - 1].map((n) => w.http_chunk_size(n >>> 0))).toEqual([5, 6, 20, 22, 261, 263, Codes.BAD_ARGUMENT]);
    const out = w.alloc(16);
    const data = put(w, ascii("hello"));
    expect(w.http_encode_chunk(out, 9, data, 5)).toBe(Codes.OUTPUT_TOO_SMALL);
    expect(w.http_encode_chunk(out, 4, data, 0)).toBe(Codes.OUTPUT_TOO_SMALL);
  });

  it("frames data placed where it belongs in the output (in place)", () => {
    const w = instantiate();
    const size = w.http_chunk_size(300);
    const out = w.alloc(size);
    const at = out + size - 300 - 2;
    new Uint8Array(w.memory.buffer).fill(0x61, at, at + 300);
    expect(w.http_encode_chunk(out, size, at, 300)).toBe(size);
    const got = Buffer.from(new Uint8Array(w.memory.buffer, out, size)).toString("latin1");
    expect(got).toBe("12c\r\n" + "a".repeat(300) + "\r\n");
  });
});

describe("memory", () => {
  it("frees chunked decoder states: ten thousand new/free cycles do not grow memory", () => {
    const w = instantiate();
    w.http_chunked_free(w.http_chunked_new());
    const pages = w.memory.buffer.byteLength;
    for (let i = 0; i < 10_000; i++) w.http_chunked_free(w.http_chunked_new());
    expect(w.memory.buffer.byteLength).toBe(pages);
  });

  it("does not allocate while parsing or decoding", () => {
    const w = instantiate();
    const wire = ascii("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + "1;x=y\r\nz\r\n".repeat(100) + "0\r\nT: 1\r\n\r\n");
    const buf = put(w, wire);
    const table = w.alloc(H1.H1_FIELDS + 8 * FIELD_SIZE);
    const state = w.http_chunked_new();
    const probe = () => {
      const p = w.alloc(16);
      w.free(p);
      return p;
    };
    const before = probe();
    const bodyAt = w.http_parse_request_head(buf, wire.length, 8192, table, 8);
    expect(bodyAt).toBe(56);
    let off = bodyAt;
    while (off < wire.length && i32At(w, state + H1.CH_DONE) === 0) {
      expect(w.http_chunked_feed(state, buf + off, wire.length - off)).toBeGreaterThanOrEqual(0);
      off += i32At(w, state + H1.CH_CONSUMED);
    }
    expect(off).toBe(wire.length);
    // The allocator hands out the same block again: nothing was allocated in between.
    expect(probe()).toBe(before);
  });
});
