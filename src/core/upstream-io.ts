// Timed reads and writes on an upstream connection, shared by every protocol. A read that
// waits longer than read_timeout (first byte, or between two reads) and a write that waits
// longer than send_timeout fail with 504-class errors that name the origin.
import { GatewayError } from "./errors.js";
import { ConnectionTimers, readFailed, readTimeout, sendFailed, sendTimeout } from "./deadline.js";
import { lend, settle, SLAB_BYTES, slabMemory } from "./read-slabs.js";
import type { DirectIO, Duplex, Outgoing } from "./transport.js";
import { concatBytes, Joiner } from "./bytes.js";
import { WORKERD_STREAMS } from "./pieces.js";

/** What write() returns for bytes the socket took at once: nothing to wait for. */
export const WRITTEN: Promise<void> = Promise.resolve();

/** workerd's BYOB reader, whose readAtLeast(min, view) fills at least `min` bytes in one call. */
type AtLeastReader = ReadableStreamBYOBReader;

/** What one socket read of workerd hands over however much has arrived (a 4 MiB body comes in
 *  a thousand reads), and the most a read that may wait asks for at once. */
const PLATFORM_READ = 4096;
const READ_AT_LEAST_MAX = SLAB_BYTES;

export class UpstreamIO {
  /** A plain reader (Node's web streams), or workerd's BYOB reader with readAtLeast; none when
   *  the host gives the socket's own calls (`direct`). */
  private readonly reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private readonly atLeast: AtLeastReader | null = null;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  private readonly direct: DirectIO | undefined;
  private closed = false;
  /** A read started while the connection sat idle (watchIdle): the next read() takes it. */
  private idle: Promise<unknown> | null = null;
  /** read_timeout closes the connection, which ends the read. One timer for every read (a
   *  4 MiB page is some 130) and write, and the connect before them where the dial made it. */
  private readonly timers: ConnectionTimers;
  private timedOut = false;
  /** Writes not yet taken: send_timeout runs from the latest one's start while any is. */
  private sending = 0;
  private sendTimedOut = false;
  /** The read in flight fills a slab (core/read-slabs.ts). */
  private slabRead = false;
  private joiner: Joiner | undefined;
  /** Where read memory is used again: DirectIO.settle on a host that reads for us, or the
   *  slabs a BYOB read fills here; undefined elsewhere, so that a caller lists no views for
   *  nobody. */
  readonly settle: ((chunk: Uint8Array, views: Iterable<Uint8Array>) => void) | undefined;

  constructor(
    private readonly conn: Duplex,
    private readonly origin: string,
    private readTimeoutMs: number,
    private readonly sendTimeoutMs: number,
  ) {
    const direct = (this.direct = conn.direct);
    this.timers = conn.timers ?? new ConnectionTimers();
    if (!this.direct) {
      this.atLeast = atLeastReader(conn.readable);
      if (!this.atLeast) this.reader = conn.readable.getReader();
      this.writer = conn.writable.getWriter();
    }
    this.settle = direct?.settle ? (chunk, views) => direct.settle!(chunk, views) : this.atLeast ? settle : undefined;
  }

  /** The next chunk, or null at end of stream. `atLeast`: bytes the origin has announced and
   *  not sent yet (the rest of a FastCGI record, of an HTTP chunk); where the platform
   *  can, the read waits for up to that many (never more than READ_AT_LEAST_MAX) instead of
   *  handing over each 4 KiB as it comes, so the per-chunk work below happens once per record. */
  read(atLeast = 0): Promise<Uint8Array | null> {
    const idle = this.idle;
    this.idle = null;
    // One promise per read, and no timer of its own.
    this.timers.start("read", this.readTimeoutMs, this.readExpired);
    if (this.direct) return ((idle as Promise<Uint8Array | null> | null) ?? this.direct.read()).then(this.directRead, this.readFailed);
    const r = (idle as Promise<ReadableStreamReadResult<Uint8Array>> | null) ?? this.streamRead(atLeast);
    return r.then(this.streamReadDone, this.readFailed);
  }

  /** Reads wait with no read_timeout from now on: a switched connection (core/tunnel.ts),
   *  where silence is the conversation pausing, not an origin that stalled. */
  untimed(): void {
    this.readTimeoutMs = 0;
  }

  /** Leaves a read pending, with no read_timeout, while the connection sits idle (a pool that
   *  must notice at once when the server closes it). Resolves true when the server sent bytes,
   *  false when it closed; rejects when the connection failed. The next read() hands on what
   *  it got, under read_timeout from then. */
  watchIdle(): Promise<boolean> {
    if (this.direct) {
      const p = this.direct.read();
      this.idle = p;
      return p.then((chunk) => chunk !== null);
    }
    const p = this.streamRead(0);
    this.idle = p;
    return p.then((r) => !r.done);
  }

