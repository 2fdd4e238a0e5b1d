// Timed reads and writes on an upstream connection, shared by every protocol. A read that
// waits longer than read_timeout (first byte, or between two reads) and a write that waits
// longer than send_timeout fail with 504-class errors that name the origin.
import { timedRead, timedWrite } from "./deadline.js";
import type { DirectIO, Duplex } from "./transport.js";

const DONE = Promise.resolve();
const asResult = (value: Uint8Array | null): ReadableStreamReadResult<Uint8Array> => (value === null ? { done: true, value: undefined } : { done: false, value });

export class UpstreamIO {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
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
      this.reader = conn.readable.getReader();
      this.writer = conn.writable.getWriter();
    }
  }

  /** The next chunk, or null at end of stream. */
  read(): Promise<Uint8Array | null> {
    const read = this.direct ? this.direct.read().then(asResult) : this.reader!.read();
    return timedRead(read, this.origin, this.readTimeoutMs, () => this.closed);
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
