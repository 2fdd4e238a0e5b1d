// The module's two builds: edgepass.wasm (SIMD byte scans) and edgepass-scalar.wasm (none), for
// hosts that cannot compile SIMD. Node always can, so the scalar build is held to a validator
// with SIMD switched off, and both builds must answer every head the same way, with inputs whose
// special bytes fall on every position of a 16-byte block (where the SIMD and scalar scans
// split their work differently). The whole vector corpus and the differential suites also run
// on the scalar build: the "unit-scalar" project in vitest.config.ts.

import { readFileSync } from "node:fs";
import binaryen from "binaryen";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { CodecError, createCodec, preferredWasmBuild, wasmSimdSupported, type Codec } from "../../src/codec/index";

const simd = createCodec(loadWasmModuleFromDisk("simd"));
const scalar = createCodec(loadWasmModuleFromDisk("scalar"));
const bytesOf = (file: string) => readFileSync(new URL(`../../wasm/build/${file}`, import.meta.url));

describe("the two builds", () => {
  it("report which one they are", () => {
    expect(simd.build).toBe("simd");
    expect(scalar.build).toBe("scalar");
  });

  it("each stay under 64 KB", () => {
    for (const f of ["edgepass.wasm", "edgepass-scalar.wasm"]) expect(bytesOf(f).length, f).toBeLessThan(64 * 1024);
  });

  it("scalar: valid for a host without SIMD", () => {
    const m = binaryen.readBinary(bytesOf("edgepass-scalar.wasm"));
    m.setFeatures(binaryen.Features.All & ~binaryen.Features.SIMD128 & ~binaryen.Features.RelaxedSIMD);
    expect(m.validate()).not.toBe(0);
    m.dispose();
  });

  it("are chosen by what the host compiles: Node has SIMD", () => {
    expect(wasmSimdSupported()).toBe(true);
    expect(preferredWasmBuild()).toBe("simd");
    const both = { simd: loadWasmModuleFromDisk("simd"), scalar: loadWasmModuleFromDisk("scalar") };
    expect(createCodec(both).build).toBe("simd");
  });
});

/** What a parse answers: the result, or the error code. */
function outcome(run: () => unknown): unknown {
  try {
    return run() ?? "incomplete";
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
}

const parses: Array<[string, (c: Codec, b: Uint8Array) => unknown]> = [
  ["request", (c, b) => c.scanHttpRequestHead(b, 8192)],
  ["response", (c, b) => c.scanHttpResponseHead(b, 8192, "GET")],
  ["cgi", (c, b) => c.parseCgiHead(b, 8192)],
];

// Plain bytes with a few special ones (CTLs, DEL, SP, obs-text, colon, CR, LF) anywhere.
const special = fc.constantFrom(0x00, 0x09, 0x0a, 0x0d, 0x1f, 0x20, 0x3a, 0x7f, 0x80, 0xff);
const plain = fc.integer({ min: 0x21, max: 0x7e });
const run = fc.array(fc.oneof({ weight: 12, arbitrary: plain }, { weight: 1, arbitrary: special }), { maxLength: 80 });
const enc = (s: string) => new TextEncoder().encode(s);
const join = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
};

describe("both builds answer alike", () => {
  it("on generated heads with special bytes at every block position", () => {
    const head = fc.tuple(fc.constantFrom("request", "response"), run, fc.array(fc.tuple(run, run), { maxLength: 4 }), fc.boolean());
    fc.assert(
      fc.property(head, ([kind, target, fields, end]) => {
        const start = kind === "request" ? join(enc("GET /"), Uint8Array.from(target), enc(" HTTP/1.1\r\nHost: a\r\n")) : enc("HTTP/1.1 200 OK\r\n");
        const lines = fields.map(([n, v]) => join(enc(`X-${n.length}`), Uint8Array.from(n.filter((b) => b !== 0x3a)), enc(": "), Uint8Array.from(v), enc("\r\n")));
        const buf = join(start, ...lines, enc(end ? "\r\n" : ""));
        for (const [name, parse] of parses) {
          expect(outcome(() => parse(scalar, buf)), name).toEqual(outcome(() => parse(simd, buf)));
        }
      }),
      { numRuns: 1500 },
    );
  });

  it("on a value of every length up to 40 with one bad byte at every position", () => {
    for (let n = 1; n <= 40; n++) {
      for (let at = -1; at < n; at++) {
        for (const bad of [0x00, 0x0b, 0x0d, 0x7f]) {
          const value = new Uint8Array(n).fill(0x61);
          if (at >= 0) value[at] = bad;
          const buf = join(enc("GET /"), value, enc(" HTTP/1.1\r\nHost: a\r\nX: "), value, enc("\r\nStatus: 404\r\n\r\n"));
          for (const [name, parse] of parses) {
            const a = outcome(() => parse(simd, buf));
            expect(outcome(() => parse(scalar, buf)), `${name} n=${n} at=${at} bad=${bad}`).toEqual(a);
            if (at < 0 && name === "request") expect(a).not.toBeTypeOf("string");
          }
        }
      }
    }
  });

  it("on every byte value at every position of a name, a target and a value", () => {
    const fill = (n: number, at: number, b: number) => {
      const x = new Uint8Array(n).fill(0x61);
      x[at] = b;
      return x;
    };
    for (let b = 0; b < 256; b++) {
      for (let at = 0; at < 20; at++) {
        for (let where = 0; where < 3; where++) {
          const part = (k: number) => (k === where ? fill(20, at, b) : fill(20, 0, 0x61));
          const buf = join(enc("GET /"), part(0), enc(" HTTP/1.1\r\nHost: a\r\nX"), part(1), enc(": "), part(2), enc("\r\n\r\n"));
          for (const [name, parse] of parses) {
            expect(outcome(() => parse(scalar, buf)), `${name} byte=${b} at=${at} in ${where}`).toEqual(outcome(() => parse(simd, buf)));
          }
        }
      }
    }
  });
});
