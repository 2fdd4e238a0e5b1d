// Timed reads and writes on an upstream connection, shared by every protocol. A read that
// waits longer than read_timeout (first byte, or between two reads) and a write that waits
// longer than send_timeout fail with 504-class errors that name the origin.
import { withTimeout } from "../core/deadline.js";
import { Codes, GatewayError } from "../core/errors.js";
import type { Duplex } from "../core/transport.js";

export class UpstreamIO {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private closed = false;

  constructor(
    private readonly conn: Duplex,
    private readonly origin: string,
    private readonly readTimeoutMs: number,
    private readonly sendTimeoutMs: number,
  ) {
    this.reader = conn.readable.getReader();
    this.writer = conn.writable.getWriter();
  }

  /** The next chunk, or null at end of stream. */
  async read(): Promise<Uint8Array | null> {
    try {
      const r = await withTimeout(this.reader.read(), this.readTimeoutMs, () =>
        new GatewayError(
          Codes.UPSTREAM_READ_TIMEOUT,
          504,
          `The origin ${this.origin} did not send anything for ${this.readTimeoutMs / 1000} s (read_timeout).`,
        ),
      );
      return r.done ? null : r.value;
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      if (this.closed) return null;
      throw new GatewayError(Codes.UPSTREAM_IO, 502, `Reading from the origin ${this.origin} failed.`, String(e));
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    try {
      await withTimeout(this.writer.write(bytes), this.sendTimeoutMs, () =>
        new GatewayError(
          Codes.UPSTREAM_SEND_TIMEOUT,
          504,
          `The origin ${this.origin} did not accept the request within ${this.sendTimeoutMs / 1000} s (send_timeout).`,
        ),
      );
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      throw new GatewayError(Codes.UPSTREAM_IO, 502, `Writing to the origin ${this.origin} failed.`, String(e));
    }
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

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
