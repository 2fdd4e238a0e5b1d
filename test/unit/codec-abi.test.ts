// The raw Wasm ABI as wasm/ABI.md documents it, exercised without the TypeScript codec: no
// imports, the export list, frozen code numbers, the worked example, memory growth and that
// decoder states are really freed. Also checks that ABI.md lists every export and code.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as Codes from "../../wasm/abi/codes";
import * as Layout from "../../wasm/abi/layout";
import * as H1 from "../../wasm/abi/http1";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { createCodec, FcgiType } from "../../src/codec/index";
import type { WasmExports } from "../../src/codec/exports";

const module = loadWasmModuleFromDisk();
const instantiate = () => new WebAssembly.Instance(module, {}).exports as unknown as WasmExports;
const abiDoc = readFileSync(new URL("../../wasm/ABI.md", import.meta.url), "utf8");

// Written out by hand: renumbering or removing a code breaks every host; this list may only grow.
const FROZEN_CODES: Record<string, number> = {
  OUTPUT_TOO_SMALL: -1, BAD_LIST: -2, BAD_ARGUMENT: -3, FCGI_BAD_VERSION: -4, FCGI_UNDEFINED_TYPE: -5,
  FCGI_UNEXPECTED_TYPE: -6, FCGI_NOT_IN_FLIGHT: -7, FCGI_BAD_REQUEST_ID: -8, FCGI_BAD_LENGTH: -9,
  FCGI_DUPLICATE_ID: -10, FCGI_BAD_PAIRS: -11, FCGI_RECORD_TOO_LARGE: -12, CGI_PARAM_CONTROL_CHAR: -13,
  CGI_HEADER_NAME_INVALID: -14, CGI_PARAM_NAME_EMPTY: -15, CGI_PARAM_TOO_LONG: -16, CGI_HEAD_BARE_CR: -17,
  CGI_HEAD_NUL: -18, CGI_HEAD_BAD_VALUE: -19, CGI_HEAD_NO_COLON: -20, CGI_HEAD_BAD_NAME: -21,
  CGI_HEAD_SPACE_BEFORE_COLON: -22, CGI_HEAD_OBS_FOLD: -23, CGI_HEAD_BAD_STATUS: -24, CGI_HEAD_STATUS_RANGE: -25,
  CGI_HEAD_DUPLICATE_STATUS: -26, CGI_HEAD_TOO_LARGE: -27, CGI_HEAD_TOO_MANY_FIELDS: -28,
  CGI_TOO_MANY_HEADERS: -29, HTTP_BARE_CR: -30, HTTP_BARE_LF: -31, HTTP_NO_COLON: -32, HTTP_BAD_NAME: -33,
  HTTP_SPACE_BEFORE_COLON: -34, HTTP_OBS_FOLD: -35, HTTP_BAD_VALUE: -36, HTTP_HEAD_TOO_LARGE: -37,
  HTTP_TOO_MANY_FIELDS: -38, HTTP_BAD_STATUS_LINE: -39, HTTP_BAD_STATUS: -40, HTTP_BAD_REQUEST_LINE: -41,
  HTTP_BAD_METHOD: -42, HTTP_BAD_TARGET: -43, HTTP_BAD_VERSION: -44, HTTP_VERSION_UNSUPPORTED: -45,
  HTTP_CL_AND_TE: -46, HTTP_BAD_CONTENT_LENGTH: -47, HTTP_DUPLICATE_CONTENT_LENGTH: -48,
  HTTP_CONTENT_LENGTH_TOO_LARGE: -49, HTTP_TE_NOT_CHUNKED: -50, HTTP_TE_HTTP10: -51, HTTP_MISSING_HOST: -52,
  HTTP_DUPLICATE_HOST: -53, HTTP_BAD_HOST: -54, HTTP_CHUNK_BAD_SIZE: -55, HTTP_CHUNK_SIZE_TOO_LARGE: -56,
  HTTP_CHUNK_BAD_EXTENSION: -57, HTTP_CHUNK_EXTENSIONS_TOO_LARGE: -58, HTTP_CHUNK_BAD_LINE_END: -59,
  HTTP_CHUNK_MISSING_CRLF: -60, HTTP_CHUNK_BAD_TRAILER: -61, HTTP_CHUNK_TRAILERS_TOO_LARGE: -62,
  HTTP_CHUNK_FRAMING_TRAILER: -63,
};

