// fcgiRequest: a whole FastCGI request in one call. Checked byte for byte against a request
// built by hand from the spec's record layout (3.3, 3.4, 5.1), and against the record-by-record
// encoders (fcgiBeginRequest, fcgiParams, fcgiStream) for every size class: no parameters, one
// PARAMS record, parameters that need several records (as a pair list, encoded at the end of
// the output and moved forward, and as an encoded stream), and STDIN of 0, 1, 65,535 and more
// bytes. Runs on both Wasm builds (the unit-scalar project runs it too).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { createCodec, FcgiFlags, FcgiRole, FcgiType } from "../../src/codec/index";
import { concatBytes, refRecord, refRecords } from "../helpers/vector-format";
import { codeOf } from "../helpers/code-of";
import { preamble } from "../../src/protocol/fastcgi/records";

const codec = createCodec(loadWasmModuleFromDisk());
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251);

/** The same request from the record-by-record encoders. */
function separately(id: number, role: number, flags: number, params: Array<[string, string]> | Uint8Array, stdin: Uint8Array): Uint8Array {
  const pairs = params instanceof Uint8Array ? params : codec.fcgiEncodePairs(params);
  const parts = [codec.fcgiBeginRequest(id, role, flags), codec.fcgiParams(id, pairs)];
  if (stdin.length > 0) parts.push(codec.fcgiStream(FcgiType.STDIN, id, stdin));
  parts.push(codec.fcgiStream(FcgiType.STDIN, id, new Uint8Array(0)));
  return concatBytes(...parts);
}

describe("fcgiRequest", () => {
  it("writes BEGIN_REQUEST, PARAMS, the empty PARAMS, STDIN and the empty STDIN (spec 3.3, 5.1)", () => {
    const got = codec.fcgiRequest(0x0102, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN, [["A", "1"], ["é", ""]], Uint8Array.of(9, 8, 7));
    // "A"=1: 01 01 41 31; "é" is two UTF-8 bytes: 02 00 c3 a9. Eight bytes, no padding.
    const want = concatBytes(
      refRecord(FcgiType.BEGIN_REQUEST, 0x0102, [0, 1, 1, 0, 0, 0, 0, 0]),
      refRecord(FcgiType.PARAMS, 0x0102, [1, 1, 0x41, 0x31, 2, 0, 0xc3, 0xa9]),
      refRecord(FcgiType.PARAMS, 0x0102),
      refRecord(FcgiType.STDIN, 0x0102, [9, 8, 7]),
      refRecord(FcgiType.STDIN, 0x0102),
    );
    expect([...got]).toEqual([...want]);
  });

  it("matches the record-by-record encoders at every size class", () => {
    const big = (n: number): Array<[string, string]> => Array.from({ length: n }, (_, i) => [`NAME_${i}`, "v".repeat(200 + (i % 300))]);
    const cases: Array<[Array<[string, string]> | Uint8Array, number]> = [
      [[], 0],
      [[["SCRIPT_FILENAME", "/srv/www/index.php"]], 1],
      [[["X", "y".repeat(65535 - 3)]], 65535], // exactly one full PARAMS record
      [big(400), 70000], // about 140 KB of pairs: three PARAMS records
      [codec.fcgiEncodePairs(big(400)), 131071],
      [new Uint8Array(0), 5],
    ];
    for (const [params, n] of cases) {
      const stdin = pattern(n);
      const got = codec.fcgiRequest(7, FcgiRole.RESPONDER, 0, params, stdin);
      expect(Buffer.from(got).equals(Buffer.from(separately(7, FcgiRole.RESPONDER, 0, params, stdin))), `${params.length} params, ${n} stdin`).toBe(true);
      const types = refRecords(got).map((r) => r.type);
      expect(types[0]).toBe(FcgiType.BEGIN_REQUEST);
      expect(types.slice(-1)).toEqual([FcgiType.STDIN]);
    }
  });

  it("matches them on generated pairs and bodies", () => {
    const pairs = fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 300 })), { maxLength: 30 });
    fc.assert(
      fc.property(pairs, fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 65535 }), (p, stdin, id) => {
        const got = codec.fcgiRequest(id, FcgiRole.AUTHORIZER, FcgiFlags.KEEP_CONN, p, stdin);
        expect(Buffer.from(got).equals(Buffer.from(separately(id, FcgiRole.AUTHORIZER, FcgiFlags.KEEP_CONN, p, stdin)))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses an id outside 1..65535 and a role or flags out of range", () => {
    const empty = new Uint8Array(0);
    expect(codeOf(() => codec.fcgiRequest(0, 1, 0, [], empty))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => codec.fcgiRequest(65536, 1, 0, [], empty))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => codec.fcgiRequest(1, 0x10000, 0, [], empty))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => codec.fcgiRequest(1, 1, 256, [], empty))).toBe("BAD_ARGUMENT");
  });
});

