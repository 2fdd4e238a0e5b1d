// Timed reads and writes on an upstream connection, shared by every protocol. A read that
// waits longer than read_timeout (first byte, or between two reads) and a write that waits
// longer than send_timeout fail with 504-class errors that name the origin.
import { timedRead, timedWrite } from "./deadline.js";
import type { DirectIO, Duplex } from "./transport.js";

const DONE = Promise.resolve();
const asResult = (value: Uint8Array | null): ReadableStreamReadResult<Uint8Array> => (value === null ? { done: true, value: undefined } : { done: false, value });

/** workerd's BYOB reader, whose readAtLeast(min, view) fills at least `min` bytes in one call. */
type AtLeastReader = ReadableStreamBYOBReader;

/** What one socket read of workerd hands over however much has arrived (a 4 MiB body comes in
 *  a thousand reads), and the most a read that may wait asks for at once. */
const PLATFORM_READ = 4096;
const READ_AT_LEAST_MAX = 64 * 1024;

export class UpstreamIO {
  /** A plain reader (Node's web streams), or workerd's BYOB reader with readAtLeast; none when
   *  the host gives the socket's own calls (`direct`). */
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private readonly atLeast: AtLeastReader | null = null;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  private readonly direct: DirectIO | undefined;
  private closed = false;

  constructor(
    private readonly conn: Duplex,
    private readonly origin: string,
    private readonly readTimeoutMs: number,
    private readonly sendTimeoutMs: number,
  ) {
    this.direct = conn.direct;
    if (!this.direct) {
      this.atLeast = atLeastReader(conn.readable);
      if (!this.atLeast) this.reader = conn.readable.getReader();
      this.writer = conn.writable.getWriter();
    }
  }

  /** The next chunk, or null at end of stream. `atLeast`: bytes the origin has announced and
   *  not sent yet (the rest of a FastCGI record, of a body of known length); where the platform
   *  can, the read waits for up to that many (never more than READ_AT_LEAST_MAX) instead of
   *  handing over each 4 KiB as it comes, so the per-chunk work below happens once per record. */
  read(atLeast = 0): Promise<Uint8Array | null> {
    const r = this.direct
      ? this.direct.read().then(asResult)
      : this.atLeast
        ? atLeast > PLATFORM_READ
          ? this.atLeast.readAtLeast(Math.min(atLeast, READ_AT_LEAST_MAX), new Uint8Array(READ_AT_LEAST_MAX))
          : this.atLeast.read(new Uint8Array(PLATFORM_READ))
        : this.reader!.read();
    return timedRead(r, this.origin, this.readTimeoutMs, () => this.closed);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.direct) return timedWrite(this.writer!.write(bytes), this.origin, this.sendTimeoutMs);
    let wait: Promise<void> | null;
    try {
      wait = this.direct.write(bytes);
    } catch (e) {
      wait = Promise.reject(e);
    }
    // Taken at once (the common case): no timer to race, no promise chain.
    return wait ? timedWrite(wait, this.origin, this.sendTimeoutMs) : DONE;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Only close the socket: in workerd, cancelling the reader and aborting the writer first
    // leaves the TCP connection open (seen with php-fpm, which then waits for our FIN with a
    // worker pinned). Closing the socket ends both directions and any pending read.
    await this.conn.close().catch(() => {});
  }
}

/** workerd's BYOB reader when the stream has one with readAtLeast, else null (Node). */
function atLeastReader(readable: ReadableStream<Uint8Array>): AtLeastReader | null {
  let byob: ReadableStreamBYOBReader;
  try {
    byob = readable.getReader({ mode: "byob" });
  } catch {
    return null;
  }
  if (typeof (byob as Partial<AtLeastReader>).readAtLeast === "function") return byob;
  byob.releaseLock();
  return null;
}
