// The log's format and the request record's pieces: one JSON object per line whatever a value
// holds, the request id rule, and a body counter that reports once, at the end or on cancel.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hopRecord, mergeHopRecord, newRecord, RECORD_HEADER, validRequestId } from "../../src/core/access-log.js";
import { formatLine, requestLogger } from "../../src/core/log.js";
import { meteredBody, piecesOf } from "../../src/core/pieces.js";

describe("log lines", () => {
  it("a hostile value (newlines, CR, NUL, U+2028, quotes) stays inside one JSON line", () => {
    const evil = 'x\n{"event":"request","request_id":"forged"}\r\u0000\u2028\u2029"';
    const line = formatLine("warn", "origin_stderr", "r1", { text: evil });
    expect(line).not.toMatch(/[\n\r\u0000\u2028\u2029]/);
    const o = JSON.parse(line);
    expect(o).toMatchObject({ level: "warn", event: "origin_stderr", request_id: "r1", text: evil });
  });

  it("fields cannot replace time, level, event or request_id; long values are cut and counted", () => {
    const lines: string[] = [];
    requestLogger("r2", (_l, line) => lines.push(line)).log("info", "x", { request_id: "other", event: "y", v: "a".repeat(3000), gone: undefined });
    const o = JSON.parse(lines[0]);
    expect(o.request_id).toBe("r2");
    expect(o.event).toBe("x");
    expect(o.v).toBe("a".repeat(2048) + "...(952 more)");
    expect("gone" in o).toBe(false);
  });
});

describe("log line layout", () => {
  // The time varies; everything else is written out by hand.
  const at = (line: string) => line.replace(/^\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",/, '{"time":"T",');

  it("time, level, event, request id, then the fields in their order, undefined ones left out", () => {
    const record = { request_id: "r1", method: "GET", path: "/a", bytes_in: 0, gone: undefined, status: 200, limit: { zone: "z", waited_ms: 1.5 } };
    expect(at(formatLine("info", "request", "r1", record))).toBe(
      '{"time":"T","level":"info","event":"request","request_id":"r1","method":"GET","path":"/a","bytes_in":0,"status":200,"limit":{"zone":"z","waited_ms":1.5}}',
    );
    expect(at(formatLine("warn", "x", "r2", { a: 1, b: "two" }))).toBe('{"time":"T","level":"warn","event":"x","request_id":"r2","a":1,"b":"two"}');
    expect(at(formatLine("warn", "x", "r2", {}))).toBe('{"time":"T","level":"warn","event":"x","request_id":"r2"}');
    expect(at(formatLine("warn", "x", "r2"))).toBe('{"time":"T","level":"warn","event":"x","request_id":"r2"}');
  });

  it("a request id among the fields that is not first, or another one, is not written twice", () => {
    expect(at(formatLine("info", "x", "r1", { method: "GET", request_id: "r1" }))).toBe('{"time":"T","level":"info","event":"x","request_id":"r1","method":"GET"}');
    expect(at(formatLine("info", "x", "r1", { request_id: "r9", method: "GET" }))).toBe('{"time":"T","level":"info","event":"x","request_id":"r1","method":"GET"}');
    expect(at(formatLine("info", "x", "r1", { time: "no", level: "no", n: 2n, e: new Error("boom") }))).toBe('{"time":"T","level":"info","event":"x","request_id":"r1","n":"2","e":"boom"}');
  });
});

describe("log line against JSON.stringify", () => {
  // What a line must mean, written the plain way: the fields copied into an object after the
  // first four, each value as the logger takes it, then JSON.stringify.
  function reference(level: string, event: string, requestId: string, fields: Record<string, unknown>): unknown {
    const o: Record<string, unknown> = { level, event, request_id: requestId };
    for (const k of Object.keys(fields)) {
      let v = fields[k];
      if (k in o || k === "time" || v === undefined) continue;
      if (v instanceof Error) v = v.message;
      if (typeof v === "string" && v.length > 2048) v = `${v.slice(0, 2048)}...(${v.length - 2048} more)`;
      if (typeof v === "bigint") v = String(v);
      o[k] = v;
    }
    return JSON.parse(JSON.stringify(o));
  }
  const anyString = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme", maxLength: 3000 }), fc.constantFrom("\u2028", "a\u2029b", "\ud800", '"\\', "\u0000\u001f\u007f"));
  const value = fc.oneof(
    anyString,
    fc.double(),
    fc.integer(),
    fc.constantFrom(-0, NaN, Infinity, 1e21, 5e-7),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt(),
    anyString.map((m) => new Error(m)),
    fc.dictionary(fc.string(), fc.oneof(anyString, fc.double(), fc.constant(null))),
    fc.array(fc.oneof(anyString, fc.integer())),
  );
  const key = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("time", "level", "event", "request_id", "status", "a b", 'q"'));

  it("means what JSON.stringify over the fields means, and stays one line", () => {
    fc.assert(
      fc.property(fc.constantFrom("info", "warn", "error", "debug"), anyString, anyString, fc.dictionary(key, value), (level, event, id, fields) => {
        for (const k of Object.keys(fields)) if (k === "__proto__" || k in {}) delete fields[k];
        const line = formatLine(level as "info", event, id, fields);
        expect(line).not.toMatch(/[\n\r\u2028\u2029]/);
        const got = JSON.parse(line) as Record<string, unknown>;
        expect(typeof got.time).toBe("string");
        delete got.time;
        const want = reference(level, event, id, fields) as object;
        expect(got).toEqual(want);
        expect(Object.keys(got)).toEqual(Object.keys(want));
      }),
      { numRuns: 500 },
    );
  });
});

