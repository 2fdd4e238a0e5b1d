// CGI parameter blocks byte for byte in each output format, and the response-head parser's
// API edges (incomplete input, limits, field caps). The rule-by-rule cases live in
// test/vectors/cgi-params-*.md and cgi-head-*.md.

import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { CodecError, createCodec } from "../../src/codec/index";
import { refDecodeFcgiPairs } from "../helpers/vectors";
import { codeOf } from "../helpers/code-of";

const codec = createCodec(loadWasmModuleFromDisk());
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const bytes = (s: string) => Uint8Array.from(ascii(s));


describe("buildCgiParams output formats", () => {
  const input = { owned: [["A", "1"]] as Array<[string, string]>, headers: [["X-Y", "z"]] as Array<[string, string]> };

  it("fastcgi: one-byte lengths, then name and value (FastCGI 3.4)", () => {
    expect([...codec.buildCgiParams(input)]).toEqual([1, 1, ...ascii("A1"), 8, 1, ...ascii("HTTP_X_Yz")]);
  });

  it("scgi: name NUL value NUL, no netstring wrapper", () => {
    expect([...codec.buildCgiParams({ ...input, format: "scgi" })]).toEqual([...ascii("A\u00001\u0000HTTP_X_Y\u0000z\u0000")]);
  });

  it("uwsgi: u16 little-endian lengths", () => {
    expect([...codec.buildCgiParams({ ...input, format: "uwsgi" })]).toEqual([
      1, 0, ...ascii("A"), 1, 0, ...ascii("1"), 8, 0, ...ascii("HTTP_X_Y"), 1, 0, ...ascii("z"),
    ]);
  });

  it("fastcgi: a 128-byte owned name takes the four-byte length form", () => {
    const out = codec.buildCgiParams({ owned: [["N".repeat(128), "v"]], headers: [] });
    expect([...out.subarray(0, 5)]).toEqual([0x80, 0, 0, 128, 1]);
  });

  it("owned values are UTF-8; header strings are ByteStrings written byte for byte", () => {
    const out = codec.buildCgiParams({ owned: [["SCRIPT_FILENAME", "/srv/caf\u00e9.php"]], headers: [["X-L", "caf\u00e9"]] });
    const pairs = refDecodeFcgiPairs(out);
    expect([...pairs[0][1]]).toEqual([...ascii("/srv/caf"), 0xc3, 0xa9, ...ascii(".php")]);
    expect([...pairs[1][1]]).toEqual([...ascii("caf"), 0xe9]);
  });

  it("a header string that is not a ByteString falls back to UTF-8 rather than losing chars", () => {
    const out = codec.buildCgiParams({ owned: [], headers: [["X-U", "\u20ac"]] });
    expect([...refDecodeFcgiPairs(out)[0][1]]).toEqual([0xe2, 0x82, 0xac]);
  });

  it("stays within its bound and correct with many headers", () => {
    const headers = Array.from({ length: 500 }, (_, i): [string, string] => [`X-H${i % 250}`, `v${i}`]);
    const pairs = codec.fcgiDecodePairs(codec.buildCgiParams({ owned: [["A", "b"]], headers }));
    expect(pairs.length).toBe(251);
    expect(pairs[1]).toEqual(["HTTP_X_H0", "v0, v250"]);
    expect(pairs[250]).toEqual(["HTTP_X_H249", "v249, v499"]);
  });

  it("accepts 1000 header fields and refuses 1001 (a flood would cost quadratic time)", () => {
    const headers = (n: number) => Array.from({ length: n }, (_, i): [string, string] => [`X-${i}`, "v"]);
    expect(codec.fcgiDecodePairs(codec.buildCgiParams({ owned: [], headers: headers(1000) })).length).toBe(1000);
    expect(codeOf(() => codec.buildCgiParams({ owned: [], headers: headers(1001) }))).toBe("CGI_TOO_MANY_HEADERS");
  });

  it("round-trips through fcgiDecodePairs", () => {
    const out = codec.buildCgiParams({ owned: [["REQUEST_METHOD", "GET"]], headers: [["Cookie", "a=1"], ["Cookie", "b=2"]] });
    expect(codec.fcgiDecodePairs(out)).toEqual([["REQUEST_METHOD", "GET"], ["HTTP_COOKIE", "a=1; b=2"]]);
  });

  // Values are scanned in blocks of 16 bytes (SIMD) or 8 (the scalar build), then byte by byte:
  // a forbidden byte must be found wherever it falls in a block, and in the bytes after.
  it("finds CR, LF or NUL at every position of a value up to 70 bytes, owned or a header's", () => {
    for (let len = 1; len <= 70; len++) {
      for (let at = 0; at < len; at++) {
        for (const c of ["\r", "\n", "\0"]) {
          const value = "v".repeat(at) + c + "v".repeat(len - at - 1);
          expect(codeOf(() => codec.buildCgiParams({ owned: [["PATH_INFO", value]], headers: [] }))).toBe("CGI_PARAM_CONTROL_CHAR");
          expect(codeOf(() => codec.buildCgiParams({ owned: [], headers: [["X-A", value]] }))).toBe("CGI_PARAM_CONTROL_CHAR");
        }
      }
    }
  });

  it("passes every other byte, and names and values of any length, byte for byte", () => {
    const others = Array.from({ length: 256 }, (_, b) => b).filter((b) => b !== 0 && b !== 10 && b !== 13);
    const all = String.fromCharCode(...others);
    const out = codec.buildCgiParams({ owned: [], headers: [["X-All", all + all]] });
    expect([...refDecodeFcgiPairs(out)[0][1]]).toEqual([...others, ...others]);
    // Copied in words, then bytes, below 64 bytes; in one call from 64.
    const owned = Array.from({ length: 140 }, (_, n): [string, string] => [`N${"n".repeat(n)}`, "0123456789".repeat(14).slice(0, n)]);
    expect(codec.fcgiDecodePairs(codec.buildCgiParams({ owned, headers: [] }))).toEqual(owned);
    expect(codec.fcgiDecodePairs(codec.fcgiEncodePairs(owned))).toEqual(owned);
  });
});

