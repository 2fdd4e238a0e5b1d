// The HTTP/1.1 side of the TypeScript codec (src/codec/http1.ts, http-chunked.ts): what a host
// relies on beyond the markdown vectors — views into the caller's chunk, the host loops for
// interim responses and growing buffers, the framing and keep-alive tables, the chunked
// decoder's lifecycle across pushes, and chunk encoding that round-trips through the decoder.

import { describe, expect, it } from "vitest";
import { loadWasmModuleFromDisk } from "../../src/adapter/node/wasm";
import { CodecError, createCodec, type BodyFraming, type HttpResponseHead } from "../../src/codec/index";
import { codeOf } from "../helpers/code-of";

const codec = createCodec(loadWasmModuleFromDisk());
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array) => String.fromCharCode(...b);

function response(head: string, method = "GET"): HttpResponseHead {
  const h = codec.parseHttpResponseHead(bytes(head), 8192, method);
  if (!h) throw new Error("incomplete");
  return h;
}

describe("response framing (RFC 9112 6.3)", () => {
  const cases: Array<[string, string, string, BodyFraming, boolean]> = [
    // status line + fields, request method, why, framing, keepAlive
    ["HTTP/1.1 200 OK\r\nContent-Length: 10", "GET", "length", { kind: "length", length: 10 }, true],
    ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "GET", "chunked", { kind: "chunked" }, true],
    ["HTTP/1.1 200 OK", "GET", "neither: until close", { kind: "close" }, false],
    ["HTTP/1.1 200 OK\r\nContent-Length: 10", "HEAD", "HEAD", { kind: "none" }, true],
    ["HTTP/1.1 204 No Content", "GET", "204", { kind: "none" }, true],
    ["HTTP/1.1 304 Not Modified\r\nContent-Length: 10", "GET", "304", { kind: "none" }, true],
    ["HTTP/1.1 100 Continue", "GET", "1xx", { kind: "none" }, true],
    ["HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c", "GET", "101", { kind: "none" }, false],
    ["HTTP/1.1 200 OK", "CONNECT", "2xx to CONNECT", { kind: "none" }, false],
    ["HTTP/1.1 403 Forbidden\r\nContent-Length: 0", "CONNECT", "non-2xx to CONNECT", { kind: "length", length: 0 }, true],
    ["HTTP/1.1 200 OK\r\nContent-Length: 10", "head", "lower-case head is another method", { kind: "length", length: 10 }, true],
    ["HTTP/1.0 200 OK\r\nContent-Length: 1", "GET", "HTTP/1.0", { kind: "length", length: 1 }, false],
    ["HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1", "GET", "HTTP/1.0 keep-alive", { kind: "length", length: 1 }, true],
    ["HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 1", "GET", "close wins", { kind: "length", length: 1 }, false],
    ["HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 1", "GET", "Connection: close", { kind: "length", length: 1 }, false],
    ["HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 1", "GET", "a token is compared whole", { kind: "length", length: 1 }, true],
  ];
  for (const [head, method, why, framing, keepAlive] of cases) {
    it(`${why}: ${framing.kind}, keepAlive ${keepAlive}`, () => {
      const h = response(`${head}\r\n\r\n`, method);
      expect(h.framing).toEqual(framing);
      expect(h.keepAlive).toBe(keepAlive);
    });
  }

  it("reads a length above 2^32 exactly", () => {
    expect(response("HTTP/1.1 200 OK\r\nContent-Length: 4294967297\r\n\r\n").framing).toEqual({ kind: "length", length: 2 ** 32 + 1 });
    expect(response("HTTP/1.1 200 OK\r\nContent-Length: 9007199254740991\r\n\r\n").framing).toEqual({ kind: "length", length: Number.MAX_SAFE_INTEGER });
  });
});

