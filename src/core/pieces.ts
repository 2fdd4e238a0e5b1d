// A response body read as the pieces that have arrived. A web stream hands over one chunk per
// read, each through a pull, a promise and a reader request; a host's writer needs none of
// that for a body the gateway made over an origin's connection or a file, and reads its pieces
// straight from the source instead: one call for all that one socket read brought (on serve,
// written with one writev). Such a body is a PiecesBody, which makes a web stream only for
// whatever needs one (a platform Response, a decompressor): in Node 20 making one costs about
// 7 µs, a tenth of a small request, for a stream nobody would read. Any other stream is read
// through a reader behind the same interface.
import type { BodyMeter } from "./respond.js";

/** A body's pieces in order. */
export interface Pieces {
  /** What arrived since the last call (at least one piece, none empty), or null at the end;
   *  rejects when the body fails. One call at a time. */
  next(): Promise<Uint8Array[] | null>;
  /** Stops reading: the source lets its connection go. */
  cancel(reason?: unknown): void;
  /** The pieces are the reader's alone (read straight from the exchange's source): nothing
   *  else holds them, so a writer may hand their memory back once it has written them. */
  readonly own?: boolean;
}

/** A body over a source that hands its pieces over directly. Read once, as a stream is: its
 *  pieces (piecesOf) or a stream over them (streamOf), whichever is asked for first. */
export class PiecesBody {
  private read = false;

  /** `stream`: the web stream for a reader that wants one (default: one over the pieces). */
  constructor(
    private readonly source: Pieces,
    private readonly stream: () => ReadableStream<Uint8Array> = () => piecesStream(source),
  ) {}

  /** True once it is read (as a locked stream). */
  get locked(): boolean {
    return this.read;
  }

  pieces(): Pieces {
    this.take();
    return this.source;
  }

  toStream(): ReadableStream<Uint8Array> {
    this.take();
    return this.stream();
  }

  /** Drops a body nobody read; one being read is its reader's to stop. */
  cancel(reason?: unknown): void {
    if (this.read) return;
    this.read = true;
    this.source.cancel(reason);
  }

  private take(): void {
    if (this.read) throw new TypeError("This body has already been read.");
    this.read = true;
  }
}

/** A body read once, as it comes: a web stream, or pieces straight from their source (a
 *  client's connection on serve, an origin's, a file). */
export type StreamBody = ReadableStream<Uint8Array> | PiecesBody;

/** Pieces already in hand, handed over at once (a body buffered to learn its length). */
export function heldPieces(held: Uint8Array[]): Pieces {
  let left: Uint8Array[] | null = held.filter((p) => p.byteLength > 0);
  return {
    async next() {
      const got = left;
      left = null;
      return got !== null && got.length > 0 ? got : null;
    },
    cancel() {
      left = null;
    },
  };
}

/** workerd's streams, told by their BYOB readers' readAtLeast (no other host has it). */
export const WORKERD_STREAMS =
  typeof ReadableStreamBYOBReader === "function" && typeof (ReadableStreamBYOBReader.prototype as { readAtLeast?: unknown }).readAtLeast === "function";

/** What one read of a byte stream may take at once in workerd: a producer's pieces (up to a
 *  FastCGI record, 64 KiB) arrive whole, where a default reader of workerd's would split them
 *  into 4 KiB reads, each paying the work of a piece. */
const BYTE_READ = 64 * 1024;

/** `body` as pieces: straight from its source for a PiecesBody, else through a reader (in
 *  workerd a BYOB one when it is a byte stream; elsewhere a default reader hands over each
 *  chunk as it was made, and a BYOB reader would only cost a buffer per read, and for a
 *  stream that is not a byte stream, an error to refuse it). Either way the body is this
 *  reader's from here on. */
export function piecesOf(body: StreamBody): Pieces {
  if (body instanceof PiecesBody || !WORKERD_STREAMS) return streamPieces(body);
  let reader: ReadableStreamBYOBReader;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    return streamPieces(body); // not a byte stream: plain reads
  }
  return {
    async next() {
      for (;;) {
        const { done, value } = await reader.read(new Uint8Array(BYTE_READ));
        if (done) return null;
        if (value.byteLength > 0) return [value];
      }
    },
    cancel(reason) {
      void reader.cancel(reason).catch(() => {});
    },
  };
}

/** `body` as pieces, each chunk as its stream made it (no buffer of ours per read). */
export function streamPieces(body: StreamBody): Pieces {
  return body instanceof PiecesBody ? body.pieces() : readerPieces(body.getReader());
}

function readerPieces(reader: ReadableStreamDefaultReader<Uint8Array>): Pieces {
  return {
    async next() {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return null;
        if (value.byteLength > 0) return [value];
      }
    },
    cancel(reason) {
      void reader.cancel(reason).catch(() => {});
    },
  };
}

/** `body` held to the length its head declared, for every host's writer: the bytes past it
 *  are dropped (the origin broke its own Content-Length; the client gets what was declared,
 *  and `overrun` is told), and a body that ends short rejects, so the writer cuts the
 *  connection instead of ending the message. `length` null: every piece as it comes. */
export function declaredPieces(body: Pieces, length: number | null, overrun?: () => void): Pieces {
  if (length === null) return body;
  let sent = 0;
  let ended = false;
  return {
    own: body.own,
    async next() {
      if (ended) return null;
      const got = await body.next();
      if (got === null) {
        ended = true;
        if (sent < length) throw new Error(`the body ended after ${sent} of ${length} declared bytes`);
        return null;
      }
      for (let i = 0; i < got.length; i++) {
        const p = got[i];
        if (p.byteLength <= length - sent) {
          sent += p.byteLength;
          continue;
        }
        // Past the declared length: what fits goes, the rest and the source are dropped.
        const kept = got.slice(0, i);
        if (length > sent) kept.push(p.subarray(0, length - sent));
        sent = length;
        ended = true;
        overrun?.();
        body.cancel();
        return kept.length > 0 ? kept : null;
      }
      return got;
    },
    cancel(reason) {
      ended = true;
      body.cancel(reason);
    },
  };
}

/** `pieces` with `meter` told each piece as it is handed on, and the end once, however the
 *  body ends (read to its end, failed, or cancelled). */
export function metered(pieces: Pieces, meter: BodyMeter): Pieces {
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      meter.end();
    }
  };
  return {
    own: pieces.own,
    async next() {
      let got: Uint8Array[] | null;
      try {
        got = await pieces.next();
      } catch (e) {
        end();
        throw e;
      }
      if (got === null) end();
      else for (const p of got) meter.count(p.byteLength);
      return got;
    },
    cancel(reason) {
      end();
      pieces.cancel(reason);
    },
  };
}

/** `body` with `meter` told each piece and the end (metered), as pieces: a whole body too,
 *  with no stream made for it. */
export function meteredBody(body: StreamBody | Uint8Array, meter: BodyMeter): PiecesBody {
  return new PiecesBody(metered(body instanceof Uint8Array ? heldPieces([body]) : piecesOf(body), meter));
}

/** `pieces` as one stream (for a host whose answer needs one), metered if `meter` is given. */
export function piecesStream(pieces: Pieces, meter?: BodyMeter): ReadableStream<Uint8Array> {
  const src = meter ? metered(pieces, meter) : pieces;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        try {
          const got = await src.next();
          if (got === null) c.close();
          else for (const p of got) c.enqueue(p);
        } catch (e) {
          c.error(e);
        }
      },
      cancel(reason) {
        src.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
