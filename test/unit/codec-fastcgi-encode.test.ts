// FastCGI encoders: exact bytes against the spec's record layouts (FastCGI 1.0, 3.3, 3.4, 4,
// 5), length-form boundaries, record splitting, and a round trip of every record type through
// the decoder of the other side. Expected bytes are written out by hand from the spec.

import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { CodecError, createCodec, FcgiFlags, FcgiProtocolStatus, FcgiRole, FcgiType, type FcgiEvent } from "../../src/codec/index";
import { concatBytes, refDecodeFcgiPairs, refRecords } from "../helpers/vectors";

const codec = createCodec(loadWasmModuleFromDisk());
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) % 251);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
  throw new Error("expected a CodecError");
}

describe("fixed-size records, byte for byte", () => {
  it("BEGIN_REQUEST: RESPONDER with KEEP_CONN (spec 5.1)", () => {
    expect([...codec.fcgiBeginRequest(1, FcgiRole.RESPONDER, FcgiFlags.KEEP_CONN)]).toEqual([
      1, 1, 0, 1, 0, 8, 0, 0, /* body */ 0, 1, 1, 0, 0, 0, 0, 0,
    ]);
  });

  it("BEGIN_REQUEST puts the id's high byte first and the role as 16 bits", () => {
    expect([...codec.fcgiBeginRequest(0x1234, FcgiRole.FILTER, 0)]).toEqual([
      1, 1, 0x12, 0x34, 0, 8, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it("ABORT_REQUEST is a bare header (spec 5.4)", () => {
    expect([...codec.fcgiAbortRequest(5)]).toEqual([1, 2, 0, 5, 0, 0, 0, 0]);
  });

  it("END_REQUEST carries appStatus B3..B0 and protocolStatus (spec 5.5)", () => {
    expect([...codec.fcgiEndRequest(3, 0x01020304, FcgiProtocolStatus.OVERLOADED)]).toEqual([
      1, 3, 0, 3, 0, 8, 0, 0, 1, 2, 3, 4, 2, 0, 0, 0,
    ]);
    expect([...codec.fcgiEndRequest(1, 0xffffffff, 0)].slice(8, 12)).toEqual([0xff, 0xff, 0xff, 0xff]);
  });

  it("UNKNOWN_TYPE names the type, on request id 0 (spec 4.2)", () => {
    expect([...codec.fcgiUnknownType(20)]).toEqual([1, 11, 0, 0, 0, 8, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("GET_VALUES: names with empty values, padded to 8 (spec 4.1)", () => {
    // 2 + 14 + 2 + 15 = 33 content bytes, 7 padding
    expect([...codec.fcgiGetValues(["FCGI_MAX_CONNS", "FCGI_MPXS_CONNS"])]).toEqual([
      1, 9, 0, 0, 0, 33, 7, 0,
      14, 0, ...ascii("FCGI_MAX_CONNS"),
      15, 0, ...ascii("FCGI_MPXS_CONNS"),
      0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  it("GET_VALUES_RESULT: names with values (spec 4.1)", () => {
    expect([...codec.fcgiGetValuesResult([["FCGI_MAX_CONNS", "10"]])]).toEqual([
      1, 10, 0, 0, 0, 18, 6, 0, 14, 2, ...ascii("FCGI_MAX_CONNS10"), 0, 0, 0, 0, 0, 0,
    ]);
  });

  it("rejects ids outside 1..65535 and non-stream types for streams", () => {
    expect(codeOf(() => codec.fcgiBeginRequest(0, 1, 0))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => codec.fcgiBeginRequest(65536, 1, 0))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => codec.fcgiAbortRequest(0))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => codec.fcgiStream(FcgiType.BEGIN_REQUEST, 1, new Uint8Array(1)))).toBe("BAD_ARGUMENT");
    expect(codeOf(() => codec.fcgiStream(FcgiType.STDIN, 0, new Uint8Array(1)))).toBe("BAD_ARGUMENT");
  });

  it("management records do not split: content over 65,535 bytes is an error", () => {
    expect(codeOf(() => codec.fcgiGetValuesResult([["X", "v".repeat(65535)]]))).toBe("FCGI_RECORD_TOO_LARGE");
  });
});

describe("name-value pair lengths (spec 3.4)", () => {
  const a = (n: number) => "a".repeat(n);

  it("127 bytes take the one-byte form, 128 the four-byte form with the high bit set", () => {
    const enc = codec.fcgiEncodePairs([[a(127), a(128)]]);
    expect([...enc.subarray(0, 5)]).toEqual([127, 0x80, 0, 0, 128]);
    expect(enc.length).toBe(1 + 4 + 127 + 128);
    const name128 = codec.fcgiEncodePairs([[a(128), a(127)]]);
    expect([...name128.subarray(0, 5)]).toEqual([0x80, 0, 0, 128, 127]);
  });

  it("65,535 and 65,536-byte values", () => {
    const enc = codec.fcgiEncodePairs([["A", a(65535)], ["B", a(65536)]]);
    expect([...enc.subarray(0, 6)]).toEqual([1, 0x80, 0, 0xff, 0xff, 65]);
    const second = 6 + 65535;
    expect([...enc.subarray(second, second + 6)]).toEqual([1, 0x80, 1, 0, 0, 66]);
    const pairs = refDecodeFcgiPairs(enc);
    expect(pairs.map(([n, v]) => [n.length, v.length])).toEqual([[1, 65535], [1, 65536]]);
  });

  it("fcgiDecodePairs reads what the spec's forms encode", () => {
    const bytes = Uint8Array.from([1, 0x80, 0, 0, 128, 65, ...new Array(128).fill(98), 0, 0]);
    expect(codec.fcgiDecodePairs(bytes)).toEqual([["A", "b".repeat(128)], ["", ""]]);
  });

  it("fcgiDecodePairs rejects a length that runs past the end", () => {
    expect(codeOf(() => codec.fcgiDecodePairs(Uint8Array.from([5, 0, 65])))).toBe("FCGI_BAD_PAIRS");
    expect(codeOf(() => codec.fcgiDecodePairs(Uint8Array.from([0x80, 0, 0])))).toBe("FCGI_BAD_PAIRS");
  });
});

describe("stream records (spec 3.3)", () => {
  // [input size, expected content lengths]: at most 65,535 per record
  const cases: Array<[number, number[]]> = [
    [1, [1]],
    [65535, [65535]],
    [65536, [65535, 1]],
    [200000, [65535, 65535, 65535, 3395]],
  ];
  for (const [size, lengths] of cases) {
    it(`STDIN of ${size} bytes: ${lengths.length} record(s), padded to 8, content intact`, () => {
      const data = pattern(size);
      const out = codec.fcgiStream(FcgiType.STDIN, 7, data);
      const records = refRecords(out);
      expect(records.map((r) => r.content.length)).toEqual(lengths);
      for (const r of records) {
        expect([r.version, r.type, r.requestId]).toEqual([1, FcgiType.STDIN, 7]);
        expect((8 + r.content.length + r.padding) % 8).toBe(0);
        expect(r.padding).toBeLessThan(8);
      }
      expect(concatBytes(...records.map((r) => r.content))).toEqual(data);
    });
  }

  it("as pieces: the same bytes; data of 4 KiB or more is not copied but framed around (views of it)", () => {
    for (const size of [0, 1, 4095, 4096, 65535, 65536, 65537, 200000]) {
      const data = pattern(size);
      // A view into a larger buffer, as a socket read hands over a body.
      const big = new Uint8Array(size + 16);
      big.set(data, 9);
      const view = big.subarray(9, 9 + size);
      const pieces = codec.fcgiStreamPieces(FcgiType.STDIN, 300, view);
      expect(concatBytes(...pieces), `size ${size}`).toEqual(codec.fcgiStream(FcgiType.STDIN, 300, data));
      const views = pieces.filter((p) => p.buffer === big.buffer);
      expect(views.reduce((n, p) => n + p.length, 0), `size ${size}`).toBe(size >= 4096 ? size : 0);
    }
  });

  it("STDIN of 0 bytes is the empty record that closes the stream", () => {
    expect([...codec.fcgiStream(FcgiType.STDIN, 7, new Uint8Array(0))]).toEqual([1, 5, 0, 7, 0, 0, 0, 0]);
  });

  it("padding bytes are zero even when the output buffer was used before", () => {
    codec.fcgiStream(FcgiType.STDOUT, 1, new Uint8Array(100).fill(0xee));
    const out = codec.fcgiStream(FcgiType.STDOUT, 1, Uint8Array.of(9));
    expect([...out]).toEqual([1, 6, 0, 1, 0, 1, 7, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("PARAMS larger than 65,535 bytes split into records that reassemble exactly", () => {
    const pairs: Array<[string, string]> = [["A", "x".repeat(40000)], ["B", "y".repeat(40000)], ["C", "z".repeat(40000)]];
    const encoded = codec.fcgiEncodePairs(pairs);
    const out = codec.fcgiParams(9, encoded);
    const records = refRecords(out);
    expect(records.length).toBe(3); // 65,535 + 54,477 + the empty record
    expect(records.map((r) => r.content.length)).toEqual([65535, encoded.length - 65535, 0]);
    expect(records.every((r) => r.type === FcgiType.PARAMS && r.requestId === 9)).toBe(true);
    expect(concatBytes(...records.map((r) => r.content))).toEqual(encoded);
    expect(codec.fcgiDecodePairs(concatBytes(...records.map((r) => r.content)))).toEqual(pairs);
  });

  it("an empty PARAMS block is just the closing record", () => {
    expect([...codec.fcgiParams(1, new Uint8Array(0))]).toEqual([1, 4, 0, 1, 0, 0, 0, 0]);
  });
});

describe("every record type round-trips through the other side's decoder", () => {
  function decode(mode: "client" | "server", bytes: Uint8Array, track: number[] = []): FcgiEvent[] {
    const d = codec.fcgiDecoder(mode);
    for (const id of track) d.track(id);
    const events = d.push(bytes);
    expect(d.atBoundary).toBe(true);
    d.free();
    return events;
  }

  it("web server -> app: BEGIN_REQUEST, PARAMS, STDIN, DATA, ABORT_REQUEST, GET_VALUES", () => {
    const params = codec.fcgiEncodePairs([["REQUEST_METHOD", "POST"]]);
    const stream = concatBytes(
      codec.fcgiBeginRequest(2, FcgiRole.FILTER, FcgiFlags.KEEP_CONN),
      codec.fcgiParams(2, params),
      codec.fcgiStream(FcgiType.STDIN, 2, Uint8Array.of(1, 2, 3)),
      codec.fcgiStream(FcgiType.STDIN, 2, new Uint8Array(0)),
      codec.fcgiStream(FcgiType.DATA, 2, Uint8Array.of(4)),
      codec.fcgiAbortRequest(2),
      codec.fcgiGetValues(["FCGI_MAX_REQS"]),
    );
    const events = decode("server", stream);
    expect(events.map((e) => e.kind)).toEqual(["begin-request", "stream", "stream", "stream", "stream", "stream", "abort-request", "values"]);
    expect(events[0]).toEqual({ kind: "begin-request", requestId: 2, role: FcgiRole.FILTER, flags: FcgiFlags.KEEP_CONN });
    expect(events[1]).toMatchObject({ type: FcgiType.PARAMS, requestId: 2, end: false, data: params });
    expect(events[2]).toMatchObject({ type: FcgiType.PARAMS, end: true });
    expect(events[3]).toMatchObject({ type: FcgiType.STDIN, data: Uint8Array.of(1, 2, 3), end: false });
    expect(events[4]).toMatchObject({ type: FcgiType.STDIN, end: true });
    expect(events[5]).toMatchObject({ type: FcgiType.DATA, data: Uint8Array.of(4) });
    expect(events[6]).toEqual({ kind: "abort-request", requestId: 2 });
    expect(events[7]).toEqual({ kind: "values", type: FcgiType.GET_VALUES, requestId: 0, pairs: [["FCGI_MAX_REQS", ""]] });
  });

  it("app -> web server: STDOUT, STDERR, END_REQUEST, GET_VALUES_RESULT, UNKNOWN_TYPE", () => {
    const stream = concatBytes(
      codec.fcgiStream(FcgiType.STDOUT, 4, Uint8Array.of(10, 11)),
      codec.fcgiStream(FcgiType.STDERR, 4, Uint8Array.of(12)),
      codec.fcgiStream(FcgiType.STDOUT, 4, new Uint8Array(0)),
      codec.fcgiEndRequest(4, 7, FcgiProtocolStatus.REQUEST_COMPLETE),
      codec.fcgiGetValuesResult([["FCGI_MPXS_CONNS", "1"]]),
      codec.fcgiUnknownType(99),
    );
    expect(decode("client", stream, [4])).toEqual([
      { kind: "stream", type: FcgiType.STDOUT, requestId: 4, data: Uint8Array.of(10, 11), end: false },
      { kind: "stream", type: FcgiType.STDERR, requestId: 4, data: Uint8Array.of(12), end: false },
      { kind: "stream", type: FcgiType.STDOUT, requestId: 4, data: new Uint8Array(0), end: true },
      { kind: "end-request", requestId: 4, appStatus: 7, protocolStatus: 0 },
      { kind: "values", type: FcgiType.GET_VALUES_RESULT, requestId: 0, pairs: [["FCGI_MPXS_CONNS", "1"]] },
      { kind: "unknown-type", requestId: 0, unknownType: 99 },
    ]);
  });
});
