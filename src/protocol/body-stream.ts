// The origin's response body as a pull-driven stream: nothing is read from the origin until
// the client asks for more, so a slow client holds at most one socket read of data in memory
// (backpressure instead of growth), and a 4 GiB download costs no more memory than 4 KiB.

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
}

export function bodyStream(src: BodySource): ReadableStream<Uint8Array> {
  let finished = false;
  const finish = (clean: boolean) => {
    if (!finished) {
      finished = true;
      src.release(clean);
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const next = src.pending.shift();
            if (next) {
              controller.enqueue(next);
              return;
            }
            if (src.done()) {
              controller.close();
              finish(true);
              return;
            }
            await src.step();
          }
        } catch (e) {
          src.onError(e);
          controller.error(e);
          finish(false);
        }
      },
      cancel() {
        finish(false);
      },
    },
    { highWaterMark: 0 },
  );
}