  private streamRead(atLeast: number): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (!this.atLeast) return this.reader!.read();
    if (atLeast <= PLATFORM_READ) return this.atLeast.read(new Uint8Array(PLATFORM_READ));
    // Most of a big body comes this way: into memory used again, as workerd makes each new
    // buffer dearly (a 4 MiB page: 16 ms of CPU with a new one per read, about 11 ms without).
    this.slabRead = true;
    return this.atLeast.readAtLeast(Math.min(atLeast, READ_AT_LEAST_MAX), slabMemory());
  }

  private readonly readExpired = (): void => {
    this.timedOut = true;
    void this.shut();
  };

  private readonly directRead = (chunk: Uint8Array | null): Uint8Array | null => {
    this.timers.stop("read");
    // A read the timeout's close ended may read as the end of the stream.
    if (this.timedOut) throw readTimeout(this.origin, this.readTimeoutMs);
    if (this.sendTimedOut) throw sendTimeout(this.origin, this.sendTimeoutMs);
    return chunk;
  };

  private readonly streamReadDone = (r: ReadableStreamReadResult<Uint8Array>): Uint8Array | null => {
    if (this.slabRead) {
      this.slabRead = false;
      if (!r.done) lend(r.value);
    }
    return this.directRead(r.done ? null : r.value);
  };

  private readonly readFailed = (e: unknown): null => {
    this.timers.stop("read");
    this.slabRead = false;
    if (this.timedOut) throw readTimeout(this.origin, this.readTimeoutMs);
    if (this.sendTimedOut) throw sendTimeout(this.origin, this.sendTimeoutMs);
    if (e instanceof GatewayError) throw e;
    if (this.closed) return null;
    throw readFailed(this.origin, e);
  };


  write(bytes: Outgoing): Promise<void> {
    if (!this.direct) return this.sent(this.writer!.write(bytes instanceof Uint8Array ? bytes : this.join(bytes)));
    let wait: Promise<void> | null;
    try {
      wait = this.direct.write(bytes);
    } catch (e) {
      wait = Promise.reject(e);
    }
    // Taken at once (the common case): no timer to race, no promise chain.
    return wait ? this.sent(wait) : WRITTEN;
  }

  /** Pieces as the one buffer a stream write takes. workerd's write() copies what it is given
   *  before it returns, so there the pieces are joined in memory used again (an upload's 64
   *  KiB pieces were a new buffer each); elsewhere a stream may keep what it is given. */
  private join(pieces: readonly Uint8Array[]): Uint8Array {
    if (!WORKERD_STREAMS) return concatBytes(pieces);
    return (this.joiner ??= new Joiner(SLAB_BYTES + 1024)).join(pieces);
  }

  /** A write the socket has not taken yet. send_timeout closes the connection, which fails the
   *  write; like nginx's, it bounds the wait between two writes, not a whole upload. */
  private sent(wait: Promise<void>): Promise<void> {
    this.sending++;
    this.timers.start("send", this.sendTimeoutMs, this.sendExpired);
    return wait.then(this.sendDone, this.sendFailed);
  }

  private readonly sendExpired = (): void => {
    this.sendTimedOut = true;
    void this.shut();
  };

  private readonly sendDone = (): void => {
    if (--this.sending === 0) this.timers.stop("send");
  };

  private readonly sendFailed = (e: unknown): never => {
    this.sendDone();
    if (this.sendTimedOut) throw sendTimeout(this.origin, this.sendTimeoutMs);
    throw sendFailed(this.origin, e);
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.idle = null;
    this.timers.dispose();
    await this.shut();
  }

  /** Closes the socket, and ends a read pending on it. The socket is closed first: in
   *  workerd, cancelling the reader and aborting the writer first leaves the TCP connection
   *  open (seen with php-fpm, which then waits for our FIN with a worker pinned). But its
   *  close() waits for a write the origin does not take (an origin that reads nothing of an
   *  upload), and a read pending meanwhile would wait as long: the reader is cancelled too,
   *  which ends that read at once. */
  private shut(): Promise<void> {
    const closing = this.conn.close().catch(() => {});
    (this.atLeast ?? this.reader)?.cancel().catch(() => {});
    return closing;
  }
}

/** workerd's BYOB reader of `readable`, whose readAtLeast waits for more than one socket read
 *  brings; null elsewhere (the stream is then still unlocked). Elsewhere nothing is tried: in
 *  Node a stream that is not a byte stream refuses a BYOB reader with an error whose message
 *  alone costs some 10 µs to format, which every request body on serve paid. */
export function atLeastReader(readable: ReadableStream<Uint8Array>): AtLeastReader | null {
  if (!WORKERD_STREAMS) return null;
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
