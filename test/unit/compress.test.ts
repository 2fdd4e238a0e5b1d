// Which responses a host compresses (src/edge/compress.ts): nginx's gzip rules with brotli
// preferred on a tie, the client's q-values deciding, and the headers a compressed answer gets;
// and serve's compressor on a streamed body, read as pieces.
import zlib from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { compressed } from "../../src/adapter/node/compress.js";
import { PiecesBody, piecesOf } from "../../src/core/pieces.js";
import type { ClientResponse } from "../../src/core/respond.js";
import { ResponseFields } from "../../src/core/response-fields.js";
import { COMPRESS_DEFAULTS } from "../../src/config/serve-extras.js";
import { compressedHeaders, compressionFor, typeMatches } from "../../src/edge/compress.js";

const res = (type: string | null, over: Partial<{ method: string; status: number; length: number | null; headers: Record<string, string> }> = {}) => ({
  method: over.method ?? "GET",
  status: over.status ?? 200,
  length: over.length === undefined ? 10_000 : over.length,
  hasBody: true,
  headers: new Headers({ ...(type ? { "content-type": type } : {}), ...over.headers }),
});

describe("compressionFor", () => {
  it("text types are compressed with the client's preferred coding; br wins a tie", () => {
    expect(compressionFor(res("text/html; charset=utf-8"), "gzip, br", COMPRESS_DEFAULTS)).toBe("br");
    expect(compressionFor(res("application/json"), "gzip", COMPRESS_DEFAULTS)).toBe("gzip");
    expect(compressionFor(res("application/ld+json"), "br;q=0.2, gzip;q=0.8", COMPRESS_DEFAULTS)).toBe("gzip");
    expect(compressionFor(res("image/svg+xml"), "*", COMPRESS_DEFAULTS)).toBe("br");
    expect(compressionFor(res("text/css"), "br", { ...COMPRESS_DEFAULTS, compress: ["gzip"] })).toBe("vary");
  });

  it("a compressible answer the client takes no coding for still varies by Accept-Encoding", () => {
    expect(compressionFor(res("text/html"), null, COMPRESS_DEFAULTS)).toBe("vary");
    expect(compressionFor(res("text/html"), "identity", COMPRESS_DEFAULTS)).toBe("vary");
  });

  it.each([
    ["an image", res("image/png")],
    ["no type", res(null)],
    ["an event stream", res("text/event-stream")],
    ["HEAD", res("text/html", { method: "HEAD" })],
    ["206", res("text/html", { status: 206 })],
    ["304", res("text/html", { status: 304 })],
    ["204", res("text/html", { status: 204 })],
    ["a body shorter than compress_min_length", res("text/html", { length: 511 })],
    ["an encoded body", res("text/html", { headers: { "content-encoding": "gzip" } })],
    ["Cache-Control: no-transform", res("text/html", { headers: { "cache-control": "public, no-transform" } })],
  ])("%s is left alone", (_, r) => {
    expect(compressionFor(r, "br, gzip", COMPRESS_DEFAULTS)).toBeNull();
  });

  it("compress = [] turns it off; a streamed body of unknown length is compressed", () => {
    expect(compressionFor(res("text/html"), "gzip", { ...COMPRESS_DEFAULTS, compress: [] })).toBeNull();
    expect(compressionFor(res("text/html", { length: null }), "gzip", COMPRESS_DEFAULTS)).toBe("gzip");
  });
});

describe("compressedHeaders", () => {
  it("sets the coding, adds to Vary once, drops the length and ranges, weakens a strong ETag", () => {
    const h = compressedHeaders(new Headers({ "content-length": "10", "accept-ranges": "bytes", etag: '"x"', vary: "Cookie" }), "gzip");
    expect(Object.fromEntries(h)).toEqual({ "content-encoding": "gzip", vary: "Cookie, Accept-Encoding", etag: 'W/"x"' });
    expect(compressedHeaders(new Headers({ vary: "accept-encoding", etag: 'W/"y"' }), "br").get("vary")).toBe("accept-encoding");
    expect(Object.fromEntries(compressedHeaders(new Headers({ "content-length": "10", etag: '"x"' }), "vary"))).toEqual({ "content-length": "10", etag: '"x"', vary: "Accept-Encoding" });
  });
});

describe("typeMatches", () => {
  it("exact types and * within one part of the type", () => {
    expect(typeMatches("Application/Atom+XML; charset=utf-8", ["application/*+xml"])).toBe(true);
    expect(typeMatches("application/xml", ["application/*+xml"])).toBe(false);
    expect(typeMatches("text/plain", ["text/*"])).toBe(true);
    expect(typeMatches("textual/plain", ["text/*"])).toBe(false);
  });
});

describe("serve's compressor on a streamed body (adapter/node/compress.ts)", () => {
  const streamed = (pieces: Uint8Array[], cancelled: unknown[]): ClientResponse => ({
    status: 200,
    statusText: "",
    headers: new ResponseFields(),
    body: new PiecesBody({
      async next() {
        return pieces.length ? [pieces.shift()!] : null;
      },
      cancel: (reason) => void cancelled.push(reason),
    }),
    length: null,
    encoded: false,
  });
  const html = (r: ClientResponse) => (r.headers.set("content-type", "text/html"), r);

  it("hands on what each read brought, compressed and flushed; the whole decodes to the origin's bytes", async () => {
    const parts = [new TextEncoder().encode("<p>one</p>".repeat(100)), new TextEncoder().encode("<p>two</p>".repeat(100))];
    const out = compressed(html(streamed([...parts], [])), "GET", "gzip", COMPRESS_DEFAULTS);
    expect(out.headers.get("content-encoding")).toBe("gzip");
    const pieces = piecesOf(out.body as PiecesBody);
    const first = Buffer.concat((await pieces.next())!);
    // A sync flush: what came so far decodes on its own.
    expect(zlib.inflateRawSync(first.subarray(10), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString()).toBe("<p>one</p>".repeat(100));
    const rest: Buffer[] = [first];
    for (let p = await pieces.next(); p !== null; p = await pieces.next()) rest.push(...p.map((b) => Buffer.from(b)));
    expect(zlib.gunzipSync(Buffer.concat(rest)).toString()).toBe("<p>one</p>".repeat(100) + "<p>two</p>".repeat(100));
  });

  it("a client that leaves part way closes the compressor at once and lets the origin go", async () => {
    const made: zlib.Gzip[] = [];
    const create = zlib.createGzip;
    const spy = vi.spyOn(zlib, "createGzip").mockImplementation((o) => {
      const z = create(o);
      made.push(z);
      return z;
    });
    try {
      const cancelled: unknown[] = [];
      const out = compressed(html(streamed([new Uint8Array(2000).fill(97), new Uint8Array(2000).fill(98)], cancelled)), "GET", "gzip", COMPRESS_DEFAULTS);
      const pieces = piecesOf(out.body as PiecesBody);
      await pieces.next();
      pieces.cancel("gone");
      expect(cancelled).toEqual(["gone"]);
      expect(made).toHaveLength(1);
      expect(made[0].destroyed).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});