describe("module surface", () => {
  it("imports nothing", () => {
    expect(WebAssembly.Module.imports(module)).toEqual([]);
  });

  it("exports exactly what ABI.md section 3 lists", () => {
    const section = abiDoc.slice(abiDoc.indexOf("## 3. Exports"), abiDoc.indexOf("## 4."));
    const documented = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]).sort();
    const actual = WebAssembly.Module.exports(module).map((e) => e.name).sort();
    expect(actual).toEqual(documented);
  });

  it("has a decoder state layout whose parts do not overlap", () => {
    const L = Layout;
    expect(L.DEC_BODY + 8).toBeLessThanOrEqual(L.DEC_EVENTS);
    expect(L.DEC_BITMAP).toBe(L.DEC_EVENTS + L.DEC_EVENT_CAP * L.EVENT_SIZE);
    expect(L.DEC_STATE_SIZE).toBe(L.DEC_BITMAP + 65536 / 8);
    expect(abiDoc).toContain(`**${L.DEC_STATE_SIZE.toLocaleString("en-US")} bytes**`);
  });

  it("stays under 64 KB, so embedding it costs little anywhere", () => {
    const bytes = readFileSync(new URL("../../wasm/build/edgepass.wasm", import.meta.url));
    expect(bytes.length).toBeLessThan(64 * 1024);
  });

  it("is the build this project runs it as (unit: simd, unit-scalar: scalar)", () => {
    expect(instantiate().simd_build()).toBe(process.env.EDGEPASS_WASM_BUILD === "scalar" ? 0 : 1);
  });

  it("reports ABI version 1", () => {
    expect(instantiate().abi_version()).toBe(1);
    expect(Layout.ABI_VERSION).toBe(1);
  });
});

describe("result codes", () => {
  it("keep the numbers they were given; new ones are appended", () => {
    const current = Object.fromEntries(Object.entries(Codes));
    for (const [name, num] of Object.entries(FROZEN_CODES)) expect(current[name], name).toBe(num);
    const extra = Object.entries(current).filter(([name]) => !(name in FROZEN_CODES));
    const lowest = Math.min(...Object.values(FROZEN_CODES));
    for (const [name, num] of extra) expect(num, `${name} must be appended below ${lowest}`).toBeLessThan(lowest);
  });

  it("are unique and negative", () => {
    const nums = Object.values(Codes);
    expect(new Set(nums).size).toBe(nums.length);
    expect(nums.every((n) => n < 0)).toBe(true);
  });

  it("are all listed in ABI.md section 8 with their numbers", () => {
    const section = abiDoc.slice(abiDoc.indexOf("## 8."), abiDoc.indexOf("## 9."));
    const documented = Object.fromEntries([...section.matchAll(/^\| (-\d+) \| `(\w+)` \|/gm)].map((m) => [m[2], Number(m[1])]));
    expect(documented).toEqual(Object.fromEntries(Object.entries(Codes)));
  });
});

// The offsets a host reads, written out by hand like the codes: they never move.
const FROZEN_LAYOUT: Record<string, number> = {
  DEC_CONSUMED: 12, DEC_EVENTS: 64, DEC_EVENT_CAP: 64, DEC_STATE_SIZE: 9536, EVENT_SIZE: 20, EV_KIND: 0, EV_TYPE: 4,
  EV_REQUEST_ID: 8, EV_A: 12, EV_B: 16, EVK_STREAM_DATA: 1, EVK_STREAM_END: 2, EVK_END_REQUEST: 3, EVK_BEGIN_REQUEST: 4,
  EVK_ABORT_REQUEST: 5, EVK_VALUES_DATA: 6, EVK_VALUES_END: 7, EVK_UNKNOWN_TYPE: 8, PAIR_SIZE: 16, HEAD_STATUS: 0,
  HEAD_REASON_START: 4, HEAD_REASON_END: 8, HEAD_FIELD_COUNT: 12, HEAD_FIELDS: 16, FIELD_SIZE: 16, MODE_CLIENT: 0,
  MODE_SERVER: 1, PARAMS_UNDERSCORES: 1, PARAMS_FORMAT_SHIFT: 8, FORMAT_FASTCGI: 0, FORMAT_SCGI: 1, FORMAT_UWSGI: 2,
  H1_VERSION: 0, H1_STATUS: 4, H1_REASON_START: 8, H1_REASON_END: 12, H1_METHOD_START: 16, H1_METHOD_END: 20,
  H1_TARGET_START: 24, H1_TARGET_END: 28, H1_FRAMING: 32, H1_LENGTH_LO: 36, H1_LENGTH_HI: 40, H1_FLAGS: 44,
  H1_FIELD_COUNT: 48, H1_FIELDS: 64, CH_CONSUMED: 8, CH_DONE: 12, CH_SPANS: 64, CH_SPAN_CAP: 64, CH_SPAN_SIZE: 8,
  CH_STATE_SIZE: 576, CH_DATA_LEFT_LO: 48, CH_DATA_LEFT_HI: 52, DEC_DIRECT_LEFT: 56, DEC_TYPE: 20, DEC_REQUEST_ID: 24,
};

describe("memory layouts", () => {
  it("keep the offsets hosts read", () => {
    const all: Record<string, number> = { ...Layout, ...H1 };
    for (const [name, value] of Object.entries(FROZEN_LAYOUT)) expect(all[name], name).toBe(value);
  });

  it("agree with every `offset NAME` row of ABI.md", () => {
    const all: Record<string, number> = { ...Layout, ...H1 };
    const rows = [...abiDoc.matchAll(/^\| (\d+)(?:, \d+)? `(\w+)` \|/gm)].map((m) => [m[2], Number(m[1])] as const);
    expect(rows.length).toBeGreaterThan(10);
    for (const [name, offset] of rows) if (name in all) expect(all[name], name).toBe(offset);
    expect(rows.filter(([name]) => !(name in all) && !/^H1_\w+_START\/END$/.test(name))).toEqual([]);
  });
});

