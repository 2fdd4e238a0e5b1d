// Response compression on `edgepass serve` with node:zlib (gzip, and brotli, which the web
// CompressionStream lacks in Node 20). Each chunk the origin sends is compressed and flushed
// through at once, so a page that streams keeps streaming and memory stays one chunk deep; the
// output is pulled by the socket writer, so a slow client holds back the origin (backpressure).
import zlib from "node:zlib";
import { declaredPieces, metered, PiecesBody, piecesOf, type Pieces } from "../../core/pieces.js";
import type { ClientResponse } from "../../core/respond.js";
import { giveBack } from "../../core/read-slabs.js";
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
    // Read straight from an origin's connection, its memory may be read into again (respond.ts).
    giveBack([r.body]);
    const meter = r.meter;
    meter?.count(r.body.byteLength);
    return { ...r, headers, body: out, length: out.byteLength, encoded: true, overrun: undefined, meter: meter && { count: () => {}, end: meter.end } };
  }
  // The declared length is checked before compressing: a short origin body must still reach
  // the client as a cut connection, not as a clean end of a compressed body.
  // The bytes counted for the log are the origin's, before compression.
  const declared = declaredPieces(piecesOf(r.body), r.length, r.overrun);
  const source = r.meter ? metered(declared, r.meter) : declared;
  const body = new PiecesBody(compressedPieces(source, compressor(coding, r.length), coding));
  return { ...r, headers, body, length: null, encoded: true, overrun: undefined, meter: undefined };
}

/** `source` compressed: what each of its reads brought is compressed and flushed through at
 *  once (a page that streams keeps streaming), and nothing is read from the origin until the
 *  writer asks for more (backpressure). The compressor's native memory goes as soon as the
 *  body ends, fails or is cancelled, rather than at garbage collection. */
function compressedPieces(source: Pieces, z: zlib.Gzip | zlib.BrotliCompress, coding: "br" | "gzip"): Pieces {
  const flushKind = coding === "br" ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH;
  let failure: Error | null = null;
  z.on("error", (e) => (failure = e));
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      z.close();
    }
  };
  const take = (out: Uint8Array[]) => {
    for (let b: Buffer | null; (b = z.read() as Buffer | null) !== null; ) if (b.byteLength > 0) out.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    return out;
  };
  // What the compressor makes is read while the flush runs: a stream holds back its input once
  // 16 KiB of output waits unread, so a piece that compresses to more than that (a 70 KB script
  // of hex digests) never finished flushing, and the answer hung after its head.
  const flushed = () =>
    new Promise<Uint8Array[]>((resolve, reject) => {
      const out: Uint8Array[] = [];
      const drain = () => take(out);
      z.on("readable", drain);
      z.flush(flushKind, () => {
        z.off("readable", drain);
        if (failure) reject(failure);
        else resolve(take(out));
      });
    });
  const ended = () =>
    new Promise<Uint8Array[]>((resolve, reject) => {
      const out: Uint8Array[] = [];
      z.on("readable", () => take(out));
      z.once("end", () => resolve(take(out)));
      z.once("error", reject);
      z.end();
    });
  return {
    async next() {
      if (closed) return null;
      try {
        for (;;) {
          const got = await source.next();
          if (got === null) {
            const out = await ended();
            close();
            return out.length > 0 ? out : null;
          }
          for (const p of got) z.write(p);
          const out = await flushed();
          if (out.length > 0) return out;
        }
      } catch (e) {
        close();
        source.cancel(e);
        throw e;
      }
    },
    cancel(reason) {
      close();
      source.cancel(reason);
    },
  };
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
