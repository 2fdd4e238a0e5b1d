// Response compression on `edgepass serve` with node:zlib (gzip, and brotli, which the web
// CompressionStream lacks in Node 20). Each chunk the origin sends is compressed and flushed
// through at once, so a page that streams keeps streaming and memory stays one chunk deep; the
// output is pulled by the socket writer, so a slow client holds back the origin (backpressure).
import zlib from "node:zlib";
import { declaredPieces, piecesOf, piecesStream } from "../../core/pieces.js";
import type { ClientResponse } from "../../core/respond.js";
import { compressedHeaders, compressionFor, type CompressSettings } from "../../edge/compress.js";

export function compressed(r: ClientResponse, method: string, acceptEncoding: string | null, s: CompressSettings): ClientResponse {
  const coding = compressionFor({ method, status: r.status, headers: r.headers, length: r.length, hasBody: r.body !== null }, acceptEncoding, s);
  if (coding === null) return r;
  const headers = compressedHeaders(r.headers, coding);
  if (coding === "vary" || r.body === null) return { ...r, headers };
  if (r.body instanceof Uint8Array) {
    // A whole body is compressed in one call and keeps a length on the wire. The log counts
    // the origin's bytes, so the meter hears those and not what is written.
    const out = wholeCompressed(r.body, coding);
    const meter = r.meter;
    meter?.count(r.body.byteLength);
    return { ...r, headers, body: out, length: out.byteLength, encoded: true, overrun: undefined, meter: meter && { count: () => {}, end: meter.end } };
  }
  // The declared length is checked before compressing: a short origin body must still reach
  // the client as a cut connection, not as a clean end of a compressed stream.
  // The bytes counted for the log are the origin's, before compression.
  const source = piecesStream(declaredPieces(piecesOf(r.body), r.length, r.overrun), r.meter);
  const z = compressor(coding, r.length);
  return { ...r, headers, body: closing(source.pipeThrough(zlibStream(z, coding)), () => z.close()), length: null, encoded: true, overrun: undefined, meter: undefined };
}

/** `body`, with `close` called however it ends (whole, failed, or the client gone), so the
 *  compressor's native memory goes at once rather than at garbage collection. */
function closing(body: ReadableStream<Uint8Array>, close: () => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          close();
          c.close();
        } else c.enqueue(value);
      } catch (e) {
        close();
        throw e;
      }
    },
    async cancel(reason) {
      close();
      await reader.cancel(reason).catch(() => {});
    },
  });
}

function wholeCompressed(body: Uint8Array, coding: "br" | "gzip"): Uint8Array {
  const b = coding === "br" ? zlib.brotliCompressSync(body, { params: brotliParams(body.byteLength) }) : zlib.gzipSync(body, { level: 5 });
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

// Quality 4: most of brotli's gain over gzip at a gzip-like cost, for bodies made per request
// (the top qualities are for files compressed once, ahead of time).
function brotliParams(length: number | null): Record<number, number> {
  return {
    [zlib.constants.BROTLI_PARAM_QUALITY]: 4,
    [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
    ...(length !== null ? { [zlib.constants.BROTLI_PARAM_SIZE_HINT]: length } : {}),
  };
}

function compressor(coding: "br" | "gzip", length: number | null): zlib.Gzip | zlib.BrotliCompress {
  return coding === "br"
      ? zlib.createBrotliCompress({ params: brotliParams(length) })
      : zlib.createGzip({ level: 5 });
}

function zlibStream(z: zlib.Gzip | zlib.BrotliCompress, coding: "br" | "gzip"): TransformStream<Uint8Array, Uint8Array> {
  const flushKind = coding === "br" ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH;
  let out!: TransformStreamDefaultController<Uint8Array>;
  const drain = () => {
    for (let b: Buffer | null; (b = z.read() as Buffer | null) !== null; ) out.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  };
  let failure: Error | null = null;
  z.on("error", (e) => (failure = e));
  return new TransformStream<Uint8Array, Uint8Array>({
    start(c) {
      out = c;
    },
    transform(chunk) {
      return new Promise<void>((resolve, reject) => {
        z.write(chunk);
        z.flush(flushKind, () => {
          if (failure) return reject(failure);
          drain();
          resolve();
        });
      });
    },
    flush() {
      return new Promise<void>((resolve, reject) => {
        z.once("end", () => resolve());
        z.once("error", reject);
        z.on("readable", drain);
        z.end();
      });
    },
  });
}