// fcgiRequestFromCgi frames the CGI params where they were built; the gateway sends it, with
// another request id on a multiplexed connection (preamble) and without the empty STDIN when
// a body follows.
describe("fcgiRequestFromCgi and preamble", () => {
  const cgiInput = (owned: Array<[string, string]>, headers: Array<[string, string]>) => ({ owned, headers, underscoresInHeaders: false });
  const viaParams = (input: ReturnType<typeof cgiInput>, id: number, role: number, flags: number) =>
    codec.fcgiRequest(id, role, flags, codec.buildCgiParams({ ...input, format: "fastcgi" }), new Uint8Array(0));

  it("is buildCgiParams then fcgiRequest, from no params to several PARAMS records", () => {
    const headers: Array<[string, string]> = [["host", "example.org"], ["user-agent", "t"], ["x-many", "a".repeat(3000)]];
    const cases = [
      cgiInput([], []),
      cgiInput([["SCRIPT_FILENAME", "/srv/www/index.php"], ["QUERY_STRING", "a=é"]], headers),
      cgiInput(Array.from({ length: 400 }, (_, i): [string, string] => [`NAME_${i}`, "v".repeat(200 + (i % 300))]), headers),
    ];
    for (const input of cases) {
      for (const [role, flags] of [[FcgiRole.RESPONDER, 0], [FcgiRole.AUTHORIZER, FcgiFlags.KEEP_CONN]]) {
        const got = codec.fcgiRequestFromCgi(input, role, flags);
        expect(Buffer.from(got).equals(Buffer.from(viaParams(input, 1, role, flags))), `${input.owned.length} params`).toBe(true);
      }
    }
  });

  it("preamble gives the request another id in every record, on a copy, and leaves out the empty STDIN before a body", () => {
    const input = cgiInput(Array.from({ length: 400 }, (_, i): [string, string] => [`N${i}`, "w".repeat(250)]), [["host", "h"]]);
    const built = codec.fcgiRequestFromCgi(input, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN);
    const before = Buffer.from(built);
    for (const id of [1, 2, 0x0102, 65535]) {
      const want = viaParams(input, id, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN);
      expect(Buffer.from(preamble(built, id, false)).equals(Buffer.from(want)), `id ${id}`).toBe(true);
      const opening = preamble(built, id, true);
      expect(Buffer.from(opening).equals(Buffer.from(want.subarray(0, want.length - 8))), `id ${id}, body`).toBe(true);
      expect(refRecords(opening).map((r) => r.type).slice(-1)).toEqual([FcgiType.PARAMS]);
    }
    expect(Buffer.from(built).equals(before)).toBe(true);
  });

  it("refuses what buildCgiParams refuses", () => {
    const refused = codeOf(() => codec.buildCgiParams({ owned: [["A", "x\r\ny"]], headers: [] }));
    expect(refused).toMatch(/^[A-Z_]+$/);
    expect(codeOf(() => codec.fcgiRequestFromCgi(cgiInput([["A", "x\r\ny"]], []), FcgiRole.RESPONDER, 0))).toBe(refused);
  });

  it("keeps every result it handed out: small results share a block, none is written again", () => {
    // Many small requests (several blocks' worth) then one past the shared size, each compared
    // after all were made: a result that was a view into Wasm memory, or a block handed out
    // twice, would have changed under a later call.
    const made: Array<{ got: Uint8Array; want: Buffer }> = [];
    for (let i = 0; i < 200; i++) {
      const input = cgiInput([["N", "v".repeat(i * 7)]], [["host", `h${i}`]]);
      const got = codec.fcgiRequestFromCgi(input, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN);
      made.push({ got, want: Buffer.from(viaParams(input, 1, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN)) });
    }
    const shared = new Set(made.map((m) => m.got.buffer));
    expect(shared.size).toBeGreaterThan(1);
    expect(shared.size).toBeLessThan(made.length);
    for (const [i, m] of made.entries()) expect(Buffer.from(m.got).equals(m.want), `request ${i}`).toBe(true);
    for (const m of made) expect(m.got.byteOffset % 8).toBe(0);
  });
});