describe("parseCgiHead", () => {
  it("returns null until the empty line arrives", () => {
    const full = bytes("Status: 201 Created\r\nX: 1\r\n\r\nbody");
    for (let k = 0; k < 29; k++) expect(codec.parseCgiHead(full.subarray(0, k), 1024), `${k} bytes`).toBeNull();
    expect(codec.parseCgiHead(full.subarray(0, 29), 1024)).toEqual({ status: 201, reason: "Created", headers: [["X", "1"]], bodyOffset: 29 }); // 21 + 6 + 2 bytes
  });

  it("accepts a head within the limit when the buffer holds far more body", () => {
    const buf = new Uint8Array(100000).fill(0x62);
    buf.set(bytes("X: 1\n\n"));
    expect(codec.parseCgiHead(buf, 64)?.bodyOffset).toBe(6);
  });

  it("counts the limit over the whole head, its empty line included", () => {
    const head = bytes("X-A: b\r\n\r\n"); // 10 bytes
    expect(codec.parseCgiHead(head, 10)?.bodyOffset).toBe(10);
    expect(codeOf(() => codec.parseCgiHead(head, 9))).toBe("CGI_HEAD_TOO_LARGE");
  });

  it("caps the number of fields", () => {
    const many = bytes("a: b\n".repeat(1001) + "\n");
    expect(codeOf(() => codec.parseCgiHead(many, 1 << 20))).toBe("CGI_HEAD_TOO_MANY_FIELDS");
    const fine = bytes("a: b\n".repeat(1000) + "\n");
    expect(codec.parseCgiHead(fine, 1 << 20)?.headers.length).toBe(1000);
  });

  it("keeps header bytes as latin-1 so they can be set on a Response unchanged", () => {
    const head = codec.parseCgiHead(Uint8Array.of(...ascii("X: caf"), 0xe9, 10, 10), 100);
    expect(head?.headers).toEqual([["X", "caf\u00e9"]]);
  });

  it("rejects a limit that is not a positive integer", () => {
    expect(() => codec.parseCgiHead(bytes("\n"), 0)).toThrow(RangeError);
    expect(() => codec.parseCgiHead(bytes("\n"), 1.5)).toThrow(RangeError);
  });

  it("explains an error in its message", () => {
    try {
      codec.parseCgiHead(bytes("Status: 700\r\n\r\n"), 100);
      throw new Error("no error");
    } catch (e) {
      expect((e as CodecError).code).toBe("CGI_HEAD_STATUS_RANGE");
      expect((e as CodecError).message).toMatch(/outside 100\.\.599/);
    }
  });
});