describe("response heads, as a host reads them", () => {
  it("reports 1xx heads so the host can skip to the final one", () => {
    const wire = bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    const seen: number[] = [];
    let at = 0;
    let head: HttpResponseHead;
    for (;;) {
      head = codec.parseHttpResponseHead(wire.subarray(at), 8192, "POST")!;
      seen.push(head.status);
      at += head.bodyOffset;
      if (head.status >= 200 || head.status === 101) break;
    }
    expect(seen).toEqual([100, 103, 200]);
    expect(head.headers).toEqual([["Content-Length", "2"]]);
    expect(text(wire.subarray(at))).toBe("ok");
  });

  it("returns null until the head is complete, then the same head however the bytes arrived", () => {
    const wire = bytes("HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 3\r\n\r\nabc");
    const whole = codec.parseHttpResponseHead(wire, 8192, "GET");
    for (let n = 0; n < 72; n++) expect(codec.parseHttpResponseHead(wire.subarray(0, n), 8192, "GET"), `${n} bytes`).toBeNull();
    expect(codec.parseHttpResponseHead(wire.subarray(0, 72), 8192, "GET")).toEqual(whole);
    expect(whole).toMatchObject({ status: 200, bodyOffset: 72, headers: [["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"], ["Content-Length", "3"]] });
  });

  it("throws HTTP_HEAD_TOO_LARGE once the limit is reached, not before", () => {
    const wire = bytes("HTTP/1.1 200 OK\r\nX: y\r\n\r\n"); // 25 bytes
    expect(codec.parseHttpResponseHead(wire, 25, "GET")?.bodyOffset).toBe(25);
    expect(codeOf(() => codec.parseHttpResponseHead(wire, 24, "GET"))).toBe("HTTP_HEAD_TOO_LARGE");
    expect(codec.parseHttpResponseHead(wire.subarray(0, 10), 24, "GET")).toBeNull();
  });

  it("rejects a limit that is not a positive 31-bit integer", () => {
    for (const limit of [0, -1, 1.5, 2 ** 31, Number.NaN]) {
      expect(() => codec.parseHttpResponseHead(bytes("HTTP/1.1 200 OK\r\n\r\n"), limit, "GET")).toThrow(RangeError);
      expect(() => codec.parseHttpRequestHead(bytes("GET / HTTP/1.1\r\n\r\n"), limit)).toThrow(RangeError);
    }
  });

  it("gives every failure a CodecError with a stable code and a message", () => {
    try {
      response("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CodecError);
      expect((e as CodecError).code).toBe("HTTP_CL_AND_TE");
      expect((e as CodecError).num).toBe(-46);
      expect((e as CodecError).message).toMatch(/^HTTP response head: .*Content-Length and Transfer-Encoding/);
    }
  });

  it("keeps header bytes as latin-1 strings, byte for byte", () => {
    const h = response("HTTP/1.1 200 \xe9t\xe9\r\nX-Name: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n");
    expect(h.reason).toBe("\xe9t\xe9");
    expect(h.headers[0]).toEqual(["X-Name", "caf\xc3\xa9"]);
  });
});

describe("strings and offsets", () => {
  // Heads are decoded by the host's native decoder when they are ASCII; every other byte must
  // still come back as the latin-1 char of the same number.
  it("keeps long heads with UTF-8, U+FFFD, invalid and BOM bytes as latin-1, byte for byte", () => {
    const values = ["caf\xc3\xa9 na\xc3\xafve", "\xef\xbf\xbd replacement", "\xff\xfe bad \x80", "\xef\xbb\xbfbom", "plain ascii"];
    for (const v of values) {
      const head = "HTTP/1.1 200 OK\r\nX-Long-Enough-Name: " + v + "\r\nContent-Length: 0\r\n\r\n";
      const h = codec.parseHttpResponseHead(bytes(head), 65536, "GET")!;
      expect(h.headers[0], JSON.stringify(v)).toEqual(["X-Long-Enough-Name", v]);
      const bomFirst = "\xef\xbb\xbf" + v;
      const cgi = codec.parseCgiHead(bytes("X-Value: " + bomFirst + " and more bytes\r\n\r\n"), 65536)!;
      expect(cgi.headers[0]).toEqual(["X-Value", bomFirst + " and more bytes"]);
    }
  });

  it("parses heads that end past the first 4 KiB it copies, and body bytes after short ones", () => {
    for (const size of [4090, 4095, 4096, 4097, 4100, 10000]) {
      const pad = "x".repeat(size - "HTTP/1.1 200 OK\r\nX-Pad: \r\n\r\n".length);
      const head = `HTTP/1.1 200 OK\r\nX-Pad: ${pad}\r\n\r\n`;
      expect(head.length).toBe(size);
      const h = codec.parseHttpResponseHead(bytes(head + "body".repeat(5000)), 65536, "GET")!;
      expect(h.bodyOffset, `size ${size}`).toBe(size);
      expect(h.headers).toEqual([["X-Pad", pad]]);
      expect(codec.parseHttpResponseHead(bytes(head.slice(0, -1)), 65536, "GET")).toBeNull();
      expect(() => codec.parseHttpResponseHead(bytes(head), size - 1, "GET")).toThrow(CodecError);
      const cgi = codec.parseCgiHead(bytes(`Status: 404\r\nX-Pad: ${pad}\r\n\r\n` + "b".repeat(9000)), 65536)!;
      expect(cgi).toMatchObject({ status: 404, headers: [["X-Pad", pad]] });
    }
  });

  it("answers the same parse as offsets into the buffer (scanHttp*Head)", () => {
    const req = bytes("POST /x?y=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\nX-A:  v v \r\n\r\nhello");
    const h = codec.parseHttpRequestHead(req, 65536)!;
    const o = codec.scanHttpRequestHead(req, 65536)!;
    const str = (a: number, b: number) => String.fromCharCode(...req.subarray(a, b));
    expect(str(o.methodStart, o.methodEnd)).toBe(h.method);
    expect(str(o.targetStart, o.targetEnd)).toBe(h.target);
    expect(o).toMatchObject({ version: 11, status: 0, bodyOffset: h.bodyOffset, framing: h.framing, keepAlive: true, fieldCount: 3 });
    const pairs = Array.from({ length: o.fieldCount }, (_, i) => [str(o.fields[4 * i], o.fields[4 * i + 1]), str(o.fields[4 * i + 2], o.fields[4 * i + 3])]);
    expect(pairs).toEqual(h.headers);
    const res = bytes("HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\n");
    const r = codec.scanHttpResponseHead(res, 65536, "GET")!;
    expect(r).toMatchObject({ version: 10, status: 404, framing: { kind: "close" }, keepAlive: false, fieldCount: 1 });
    expect(String.fromCharCode(...res.subarray(r.reasonStart, r.reasonEnd))).toBe("Not Found");
    expect(codec.scanHttpRequestHead(bytes("GET / HTTP/1.1\r\nHost: a"), 65536)).toBeNull();
    expect(() => codec.scanHttpRequestHead(bytes("GET / HTTP/1.1\r\n\r\n"), 65536)).toThrow(CodecError);
  });
});

describe("request heads", () => {
  it("reports method, target, version, headers and body offset", () => {
    const wire = bytes("POST /a?b=c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc");
    expect(codec.parseHttpRequestHead(wire, 8192)).toEqual({
      method: "POST",
      target: "/a?b=c",
      version: 11,
      headers: [["Host", "h"], ["Content-Length", "3"], ["Expect", "100-continue"]],
      bodyOffset: 74,
      framing: { kind: "length", length: 3 },
      keepAlive: true,
      expectContinue: true,
    });
  });

  it("keep-alive: HTTP/1.1 unless close, HTTP/1.0 only with keep-alive", () => {
    const ka = (s: string) => codec.parseHttpRequestHead(bytes(s), 8192)!.keepAlive;
    expect(ka("GET / HTTP/1.1\r\nHost: h\r\n\r\n")).toBe(true);
    expect(ka("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, close\r\n\r\n")).toBe(false);
    expect(ka("GET / HTTP/1.0\r\n\r\n")).toBe(false);
    expect(ka("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")).toBe(true);
  });

  it("answers 431 material: too many fields is its own code", () => {
    const many = "GET / HTTP/1.1\r\nHost: h\r\n" + "a: b\r\n".repeat(1000) + "\r\n";
    expect(codeOf(() => codec.parseHttpRequestHead(bytes(many), 64 * 1024))).toBe("HTTP_TOO_MANY_FIELDS");
    const enough = "GET / HTTP/1.1\r\nHost: h\r\n" + "a: b\r\n".repeat(999) + "\r\n";
    expect(codec.parseHttpRequestHead(bytes(enough), 64 * 1024)!.headers).toHaveLength(1000);
  });

  it("ignores bytes past the limit when the head ends before it", () => {
    const wire = bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n" + "x".repeat(100));
    expect(codec.parseHttpRequestHead(wire, 27)?.bodyOffset).toBe(27);
  });
});

describe("chunked decoder", () => {
  it("returns data as views into the caller's chunk, not copies", () => {
    const d = codec.chunkedDecoder();
    const chunk = bytes("5\r\nhello\r\n0\r\n\r\n");
    const r = d.push(chunk);
    expect(r.data).toHaveLength(1);
    expect(r.data[0].buffer).toBe(chunk.buffer);
    expect(r.data[0].byteOffset).toBe(3);
    expect(text(r.data[0])).toBe("hello");
    d.free();
  });

  it("dataLeft: the part of the current chunk its size line announced and no push brought yet", () => {
    const cases: Array<[string, number]> = [
      ["1f40\r\n", 8000], // a size line alone: all of 0x1f40 bytes to come
      ["1f40\r\n" + "a".repeat(1000), 7000], // large data, handed back as a view
      ["10\r\nabcd", 12], // small data, scanned in Wasm memory
      ["5\r\nhello\r\n", 0], // a whole chunk: nothing announced is missing
      ["1f4", 0], // a size line not ended yet announces nothing
    ];
    for (const [input, left] of cases) {
      const d = codec.chunkedDecoder();
      d.push(bytes(input));
      expect([input, d.dataLeft]).toEqual([input, left]);
      d.free();
    }
  });

  it("carries a chunk across pushes and says where the body ended", () => {
    const d = codec.chunkedDecoder();
    const parts = ["a;x=", '"y"\r\n0123', "456789\r", "\n0\r\nT: v\r", "\n\r\nNEXT"];
    const got: string[] = [];
    const results = parts.map((p) => {
      const r = d.push(bytes(p));
      got.push(...r.data.map(text));
      return [r.done, r.consumed];
    });
    expect(got.join("")).toBe("0123456789");
    expect(results).toEqual([[false, 4], [false, 9], [false, 7], [false, 9], [true, 3]]);
    // After the end, nothing more is consumed: the rest is the next message.
    expect(d.push(bytes("more"))).toEqual({ data: [], done: true, consumed: 0 });
    d.free();
  });

  it("fills the span table more than once in one push", () => {
    const d = codec.chunkedDecoder();
    const body = "1\r\nx\r\n".repeat(200) + "0\r\n\r\n";
    const r = d.push(bytes(body));
    expect(r.data).toHaveLength(200);
    expect(r.data.map(text).join("")).toBe("x".repeat(200));
    expect(r).toMatchObject({ done: true, consumed: body.length });
    d.free();
  });

  it("hands a large chunk back as one view of the caller's bytes, never copied through Wasm memory", () => {
    const size = 200_000;
    const payload = new Uint8Array(size).map((_, i) => i % 251);
    const wire = Buffer.concat([bytes(size.toString(16) + "\r\n"), payload, bytes("\r\n0\r\n\r\n")]);
    const d = codec.chunkedDecoder();
    const r = d.push(wire);
    expect(r.data).toHaveLength(1);
    expect(r.data.every((x) => x.buffer === wire.buffer)).toBe(true);
    expect(Buffer.compare(Buffer.concat(r.data), payload)).toBe(0);
    expect(r).toMatchObject({ done: true, consumed: wire.length });
    d.free();
  });

  it("decodes large and small chunks the same at every split, large ones as views of the input", () => {
    const sizes = [5000, 3, 4096, 4095, 20000, 17];
    const payload = sizes.map((n, i) => new Uint8Array(n).fill(0x41 + i));
    const wire = Buffer.concat([
      ...payload.flatMap((p, i) => [bytes(p.length.toString(16) + (i === 2 ? ";ext=1" : "") + "\r\n"), p, bytes("\r\n")]),
      bytes("0\r\nX-Trailer: t\r\n\r\nNEXT"),
    ]);
    const end = wire.length - 4;
    for (const step of [1, 7, 64, 1000, 4097, wire.length]) {
      const d = codec.chunkedDecoder();
      const got: Uint8Array[] = [];
      let consumed = 0;
      let done = false;
      for (let at = 0; at < wire.length && !done; at += step) {
        const piece = wire.subarray(at, at + step);
        const r = d.push(piece);
        for (const x of r.data) expect(x.buffer).toBe(wire.buffer);
        got.push(...r.data);
        consumed += r.consumed;
        done = r.done;
      }
      d.free();
      expect(done, `step ${step}`).toBe(true);
      expect(consumed, `step ${step}`).toBe(end);
      expect(Buffer.compare(Buffer.concat(got), Buffer.concat(payload)), `step ${step}`).toBe(0);
    }
  });

  it("stays failed after a framing error", () => {
    const d = codec.chunkedDecoder();
    expect(codeOf(() => d.push(bytes("5\nhello")))).toBe("HTTP_CHUNK_BAD_LINE_END");
    expect(codeOf(() => d.push(bytes("0\r\n\r\n")))).toBe("HTTP_CHUNK_BAD_LINE_END");
    d.free();
  });

  it("refuses use after free, and free twice is harmless", () => {
    const d = codec.chunkedDecoder();
    d.free();
    d.free();
    expect(() => d.push(bytes("0\r\n\r\n"))).toThrow(/after free/);
  });
});

describe("encodeChunk", () => {
  it("frames data as hex size, CRLF, data, CRLF", () => {
    expect(text(codec.encodeChunk(bytes("hello")))).toBe("5\r\nhello\r\n");
    expect(text(codec.encodeChunk(new Uint8Array(26)).subarray(0, 4))).toBe("1a\r\n");
    expect(codec.encodeChunk(new Uint8Array(0x10000)).length).toBe(5 + 2 + 0x10000 + 2);
  });

  it("as pieces: the same bytes; data of 4 KiB or more goes as it is, between size line and CRLF", () => {
    for (const size of [0, 5, 4095, 4096, 0x10000, 100_001]) {
      const data = Uint8Array.from({ length: size }, (_, i) => i % 253);
      const pieces = codec.encodeChunkPieces(data);
      expect(Buffer.concat(pieces), `size ${size}`).toEqual(Buffer.from(codec.encodeChunk(data)));
      expect(pieces.includes(data), `size ${size}`).toBe(size >= 4096);
    }
  });

  it("ends the body with the last chunk when data is empty", () => {
    expect(text(codec.encodeChunk(new Uint8Array(0)))).toBe("0\r\n\r\n");
  });

  it("returns a fresh copy the caller owns", () => {
    const a = codec.encodeChunk(bytes("abc"));
    const b = codec.encodeChunk(bytes("xyz"));
    expect(text(a)).toBe("3\r\nabc\r\n");
    expect(text(b)).toBe("3\r\nxyz\r\n");
  });

  it("round-trips through the decoder for many sizes", () => {
    const d = codec.chunkedDecoder();
    const sizes = [1, 2, 15, 16, 17, 255, 256, 4095, 4096, 65535, 65536, 70000];
    const out: number[] = [];
    for (const n of sizes) {
      const data = new Uint8Array(n).fill(n & 0xff);
      for (const piece of d.push(codec.encodeChunk(data)).data) out.push(piece.length);
    }
    const end = d.push(codec.encodeChunk(new Uint8Array(0)));
    expect(end.done).toBe(true);
    expect(out.reduce((a, b) => a + b, 0)).toBe(sizes.reduce((a, b) => a + b, 0));
    d.free();
  });
});
