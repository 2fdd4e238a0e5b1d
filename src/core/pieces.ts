// A response body read as the pieces that have arrived. A web stream hands over one chunk per
// read, each through a pull, a promise and a reader request; a host's writer needs none of
// that for a body the gateway made over an origin's connection, and reads its pieces straight
// from the source instead: one call for all that one socket read brought (on serve, written
// with one writev). Any other stream is read through a reader behind the same interface.
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

/** Streams made over a source that can hand its pieces over directly, while nobody read them. */
const direct = new WeakMap<ReadableStream<Uint8Array>, Pieces>();

/** Registers `pieces` as the direct way to read `stream` (both read the same source). */
export function withPieces(stream: ReadableStream<Uint8Array>, pieces: Pieces): ReadableStream<Uint8Array> {
  direct.set(stream, pieces);
  return stream;
}

/** The stream has been read through: its pieces no longer start at the beginning. */
export function readThrough(stream: ReadableStream<Uint8Array>): void {
  direct.delete(stream);
}

/** What one read of a byte stream may take at once: a producer's pieces (up to a FastCGI
 *  record, 64 KiB) arrive whole, where a default reader of workerd's would split them into
 *  4 KiB reads, each paying the work of a piece. */
const BYTE_READ = 64 * 1024;

/** `body` as pieces: straight from its source when it has one and is unread, else through a
 *  reader (a BYOB one when it is a byte stream). Either way the stream is locked to this
 *  reader from here on. */
export function piecesOf(body: ReadableStream<Uint8Array>): Pieces {
  const own = body.locked ? undefined : direct.get(body);
  if (own) {
    body.getReader();
    direct.delete(body);
    return own;
  }
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: plain reads.
  }
  const reader = byob ?? body.getReader();
  return {
    async next() {
      for (;;) {
        const { done, value } = byob ? await byob.read(new Uint8Array(BYTE_READ)) : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
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

/** `pieces` as one stream (for a host whose answer needs one); `meter` hears each piece as it
 *  is handed on, and the end once, however the stream ends. */
export function piecesStream(pieces: Pieces, meter?: BodyMeter): ReadableStream<Uint8Array> {
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      meter?.end();
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        try {
          const got = await pieces.next();
          if (got === null) {
            c.close();
            end();
            return;
          }
          for (const p of got) {
            meter?.count(p.byteLength);
            c.enqueue(p);
          }
        } catch (e) {
          c.error(e);
          end();
        }
      },
      cancel(reason) {
        end();
        pieces.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
