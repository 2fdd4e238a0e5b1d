// The origin's response body, pull-driven (read as pieces by a host's writer, or as a web
// stream): nothing is read from the origin until the client asks for more, so a slow client
// holds at most one socket read of data in memory (backpressure instead of growth), and a
// 4 GiB download costs no more memory than 4 KiB.
import { concatBytes } from "../core/bytes.js";
import { Watchdog } from "../core/deadline.js";
import { Codes, GatewayError } from "../core/errors.js";
import type { Logger } from "../core/log.js";
import { PiecesBody } from "../core/pieces.js";

export interface BodySource {
  /** Pieces already received, handed on in order. */
  readonly pending: Uint8Array[];
  /** True once the origin said the body is complete. */
  done(): boolean;
  /** Reads more from the origin; throws on failure or when it stops early. */
  step(): Promise<void>;
  /** Releases the connection; `clean` says whether the exchange finished properly. */
  release(clean: boolean): void;
  /** Called when the stream fails after the head was sent (the client sees a cut body). */
  onError(e: unknown): void;
  /** A piece went to the client (a pooled connection counts what a request holds unread). */
  taken?(piece: Uint8Array): void;
  /** A kept connection is not left to a client that stopped reading. */
  stall?: Stall;
}

/** A client that takes nothing of the response for `ms` while the origin still owes some is
 *  treated as gone: `stalled()` is told, the stream fails and the connection is let go. */
export interface Stall {
  ms: number;
  stalled(): void;
}

/** The largest body an exchange hands on whole (a Uint8Array, core/exchange.ts Body) when all
 *  of it arrived with the head; a larger or unfinished one streams. */
const WHOLE_BODY_MAX = 64 * 1024;

/** The pieces of a body that arrived whole with its head, as one; null when there are more
 *  to come or they are too many bytes to hold (the body streams). */
export function wholeBody(done: boolean, pending: Uint8Array[]): Uint8Array | null {
  if (!done) return null;
  let n = 0;
  for (const p of pending) n += p.byteLength;
  return n <= WHOLE_BODY_MAX ? concatBytes(pending.splice(0)) : null;
}

/** The body over `src`: its pieces for a host's writer, or a stream for whatever needs one. */
export function sourceBody(src: BodySource): PiecesBody {
  // The stall guard fails a reader's stream at once; a reader of pieces hears it at its next read.
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  const reads = sourceReads(src, (e) => controller?.error(e));
  const stream = () =>
    new ReadableStream<Uint8Array>(
      {
        start(c) {
          controller = c;
        },
        // One piece per pull: the stall guard then bounds the wait for each piece, and a
        // pooled connection counts as taken only what the reader took.
        async pull(c) {
          try {
            const got = await reads.next(false);
            if (got === null) c.close();
            else c.enqueue(got[0]);
          } catch (e) {
            c.error(e);
          }
        },
        cancel() {
          reads.cancel();
        },
      },
      { highWaterMark: 0 },
    );
  return new PiecesBody({ next: () => reads.next(true), cancel: reads.cancel, own: true }, stream);
}

/** Reads `src`: each call hands on what has arrived (`all`, or the first piece), reading more
 *  only when nothing has. `stalled` fails the reader's stream at once when the stall guard
 *  fires. */
function sourceReads(src: BodySource, stalled: (e: GatewayError) => void) {
  let finished = false;
  let failure: unknown = null;
  let watch: Watchdog | undefined;
  const finish = (clean: boolean) => {
    watch?.dispose();
    if (!finished) {
      finished = true;
      src.release(clean);
    }
  };
  const onStall = (stall: Stall) => {
    // The whole answer is in: the connection is free already, whatever the client does.
    if (finished || src.done()) return;
    stall.stalled();
    const gone = new GatewayError(Codes.CLIENT_GONE, 499, "The client took nothing of the response for too long.");
    failure = gone;
    finish(false);
    stalled(gone);
  };
  return {
    async next(all: boolean): Promise<Uint8Array[] | null> {
      watch?.stop();
      if (failure !== null) throw failure;
      try {
        for (;;) {
          if (src.pending.length > 0) {
            let got = all ? src.pending.splice(0) : src.pending.splice(0, 1);
            if (got.some((p) => p.byteLength === 0)) got = got.filter((p) => p.byteLength > 0);
            if (got.length === 0) continue;
            for (const p of got) src.taken?.(p);
            const stall = src.stall;
            if (stall) (watch ??= new Watchdog(stall.ms, () => onStall(stall))).start();
            return got;
          }
          if (src.done()) {
            finish(true);
            return null;
          }
          await src.step();
        }
      } catch (e) {
        src.onError(e);
        finish(false);
        failure = e;
        throw e;
      }
    },
    cancel(): void {
      finish(false);
    },
  };
}

/** The one log line of a body cut after its head went to the client. */
export function logCut(log: Logger, origin: string): (e: unknown) => void {
  return (e) =>
    log.log("error", "response_cut", {
      origin,
      code: e instanceof GatewayError ? e.code : "INTERNAL",
      detail: e instanceof GatewayError ? (e.detail ?? e.message) : String(e),
    });
}