describe("X-Request-Id", () => {
  it("kept when 1-128 characters of [A-Za-z0-9._-], else not", () => {
    expect(validRequestId("abc.DEF_1-2")).toBe("abc.DEF_1-2");
    expect(validRequestId("x".repeat(128))).toBe("x".repeat(128));
    for (const bad of ["", "x".repeat(129), "a b", "a\nb", "ä", "a/b", null, undefined]) expect(validRequestId(bad)).toBeNull();
  });
});

describe("meteredBody, as the request line counts a response body", () => {
  const source = (chunks: number[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const n of chunks) c.enqueue(new Uint8Array(n));
        c.close();
      },
    });

  it("counts every byte and reports once, at the end", async () => {
    let n = 0;
    let done = 0;
    const s = meteredBody(source([3, 5, 7]), { count: (k) => (n += k), end: () => done++ });
    expect(new Uint8Array(await new Response(s.toStream()).arrayBuffer()).byteLength).toBe(15);
    expect([n, done]).toEqual([15, 1]);
  });

  it("read as pieces, or dropped unread: reported once", async () => {
    let n = 0;
    let done = 0;
    const pieces = piecesOf(meteredBody(source([2, 3]), { count: (k) => (n += k), end: () => done++ }));
    while ((await pieces.next()) !== null);
    expect([n, done]).toEqual([5, 1]);
    meteredBody(source([1]), { count: (k) => (n += k), end: () => done++ }).cancel();
    expect([n, done]).toEqual([5, 2]);
  });

  it("a reader that gives up: reported once, with what it took", async () => {
    let n = 0;
    let done = 0;
    const r = meteredBody(source([4, 4, 4]), { count: (k) => (n += k), end: () => done++ }).toStream().getReader();
    await r.read();
    await r.cancel("gone");
    expect([n, done]).toEqual([4, 1]);
  });
});

describe("the pool object's report to the front", () => {
  it("carries server, connect time, retries and bytes_in, and leaves the headers", () => {
    const inner = { ...newRecord("r", "GET", "/"), server: "127.0.0.1:9000", connect_ms: 1.5, retries: 1, bytes_in: 10 };
    const headers = new Headers({ [RECORD_HEADER]: hopRecord(inner) });
    const front = newRecord("r", "GET", "/");
    mergeHopRecord(front, headers);
    expect(front).toMatchObject({ server: "127.0.0.1:9000", connect_ms: 1.5, retries: 1, bytes_in: 10 });
    expect(headers.has(RECORD_HEADER)).toBe(false);
  });
});