describe("ABI.md worked example (section 9)", () => {
  const response = Uint8Array.of(
    0x01, 0x06, 0x00, 0x01, 0x00, 0x05, 0x03, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x00,
    0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x03, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  );
  const events = (w: WasmExports, state: number, n: number) => {
    const i32 = new Int32Array(w.memory.buffer);
    return Array.from({ length: n }, (_, k) => Array.from(i32.subarray((state + 64 + 20 * k) >> 2, (state + 64 + 20 * k + 20) >> 2)));
  };

  it("decodes in one feed", () => {
    const w = instantiate();
    const state = w.fcgi_decoder_new(0);
    expect(w.fcgi_decoder_track(state, 1)).toBe(0);
    const buf = w.alloc(64);
    new Uint8Array(w.memory.buffer).set(response, buf);
    expect(w.fcgi_decoder_feed(state, buf, 40)).toBe(3);
    expect(new Int32Array(w.memory.buffer)[(state + 12) >> 2]).toBe(40);
    expect(events(w, state, 3)).toEqual([[1, 6, 1, 8, 13], [2, 6, 1, 24, 24], [3, 3, 1, 0, 0]]);
    expect(w.fcgi_decoder_at_boundary(state)).toBe(1);
    w.fcgi_decoder_free(state);
    w.free(buf);
  });

  it("decodes in two feeds of 10 and 30 bytes", () => {
    const w = instantiate();
    const state = w.fcgi_decoder_new(0);
    w.fcgi_decoder_track(state, 1);
    const buf = w.alloc(64);
    new Uint8Array(w.memory.buffer).set(response, buf);
    expect(w.fcgi_decoder_feed(state, buf, 10)).toBe(1);
    expect(events(w, state, 1)).toEqual([[1, 6, 1, 8, 10]]);
    expect(w.fcgi_decoder_at_boundary(state)).toBe(0);
    expect(w.fcgi_decoder_feed(state, buf + 10, 30)).toBe(3);
    expect(events(w, state, 3)).toEqual([[1, 6, 1, 0, 3], [2, 6, 1, 14, 14], [3, 3, 1, 0, 0]]);
  });

  it("fails with -4 on a bad version, and keeps failing", () => {
    const w = instantiate();
    const state = w.fcgi_decoder_new(0);
    w.fcgi_decoder_track(state, 1);
    const buf = w.alloc(64);
    const bad = response.slice();
    bad[0] = 2;
    new Uint8Array(w.memory.buffer).set(bad, buf);
    expect(w.fcgi_decoder_feed(state, buf, 40)).toBe(-4);
    expect(w.fcgi_decoder_feed(state, buf + 8, 8)).toBe(-4);
  });
});

describe("memory", () => {
  it("decoder states and buffers are really freed", () => {
    const w = instantiate();
    for (let i = 0; i < 20; i++) w.fcgi_decoder_free(w.fcgi_decoder_new(0));
    const before = w.memory.buffer.byteLength;
    for (let i = 0; i < 5000; i++) {
      const s = w.fcgi_decoder_new(i & 1);
      const b = w.alloc(4096);
      w.free(b);
      w.fcgi_decoder_free(s);
    }
    expect(w.memory.buffer.byteLength).toBe(before);
  });

  it("returns codes, not traps, for bad arguments", () => {
    const w = instantiate();
    expect(w.fcgi_decoder_new(7)).toBe(Codes.BAD_ARGUMENT);
    expect(w.cgi_parse_head(0, 0, 0, 0, 0)).toBe(Codes.BAD_ARGUMENT);
    const out = w.alloc(64);
    expect(w.fcgi_begin_request(out, 15, 1, 1, 0)).toBe(Codes.OUTPUT_TOO_SMALL);
    expect(w.fcgi_stream(out, 64, 5, 1, out, 100)).toBe(Codes.OUTPUT_TOO_SMALL);
    expect(w.cgi_build_params(out, 64, out, 3, 0, 0)).toBe(Codes.BAD_LIST);
    expect(w.cgi_build_params(out, 64, out, 0, 0, 3 << 8)).toBe(Codes.BAD_ARGUMENT);
  });

  it("the codec keeps working after memory grows under it", () => {
    const codec = createCodec(module);
    const d = codec.fcgiDecoder("client");
    d.track(1);
    const small = codec.fcgiStream(FcgiType.STDOUT, 1, Uint8Array.of(1, 2, 3));
    expect(d.push(small.subarray(0, 4))).toEqual([]);
    const big = new Uint8Array(8 << 20).fill(7); // forces memory.grow in both scratch buffers
    expect(codec.fcgiStream(FcgiType.STDOUT, 1, big).length).toBeGreaterThan(big.length);
    const [event] = d.push(small.subarray(4));
    expect(event).toMatchObject({ kind: "stream", data: Uint8Array.of(1, 2, 3) });
  });
});
